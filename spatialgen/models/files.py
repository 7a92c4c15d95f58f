"""A model folder as untrusted input: which of its files are never loaded, and what loading them raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spatialgen.errors import SpatialgenError
from spatialgen.untrusted import shown


def load_errors() -> tuple[type[Exception], ...]:
    """What transformers and huggingface_hub raise for a model folder whose files are damaged or crafted (a
    config of the wrong types, an impossible shape, nesting past the parser's stack): each is one line."""
    from huggingface_hub.errors import StrictDataclassError

    return (
        OSError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        RecursionError,
        RuntimeError,
        StrictDataclassError,
    )


PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


def refuse_pickle_only(name: str | Path) -> None:
    """A local model folder whose weights are only pickle files (pytorch_model.bin, ...) is refused: unpickling
    a crafted file runs its code, and safetensors holds nothing but tensors. Hub ids are loaded with
    ``use_safetensors=True``, which refuses the same."""
    folder = Path(name)
    if not folder.is_dir() or any(folder.glob("*.safetensors")):
        return
    pickles = sorted(p.name for pattern in PICKLE_WEIGHTS for p in folder.glob(pattern))
    if pickles:
        raise SpatialgenError(
            f"{shown(folder)}: its weights are pickle files only ({pickles[0]}), which could run code when "
            "loaded; refused. Convert them to safetensors where you trust them (transformers: save_pretrained)"
        )


def pil_backend() -> dict[str, object]:
    """The keyword that pins an image processor to its PIL backend, in this transformers' terms. Since 5.x
    (``backend=``, ``use_fast=`` before it) ``AutoProcessor`` picks torchvision's backend wherever torchvision
    is installed, PIL's elsewhere, and the two resize differently: the same image would reach the model as
    other pixels on another machine. PIL's is the original LLaVA's (CLIPImageProcessor on PIL images)."""
    from transformers.models.auto import image_processing_auto as auto

    return {"backend": "pil"} if hasattr(auto, "_resolve_backend") else {"use_fast": False}


def load_processor(name: str | Path) -> Any:
    """``AutoProcessor.from_pretrained(name)`` on the PIL backend (``pil_backend``), whatever is installed."""
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(name, **pil_backend())
