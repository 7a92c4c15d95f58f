"""``spatialgen convert-llava SRC DST``: original-LLaVA checkpoints (haotian-liu/LLaVA layout, the paper's
variants included) to the transformers llava-hf layout that ``spatialgen eval`` loads.

The projector layouts, as the paper's code (user074/beyond-semantics, ``multimodal_projector/builder.py``)
saves them under ``model.mm_projector.``:

- plain MLP (``mlp2x_gelu``): ``0.{weight,bias}``, ``2.{weight,bias}``;
- ``NormalizedProjector`` (``normalize_projector``) wraps the MLP: ``projector.{0,2}.*`` and ``norm.weight``
  (an RMSNorm gain), then clips token norms at 1.22 and scales by 0.83;
- ``PoolingProjector`` (``compression_after_projection``) wraps either of them: ``proj.`` before the keys
  above, then averages the 24 x 24 token grid to ``final_spatial_size`` x ``final_spatial_size`` tokens.

Multi-layer features (``use_multilayer_features``): hidden states 12, 16, 20, 24 of the CLIP tower, each
through the tower's ``post_layernorm``, CLS dropped, concatenated (a projector input 4 x the CLIP width).
transformers' Llava has no place for the RMSNorm, the post-layernorm on concatenated layers or the pool,
so they are written to a sidecar (``spatialgen.json``, gain in ``spatialgen_projector_norm.safetensors``)
that ``load_model`` turns into hooks. Any other layout is refused by the name of its first unknown key.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from pydantic import BaseModel

from spatialgen.errors import SpatialgenError
from spatialgen.models.files import load_errors, load_processor

SIDECAR = "spatialgen.json"
NORM_FILE = "spatialgen_projector_norm.safetensors"
HEAD_FILE = "spatialgen_patch_head.safetensors"
PAPER_LAYERS = (12, 16, 20, 24)
PAPER_CLIP, PAPER_SCALE = 1.22, 0.83
_PROJ = "model.mm_projector."
_MLP_KEY = re.compile(r"^([02])\.(weight|bias)$")
_MLP_NAMES = {"0": "linear_1", "2": "linear_2"}

# Source (original LLaVA) prefixes, by part.
_SOURCE = {
    "vision": "model.vision_tower.vision_tower.vision_model.",
    "text": "model.",
    "head": "lm_head.",
}


class ProjectorNorm(BaseModel):
    file: str = NORM_FILE
    clip: float = PAPER_CLIP
    scale: float = PAPER_SCALE


class PatchHead(BaseModel):
    """A patch-naming head (training/tower.py): the projector reads its reading of each patch, not the features."""

    file: str = HEAD_FILE
    colors: list[str]  # the head's color classes, in order ("none" after them)
    shapes: list[str]


class Sidecar(BaseModel):
    """What a converted model needs beyond transformers' Llava to compute the paper's forward."""

    source: str
    layout: str  # mlp | normalized | pooled | normalized+pooled
    vision_feature_layer: int | list[int]
    feature_norm: bool = False  # post_layernorm on each concatenated layer (the paper's multi-layer path)
    projector_norm: ProjectorNorm | None = None
    pool: int | None = None  # tokens per side after the projector
    image_mode: str = "pad"  # the paper's image_aspect_ratio "pad": expand to square with the mean colour
    patch_head: PatchHead | None = None  # spatialgen train's tiny-init: the projector reads a patch-naming head


def llava_feature_layer(layer: int | list[int], depth: int) -> int | list[int]:
    """The sidecar's feature layer as Llava's config must hold it. Hidden state 0 (the patch embeddings) is
    written from the end, -(depth + 1): transformers' ``select_hidden_states`` (utils/output_capturing.py)
    passes ``vision_feature_layer`` on as ``output_hidden_states``, so a lone 0 reads as "none captured" and
    Llava's forward then fails on ``hidden_states[0]``."""
    return -(depth + 1) if layer == 0 else layer


def read_sidecar(folder: Path) -> Sidecar | None:
    """The folder's ``spatialgen.json`` (what Llava cannot express: the normalized projector, layer features, pooling),
    or None for a plain llava-hf folder."""
    path = folder / SIDECAR
    if not path.exists():
        return None
    try:
        return Sidecar.model_validate_json(path.read_text())
    except load_errors() as e:
        raise SpatialgenError(f"{path}: not a readable spatialgen sidecar ({type(e).__name__})") from None


def target_prefixes(config) -> dict:
    """Where each part lives in this transformers version's Llava state dict (read off a meta-device model)."""
    from transformers import LlavaForConditionalGeneration

    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in LlavaForConditionalGeneration(config).state_dict().items()}
    keys = list(shapes)

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
        "shapes": shapes,
    }


def map_key(key: str, prefixes: dict) -> str | None:
    """The transformers name of a non-projector original-LLaVA weight (None for weights it has no place for)."""
    if key.startswith(_SOURCE["vision"]):
        return prefixes["vision"] + key[len(_SOURCE["vision"]) :]
    if key.startswith(_SOURCE["head"]):
        return key
    for part in ("embed_tokens.", "layers.", "norm."):
        if key.startswith("model." + part):
            return prefixes["text"] + key[len("model.") :]
    return None


def read_projector(state: dict[str, torch.Tensor]) -> tuple[str, dict[str, torch.Tensor], torch.Tensor | None]:
    """(layout, MLP weights named linear_1/linear_2.{weight,bias}, RMSNorm gain or None) from the keys."""
    keys = {k[len(_PROJ) :]: v for k, v in state.items() if k.startswith(_PROJ)}
    if not keys:
        raise SpatialgenError("no model.mm_projector.* weights: is this an original-LLaVA checkpoint?")
    pooled = any(k.startswith("proj.") for k in keys)
    inner = {(k[len("proj.") :] if pooled else k): (k, v) for k, v in keys.items()}
    normalized = "norm.weight" in inner or any(k.startswith("projector.") for k in inner)
    mlp, gain = {}, None
    for rest, (full, v) in sorted(inner.items()):
        if normalized and rest == "norm.weight":
            gain = v
            continue
        if normalized:
            rest = rest[len("projector.") :] if rest.startswith("projector.") else "?" + rest
        m = _MLP_KEY.match(rest)
        if (pooled and not full.startswith("proj.")) or m is None:
            raise SpatialgenError(
                f"unknown projector layout: weight model.mm_projector.{full} is none of the paper's layouts "
                "(mlp2x_gelu, NormalizedProjector, PoolingProjector)"
            )
        mlp[f"{_MLP_NAMES[m.group(1)]}.{m.group(2)}"] = v
    want = {f"{n}.{p}" for n in _MLP_NAMES.values() for p in ("weight", "bias")}
    if set(mlp) != want:
        missing = sorted(want - set(mlp))[0]
        raise SpatialgenError(f"the projector is not a 2-layer GELU MLP (mlp2x_gelu): no weight for {missing}")
    if normalized and gain is None:
        raise SpatialgenError("a NormalizedProjector without its RMSNorm gain (mm_projector[.proj].norm.weight)")
    layout = "+".join(n for n, on in (("normalized", normalized), ("pooled", pooled)) if on) or "mlp"
    return layout, mlp, gain


def _load_state(folder: Path, trust_pickle: bool = False) -> dict[str, torch.Tensor]:
    """The folder's weights: its safetensors files; pytorch_model*.bin (the original LLaVA releases' format)
    only when ``trust_pickle`` says the user trusts them, and then through torch's weights-only unpickler."""
    from spatialgen.models.files import refuse_pickle_only

    if not trust_pickle:
        refuse_pickle_only(folder)
    files = [f for f in sorted(folder.glob("*.safetensors")) if f.name not in (NORM_FILE, HEAD_FILE)]
    files = files or (sorted(folder.glob("pytorch_model*.bin")) if trust_pickle else [])
    if not files:
        raise SpatialgenError(f"{folder}: no *.safetensors weights found")
    state: dict[str, torch.Tensor] = {}
    for f in files:
        try:
            if f.suffix == ".safetensors":
                from safetensors.torch import load_file

                state.update(load_file(f))
            else:
                state.update(torch.load(f, map_location="cpu", weights_only=True))
        except Exception as e:  # safetensors and pickle raise many types for a damaged file
            raise SpatialgenError(f"{f}: not a readable weights file ({type(e).__name__})") from None
    return state


def _read_json(path: Path) -> dict:
    from spatialgen.untrusted import read_json

    data = read_json(path)
    if not isinstance(data, dict):
        raise SpatialgenError(f"{path} is not a JSON object")
    return data


# Config flags of the paper's LLaVA fork (LLaVA/llava/train/train.py ModelArguments, llava_arch.py) that change
# the forward in ways the llava-hf model this converts to does not: each refused by name, with what it does.
# (The fork reads each with getattr(config, flag, default); a flag at its default changes nothing.)
CHANGES_THE_FORWARD = {
    "add_spatial_coordinates": "concatenates each patch's coordinates to its features before the projector",
    "add_registers": "appends learned register tokens to the image tokens",
    "mm_use_im_start_end": "wraps the image tokens in <im_start>/<im_end> tokens that llava-hf's prompt does not have",
    "rearrange_image_features": "reorders the 24x24 patch tokens into 3x3 blocks before the LLM",
    "interleave": "interleaves coordinate tokens among the image tokens (SpatialTokenInterleaver)",
    "twoD_vision_embedding": "gives the image tokens 2D rotary positions (LlamaHybrid)",
}


def _refuse_unsupported(cfg: dict) -> None:
    """Refuse, by name, every config setting whose forward this conversion would silently drop."""
    kind = cfg.get("mm_projector_type", "mlp2x_gelu")
    if kind != "mlp2x_gelu":
        raise SpatialgenError(f"mm_projector_type '{kind}' is not supported (llava-hf has a 2-layer GELU MLP)")
    for flag, does in CHANGES_THE_FORWARD.items():
        if cfg.get(flag):
            raise SpatialgenError(f"config.json sets {flag}: it {does}, which llava-hf does not; not converted")
    merge = cfg.get("mm_patch_merge_type", "flat")
    if merge != "flat":
        raise SpatialgenError(
            f"config.json sets mm_patch_merge_type '{merge}': only 'flat' converts ('spatial_unpad' appends an "
            "image_newline token and tiles anyres images, as LLaVA-NeXT does, not llava-hf's Llava)"
        )
    aspect = cfg.get("image_aspect_ratio", "square")
    if aspect not in ("pad", "square", None):
        raise SpatialgenError(
            f"config.json sets image_aspect_ratio '{aspect}': only 'pad' and 'square' convert (anyres tiles the image)"
        )
    hybrid = cfg.get("model_type") == "llava_llama2d" or any("Hybrid" in a for a in cfg.get("architectures") or ())
    if hybrid:
        raise SpatialgenError(
            "config.json is the paper's LlavaLlamaHybrid (model_type llava_llama2d): its LLM gives image tokens 2D "
            "rotary positions, which llava-hf's Llama does not; not converted"
        )


def _feature_layers(cfg: dict, proj_in: int, width: int, feature_layers: tuple[int, ...] | None) -> int | list[int]:
    k = proj_in // width
    if k * width != proj_in:
        raise SpatialgenError(f"projector input {proj_in} is not a multiple of the vision width {width}")
    if "use_multilayer_features" in cfg and bool(cfg["use_multilayer_features"]) != (k > 1):
        raise SpatialgenError(
            f"config.json says use_multilayer_features={cfg['use_multilayer_features']} but the projector "
            f"takes {k} layer(s) of width {width}"
        )
    if k == 1:
        return int(cfg.get("mm_vision_select_layer", -2))
    layers = list(feature_layers or PAPER_LAYERS)
    if len(layers) != k:
        raise SpatialgenError(f"the projector takes {k} concatenated layers; give --feature-layers with {k} indices")
    return layers


def convert_llava(
    src: Path,
    dst: Path,
    processor: Path,
    vision_tower: Path,
    feature_layers: tuple[int, ...] | None = None,
    trust_pickle: bool = False,
) -> Sidecar:
    """Convert an original-LLaVA checkpoint (the paper's variants included) into a llava-hf folder with its
    sidecar. ``trust_pickle``: also read pytorch_model*.bin weights (refused by default: see _load_state)."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise SpatialgenError(f"{dst} is not an empty folder; choose a new folder for the converted model")
    cfg = _read_json(src / "config.json")
    if "mm_hidden_size" not in cfg:
        raise SpatialgenError(f"{src}/config.json is not an original-LLaVA config (no mm_hidden_size)")
    _refuse_unsupported(cfg)
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"):
        if not isinstance(cfg.get(key), int):
            raise SpatialgenError(f"{src}/config.json: '{key}' must be an integer")
    state = _load_state(src, trust_pickle)
    try:
        vcfg = CLIPVisionConfig.from_pretrained(vision_tower)
    except load_errors() as e:
        raise SpatialgenError(f"--vision-tower {vision_tower}: no CLIP vision config ({type(e).__name__})") from None
    if not any(k.startswith("model.vision_tower.vision_tower.") for k in state):
        tower = _load_state(vision_tower, trust_pickle)
        state.update(
            {f"model.vision_tower.vision_tower.{k}": v for k, v in tower.items() if k.startswith("vision_model.")}
        )
    if "model.embed_tokens.weight" not in state:
        raise SpatialgenError(f"{src}: no model.embed_tokens weights; is this an original-LLaVA checkpoint?")
    layout, mlp, gain = read_projector(state)
    pool = None
    if "pooled" in layout:
        pool = cfg.get("final_spatial_size")
        if not isinstance(pool, int) or pool < 1:
            raise SpatialgenError(f"{src}/config.json: a PoolingProjector needs final_spatial_size (tokens per side)")
    feature_layer = _feature_layers(cfg, mlp["linear_1.weight"].shape[1], vcfg.hidden_size, feature_layers)
    try:
        proc = load_processor(processor)
    except load_errors() as e:
        raise SpatialgenError(f"--processor {processor}: not a processor folder ({type(e).__name__})") from None
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
        vision_feature_layer=llava_feature_layer(feature_layer, vcfg.num_hidden_layers),
        projector_hidden_act="gelu",
        vision_feature_select_strategy="default" if cfg.get("mm_vision_select_feature", "patch") == "patch" else "full",
        pad_token_id=tok.pad_token_id,
    )
    prefixes = target_prefixes(config)
    out = {prefixes["proj"] + k: v for k, v in mlp.items()}
    for k, v in state.items():
        new = map_key(k, prefixes)
        if new is not None:
            out[new] = v
    missing = [k for k in prefixes["keys"] if k not in out]
    if missing:
        raise SpatialgenError(
            f"{src}: {len(missing)} weights of the model are not in the checkpoint (first: {missing[0]})"
        )
    for k in prefixes["keys"]:
        if tuple(out[k].shape) != prefixes["shapes"][k] and not k.endswith(("embed_tokens.weight", "lm_head.weight")):
            raise SpatialgenError(f"{src}: weight {k} has shape {tuple(out[k].shape)}, the config needs another")
    for name in (prefixes["text"] + "embed_tokens.weight", "lm_head.weight"):
        w = out[name]
        if w.shape[0] < vocab:  # new rows (e.g. <image>, padding) start at the mean row
            extra = w.float().mean(0, keepdim=True).expand(vocab - w.shape[0], -1).to(w.dtype)
            out[name] = torch.cat([w, extra])
    meta = Sidecar(
        source=str(src),
        layout=layout,
        vision_feature_layer=feature_layer,
        feature_norm=isinstance(feature_layer, list),
        projector_norm=ProjectorNorm() if gain is not None else None,
        pool=pool,
        image_mode="pad" if cfg.get("image_aspect_ratio", "pad") == "pad" else "crop",
    )
    dst.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    config.save_pretrained(dst)
    save_file({k: v.contiguous() for k, v in out.items()}, str(dst / "model.safetensors"), metadata={"format": "pt"})
    proc.save_pretrained(dst)
    if gain is not None:
        save_file({"weight": gain.contiguous()}, str(dst / NORM_FILE))
    (dst / SIDECAR).write_text(meta.model_dump_json(indent=1) + "\n")
    return meta


def attach(
    model, folder: Path | None, meta: Sidecar, gain: torch.Tensor | None = None, head: torch.nn.Module | None = None
) -> list:
    """The sidecar's parts as permanent hooks, in the paper's order: post-layernorm on each concatenated
    layer (before the MLP), then RMSNorm/clip/scale, then the pool (after the projector); a patch head's
    reading (training/tower.py) replaces the features right before the MLP. The gain and the head come from the
    sidecar's files, or are given (trained, when ``spatialgen train`` builds them in)."""
    from safetensors.torch import load_file

    from spatialgen.models.interventions import _find, pool_tokens, projector, rms_clip_scale, vision_tower

    proj, handles = projector(model), []
    if meta.feature_norm:
        post_ln = _find(vision_tower(model), ("vision_model.post_layernorm", "post_layernorm"))
        width = post_ln.normalized_shape[0]

        def layer_norm_each(_m, args):
            x = args[0]
            parts = x.reshape(*x.shape[:-1], x.shape[-1] // width, width)
            return (post_ln(parts).reshape(x.shape), *args[1:])

        handles.append(proj.register_forward_pre_hook(layer_norm_each))
    if meta.patch_head is not None:  # after the layer norm: the head reads what the projector would
        handles.append(_attach_head(proj, folder, meta.patch_head, head))
    if meta.projector_norm is not None:
        n = meta.projector_norm
        if gain is None:
            gain = load_file(folder / n.file)["weight"]
        handles.append(proj.register_forward_hook(lambda _m, _i, v: rms_clip_scale(v, gain, n.clip, n.scale)))
    if meta.pool is not None:
        k = meta.pool
        handles.append(proj.register_forward_hook(lambda _m, _i, v: pool_tokens(v, k)))
    return handles


def _attach_head(proj, folder: Path | None, part: PatchHead, head: torch.nn.Module | None):
    from safetensors.torch import load_file

    if head is None:
        try:
            w = load_file(folder / part.file)
        except Exception as e:  # a missing or damaged file: safetensors raises several types
            raise SpatialgenError(
                f"{folder / part.file}: the patch head's weights are not readable ({type(e).__name__})"
            ) from None
        if set(w) != {"weight", "bias"} or w["weight"].shape[0] != len(part.colors) + len(part.shapes) + 2:
            raise SpatialgenError(
                f"{folder / part.file}: not a patch head for {len(part.colors)} colors and {len(part.shapes)} shapes"
            )
        head = torch.nn.Linear(w["weight"].shape[1], w["weight"].shape[0])
        head.load_state_dict(w)
        head.requires_grad_(False)
    colors = len(part.colors)

    def read(_m, args):
        x = args[0]
        h = head.to(device=x.device, dtype=x.dtype)
        return (reading(h, x, colors, x.shape[-1]), *args[1:])

    return proj.register_forward_pre_hook(read)


def reading(head: torch.nn.Linear, features: torch.Tensor, colors: int, width: int) -> torch.Tensor:
    """[B, P, width]: the head's reading of each of the P patches (a square grid, row-major), zero-padded to
    ``width`` (the features' own width, so the projector keeps its shape and a saved model loads as Llava)."""
    z = head(features)
    color, shape = z[..., : colors + 1].softmax(-1), z[..., colors + 1 :].softmax(-1)
    here = 1 - color[..., colors:]
    g = round(features.shape[1] ** 0.5)
    if g * g != features.shape[1]:
        raise SpatialgenError(f"the patch head needs a square grid of patch tokens, got {features.shape[1]}")
    i = torch.arange(g * g, device=features.device)
    xy = torch.stack([(i % g + 0.5) / g * 2 - 1, (i // g + 0.5) / g * 2 - 1], 1).to(z.dtype)
    tok = torch.cat([color[..., :colors], shape[..., :-1], xy * here, here], -1)  # reading_width() values
    if tok.shape[-1] > width:
        raise SpatialgenError(f"the patch head's reading ({tok.shape[-1]} values) is wider than the features ({width})")
    return torch.nn.functional.pad(tok, (0, width - tok.shape[-1]))
