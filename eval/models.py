"""Loading a VLM with transformers: LLaVA-1.5 (llava-hf layout) first-class, other families through
AutoModelForImageTextToText, and ``tiny-random`` for tests. GPU by default when present."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from spatialgen.errors import SpatialgenError

# Which interventions each family supports (see README). "norm", "permute", "pool" hook the projected
# vision tokens; "layers" re-selects vision-encoder features and needs a LLaVA-style projector.
FAMILIES: dict[str, dict[str, Any]] = {
    "llava": {"interventions": ("norm", "layers", "permute", "pool"), "note": "LLaVA-1.5 (llava-hf)"},
    "llava_next": {"interventions": ("norm", "layers", "permute"), "note": "LLaVA-NeXT: tiles, no pool"},
    "qwen2_vl": {"interventions": ("norm", "permute"), "note": "Qwen2-VL: merged patches, M-RoPE"},
    "qwen2_5_vl": {"interventions": ("norm", "permute"), "note": "Qwen2.5-VL"},
    "idefics3": {"interventions": ("norm", "permute"), "note": "Idefics3 / SmolVLM"},
    "smolvlm": {"interventions": ("norm", "permute"), "note": "SmolVLM"},
    "paligemma": {"interventions": ("norm", "permute", "pool"), "note": "PaliGemma (scaled embeddings)"},
}


def _require_eval_extra():
    try:
        import torch
        import transformers
    except ImportError:
        raise SpatialgenError("evaluation needs the eval extra: pip install 'spatialgen[eval]'") from None
    return torch, transformers


@dataclass
class VLM:
    name: str
    model: Any
    processor: Any
    family: str
    device: Any
    dtype: Any

    @property
    def tokenizer(self):
        return getattr(self.processor, "tokenizer", self.processor)

    @property
    def cache_arg(self) -> str:
        """transformers 5.2x names the KV cache ``cache``; earlier 5.x and 4.x ``past_key_values``."""
        params = inspect.signature(self.model.forward).parameters
        return "cache" if "cache" in params else "past_key_values"

    def prompt(self, text: str, n_images: int) -> str:
        content = [{"type": "image"}] * n_images + [{"type": "text", "text": text}]
        return self.processor.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
        )


def resolve_device(device: str):
    torch, _ = _require_eval_extra()
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SpatialgenError(f"--device {device}: no CUDA device is available")
    return torch.device(device)


def resolve_dtype(dtype: str, device):
    torch, _ = _require_eval_extra()
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    table = {
        "float32": torch.float32,
        "fp32": torch.float32,
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
        "float16": torch.float16,
        "fp16": torch.float16,
    }
    if dtype not in table:
        raise SpatialgenError(f"--dtype must be auto, float32, bfloat16 or float16, got '{dtype}'")
    return table[dtype]


def load_model(name: str, dtype: str = "auto", device: str = "auto", attn: str | None = None) -> VLM:
    _torch, _transformers = _require_eval_extra()
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    if name == "tiny-random":
        from . import tiny

        model, processor = tiny.build()
        if attn:
            model.set_attn_implementation(attn)
        return VLM(name, model.to(device=dev, dtype=dt), processor, "llava", dev, dt)
    if name.startswith("random:"):
        from . import tiny

        arch = name.split(":", 1)[1]
        if arch not in tiny.RANDOM_ARCHS:
            raise SpatialgenError(f"--model {name}: unknown architecture; choose one of {', '.join(tiny.RANDOM_ARCHS)}")
        model, processor = tiny.build_arch(arch, dev, dt)
        if attn:
            model.set_attn_implementation(attn)
        return VLM(name, model, processor, "llava", dev, dt)
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor, LlavaForConditionalGeneration

    try:
        cfg = AutoConfig.from_pretrained(name)
        processor = AutoProcessor.from_pretrained(name)
        cls = LlavaForConditionalGeneration if cfg.model_type == "llava" else AutoModelForImageTextToText
        kwargs = {"dtype": dt}
        if attn:
            kwargs["attn_implementation"] = attn
        model = cls.from_pretrained(name, **kwargs).to(dev).eval()
    except OSError as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SpatialgenError(
            f"model '{name}' could not be loaded: not a local folder, and not in the local "
            f"Hugging Face cache while the Hub is unreachable ({msg[:120]})"
        ) from None
    tok = getattr(processor, "tokenizer", None)
    if tok is not None:
        tok.padding_side = "left"
    from pathlib import Path

    from .convert import SIDECAR, attach_projector_norm

    if (Path(name) / SIDECAR).exists():  # converted from the original LLaVA layout by spatialgen
        attach_projector_norm(model, Path(name))
    return VLM(name, model, processor, cfg.model_type, dev, dt)
