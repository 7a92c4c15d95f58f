"""``spatialgen convert-llava SRC DST``: original-LLaVA checkpoints (haotian-liu/LLaVA layout, including the
paper's variants) to the transformers llava-hf layout that ``spatialgen eval`` loads.

Handled: the MLP projector (``model.mm_projector.0/2``), the paper's normalized projector (an RMSNorm with
a learned gain, then clip at 1.22 and scale by 0.83: the gain is the one 1-D weight under ``mm_projector``),
and multi-layer features (a projector input k times the CLIP width means k concatenated layers, by default
the paper's 12/16/20/24). Transformers has no module for the normalized projector, so its gain is saved
beside the model (``spatialgen_projector_norm.safetensors`` + ``spatialgen.json``) and ``load_model``
attaches it as a permanent hook.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from spatialgen.errors import SpatialgenError

SIDECAR = "spatialgen.json"
NORM_FILE = "spatialgen_projector_norm.safetensors"
PAPER_LAYERS = (12, 16, 20, 24)

# Source (original LLaVA) prefixes, by part.
_SOURCE = {
    "vision": "model.vision_tower.vision_tower.vision_model.",
    "text": "model.",
    "head": "lm_head.",
}
_PROJ = {"model.mm_projector.0.": "linear_1.", "model.mm_projector.2.": "linear_2."}


def target_prefixes(config) -> dict[str, str]:
    """Where each part lives in this transformers version's Llava state dict (read off a meta-device model)."""
    from transformers import LlavaForConditionalGeneration

    with torch.device("meta"):
        keys = list(LlavaForConditionalGeneration(config).state_dict())

    def ending(suffix: str) -> str:
        hit = next((k for k in keys if k.endswith(suffix)), None)
        if hit is None:
            raise SpatialgenError(f"this transformers version has no '{suffix}' in Llava; cannot convert")
        return hit[: -len(suffix)]

    return {
        "vision": ending("embeddings.patch_embedding.weight"),
        "text": ending("embed_tokens.weight"),
        "proj": ending("linear_1.weight"),
        "head": "lm_head.",
        "keys": keys,
    }


def map_key(key: str, prefixes: dict) -> str | None:
    """The transformers name of an original-LLaVA weight (None for weights it has no place for)."""
    for src, dst in _PROJ.items():
        if key.startswith(src):
            return prefixes["proj"] + dst + key[len(src) :]
    if key.startswith(_SOURCE["vision"]):
        return prefixes["vision"] + key[len(_SOURCE["vision"]) :]
    if key.startswith(_SOURCE["head"]):
        return key
    for part in ("embed_tokens.", "layers.", "norm."):
        if key.startswith("model." + part):
            return prefixes["text"] + key[len("model.") :]
    return None


def _load_state(folder: Path) -> dict[str, torch.Tensor]:
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin"))
    files = [f for f in files if f.name != NORM_FILE]
    if not files:
        raise SpatialgenError(f"{folder}: no *.safetensors or pytorch_model*.bin weights found")
    state: dict[str, torch.Tensor] = {}
    for f in files:
        if f.suffix == ".safetensors":
            from safetensors.torch import load_file

            state.update(load_file(f))
        else:
            state.update(torch.load(f, map_location="cpu", weights_only=True))
    return state


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except OSError:
        raise SpatialgenError(f"cannot read {path}") from None
    except json.JSONDecodeError:
        raise SpatialgenError(f"{path} is not valid JSON") from None


def convert_llava(
    src: Path, dst: Path, processor: Path, vision_tower: Path, feature_layers: tuple[int, ...] | None = None
) -> dict:
    from transformers import AutoProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig

    if dst.exists() and any(dst.iterdir()):
        raise SpatialgenError(f"{dst} is not empty; choose a new folder for the converted model")
    cfg = _read_json(src / "config.json")
    if "mm_hidden_size" not in cfg:
        raise SpatialgenError(f"{src}/config.json is not an original-LLaVA config (no mm_hidden_size)")
    state = _load_state(src)
    vcfg = CLIPVisionConfig.from_pretrained(vision_tower)
    if not any(k.startswith("model.vision_tower.vision_tower.") for k in state):
        tower = _load_state(vision_tower)
        state.update(
            {f"model.vision_tower.vision_tower.{k}": v for k, v in tower.items() if k.startswith("vision_model.")}
        )
    proj_w = state.get("model.mm_projector.0.weight")
    if proj_w is None or "model.embed_tokens.weight" not in state:
        raise SpatialgenError(
            f"{src}: no mm_projector.0 or embed_tokens weights; is this an original-LLaVA checkpoint?"
        )
    proj_in = proj_w.shape[1]
    k_layers = proj_in // vcfg.hidden_size
    if k_layers * vcfg.hidden_size != proj_in:
        raise SpatialgenError(f"projector input {proj_in} is not a multiple of the vision width {vcfg.hidden_size}")
    if k_layers > 1:
        layers = list(feature_layers or PAPER_LAYERS)
        if len(layers) != k_layers:
            raise SpatialgenError(
                f"the projector takes {k_layers} concatenated layers; give --feature-layers with {k_layers} indices"
            )
        feature_layer: int | list[int] = layers
    else:
        feature_layer = int(cfg.get("mm_vision_select_layer", -2))
    proc = AutoProcessor.from_pretrained(processor)
    tok = proc.tokenizer
    image_id = tok.convert_tokens_to_ids("<image>")
    vocab = len(tok)
    text = LlamaConfig(
        hidden_size=cfg["hidden_size"],
        intermediate_size=cfg["intermediate_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        num_key_value_heads=cfg.get("num_key_value_heads", cfg["num_attention_heads"]),
        vocab_size=vocab,
        rms_norm_eps=cfg.get("rms_norm_eps", 1e-5),
        max_position_embeddings=cfg.get("max_position_embeddings", 4096),
        rope_theta=cfg.get("rope_theta", 10000.0),
        pad_token_id=tok.pad_token_id,
    )
    config = LlavaConfig(
        vision_config=vcfg,
        text_config=text,
        image_token_index=image_id,
        vision_feature_layer=feature_layer,
        projector_hidden_act="gelu",
        vision_feature_select_strategy="default" if cfg.get("mm_vision_select_feature", "patch") == "patch" else "full",
        pad_token_id=tok.pad_token_id,
    )
    prefixes = target_prefixes(config)
    out: dict[str, torch.Tensor] = {}
    gain = None
    for k, v in state.items():
        new = map_key(k, prefixes)
        if new is not None:
            out[new] = v
        elif k.startswith("model.mm_projector.") and v.dim() == 1:
            gain = v
    missing = [k for k in prefixes["keys"] if k not in out]
    if missing:
        raise SpatialgenError(
            f"{src}: {len(missing)} weights of the model are not in the checkpoint (first: {missing[0]})"
        )
    for name in (prefixes["text"] + "embed_tokens.weight", "lm_head.weight"):
        w = out[name]
        if w.shape[0] < vocab:  # new rows (e.g. <image>, padding) start at the mean row
            extra = w.float().mean(0, keepdim=True).expand(vocab - w.shape[0], -1).to(w.dtype)
            out[name] = torch.cat([w, extra])
    dst.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    config.save_pretrained(dst)
    save_file({k: v.contiguous() for k, v in out.items()}, str(dst / "model.safetensors"), metadata={"format": "pt"})
    proc.save_pretrained(dst)
    meta = {"source": str(src), "vision_feature_layer": feature_layer, "projector_norm": None}
    if gain is not None:
        save_file({"weight": gain.contiguous()}, str(dst / NORM_FILE))
        meta["projector_norm"] = {"file": NORM_FILE, "clip": 1.22, "scale": 0.83}
    (dst / SIDECAR).write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def attach_projector_norm(model, folder: Path):
    """The paper's normalized projector on a converted model: RMSNorm(gain), clip at 1.22, scale 0.83."""
    from safetensors.torch import load_file

    from .interventions import PAPER_CLIP, PAPER_SCALE, projector

    meta = json.loads((folder / SIDECAR).read_text())
    if not meta.get("projector_norm"):
        return None
    gain = load_file(folder / meta["projector_norm"]["file"])["weight"]

    def hook(_m, _inp, v):
        x = v.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * gain.to(x.device).float()
        x = x * torch.clamp(PAPER_CLIP / x.norm(dim=-1, keepdim=True), max=1.0)
        return (PAPER_SCALE * x).to(v.dtype)

    return projector(model).register_forward_hook(hook)
