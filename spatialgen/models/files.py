"""A model folder as untrusted input: which of its files are never loaded, and what loading them raises."""

from __future__ import annotations

from pathlib import Path

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
