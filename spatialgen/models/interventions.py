"""Inference-time interventions after the paper's, applied through forward hooks (no model code edited).
Only a converted paper checkpoint (or a model trained with them) carries the paper's trained versions; on
any other model each below is an untrained ablation, and says so.

- ``norm``: rescale every projected vision token: ``text-mean`` (to the mean L2 norm of the text-token
  embeddings, Gemma-style scaled embeddings included), ``value=X``, or ``paper`` (the paper's projector
  head: RMSNorm over the hidden dimension, clip the L2 norm at 1.22, multiply by 0.83). On a vanilla model
  ``norm:paper`` has no trained gain (it is 1): every token's RMS becomes 1, its L2 norm sqrt(hidden) > 1.22,
  so the clip always applies and the result equals ``norm:value=1.0126`` (0.83 x 1.22). It is an untrained
  ablation, not the paper's trained result (a converted paper checkpoint carries its own gain).
- ``layers``: vision features from another encoder layer, or the mean of several raw hidden states
  (``layers:12`` or ``layers:12,16,20``), fed to the model's own pretrained projector. Ours, not the paper's:
  its multi-layer model concatenates the layers, each through CLIP's post_layernorm, into a projector trained
  on them (a converted checkpoint does that).
- ``permute``: shuffle the order of each image's vision tokens. As in the paper, every question gets its own
  permutation; it is drawn from (SEED, example id, image index), so a run is reproducible (``permute:SEED``).
- ``pool``: average-pool each image's vision grid to k x k tokens after the projector (``pool:K``); the
  prompt's image placeholders shrink to k*k so the language model really sees k*k tokens. The paper trains
  its PoolingProjector with the pool; on a model that was not, it is an untrained ablation.

A condition may combine several with ``+`` (``norm:text-mean+layers:12``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from spatialgen.errors import SpatialgenError

NAMES = ("norm", "layers", "permute", "pool")
PAPER_CLIP, PAPER_SCALE = 1.22, 0.83


@dataclass(frozen=True)
class Spec:
    """One parsed intervention (``pool:4`` is Spec("pool", "4")): parsed once where the user's text enters
    (``parse``), then passed around as this object."""

    name: str
    arg: str = ""

    @property
    def label(self) -> str:
        return f"{self.name}:{self.arg}" if self.arg else self.name


def parse(text: str) -> list[Spec]:
    """An intervention string (``norm:paper``, ``layers:12,16``, ``permute``, ...) as its specs; a malformed one is one
    SpatialgenError."""
    specs = []
    for part in text.split("+"):
        name, _, arg = part.strip().partition(":")
        if name not in NAMES:
            raise SpatialgenError(f"--intervention {text}: unknown intervention '{name}'; use {', '.join(NAMES)}")
        specs.append(Spec(name, arg))
        _validate(specs[-1], text)
    return specs


def parse_all(texts) -> list[Spec]:
    """Several intervention strings as one list of specs."""
    return [s for text in texts for s in parse(text)]


def _validate(s: Spec, text: str) -> None:
    bad = SpatialgenError(f"--intervention {text}: bad argument '{s.arg}' for {s.name}")
    try:
        if s.name == "norm":
            if s.arg not in ("", "text-mean", "paper"):
                assert s.arg.startswith("value=")
                v = float(s.arg[6:])
                assert math.isfinite(v) and v > 0
        elif s.name == "layers":
            assert s.arg and all(int(x) is not None for x in s.arg.split(","))
        elif s.name == "permute":
            int(s.arg or 0)
        elif s.name == "pool":
            assert int(s.arg) >= 1
    except (ValueError, AssertionError):
        raise bad from None


def check_against(specs: list[Spec], model) -> None:
    """Arguments that only the model can judge: layer indices within the vision encoder, a pool no larger
    than the token grid. Raised before anything is evaluated."""
    for s in specs:
        if s.name == "layers":
            n = len(encoder_layers(model)) + 1
            bad = [x for x in s.arg.split(",") if not -n <= int(x) < n]
            if bad:
                raise SpatialgenError(f"--intervention {s.label}: the vision encoder has hidden states 0..{n - 1}")
        elif s.name == "pool":
            vc = getattr(model.config, "vision_config", None)
            side = getattr(vc, "image_size", 0) // max(1, getattr(vc, "patch_size", 1) or 1)
            if side and int(s.arg) > side:
                raise SpatialgenError(f"--intervention {s.label}: the vision grid is {side} x {side} tokens")


def _find(module, paths: tuple[str, ...]):
    for p in paths:
        m = module
        try:
            for part in p.split("."):
                m = getattr(m, part)
            return m
        except AttributeError:
            continue
    return None


def projector(model) -> torch.nn.Module:
    """The model's multimodal projector module (LLaVA-style models)."""
    m = _find(
        model,
        (
            "model.multi_modal_projector",
            "multi_modal_projector",
            "model.connector",
            "connector",
            "model.visual.merger",
            "visual.merger",
        ),
    )
    if m is None:
        raise SpatialgenError(f"{type(model).__name__}: no vision projector found to hook")
    return m


def vision_tower(model) -> torch.nn.Module:
    """The model's vision encoder module."""
    m = _find(model, ("model.vision_tower", "vision_tower"))
    if m is None:
        raise SpatialgenError(f"{type(model).__name__}: no vision tower found; 'layers' needs a LLaVA-style model")
    return m


def text_mean_norm(model) -> float:
    """Mean L2 norm of the text embedding rows (Gemma-style embedding scale included): the target of ``norm:text-
    mean``."""
    emb = model.get_input_embeddings()
    norms = emb.weight.detach().float().norm(dim=-1)
    scale = getattr(emb, "embed_scale", None)  # Gemma-style embeddings are multiplied by sqrt(hidden)
    return float(norms.mean() * (float(scale) if scale is not None else 1.0))


def rms_clip_scale(x: torch.Tensor, gain: torch.Tensor, clip: float, scale: float, eps: float = 1e-6) -> torch.Tensor:
    """The paper's NormalizedProjector after the MLP: RMSNorm with a gain, clip L2 norms at ``clip``, scale."""
    v = x.float()
    v = v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + eps) * gain.to(v.device).float()
    v = v * torch.clamp(clip / v.norm(dim=-1, keepdim=True), max=1.0)
    return (scale * v).to(x.dtype)


def paper_norm(v: torch.Tensor) -> torch.Tensor:
    """The paper's projector head with its untrained gain (ones)."""
    return rms_clip_scale(v, torch.ones(v.shape[-1]), PAPER_CLIP, PAPER_SCALE)


def rescale(v: torch.Tensor, target: float) -> torch.Tensor:
    """Every vector of ``v`` rescaled to L2 norm ``target``."""
    n = v.float().norm(dim=-1, keepdim=True).clamp(min=1e-12)
    return (v.float() * (target / n)).to(v.dtype)


def permutation(n: int, seed: int) -> torch.Tensor:
    """A fixed permutation of ``n`` image tokens for a seed (the ``permute`` control)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=g)


def image_seed(seed: int, image_id: str) -> int:
    """A permutation seed of its own for every (run seed, example id, image index)."""
    return int.from_bytes(hashlib.blake2b(f"{seed}/{image_id}".encode(), digest_size=8).digest(), "little") >> 1


def permute_tokens(v: torch.Tensor, image_ids: list[str], seed: int, sizes: list[int] | None = None) -> torch.Tensor:
    """Each image's vision tokens in an order of its own. ``v`` is [images, tokens, d] (LLaVA) or
    [all tokens, d] with ``sizes`` tokens per image (Qwen2-VL's merger): tokens move, channels never do."""
    if v.dim() == 3:
        if len(image_ids) != v.shape[0]:
            raise SpatialgenError(f"permute: {v.shape[0]} images in the batch, {len(image_ids)} ids")
        order = [permutation(v.shape[1], image_seed(seed, i)).to(v.device) for i in image_ids]
        return torch.stack([v[k, o] for k, o in enumerate(order)])
    if sizes is None or sum(sizes) != v.shape[0] or len(sizes) != len(image_ids):
        raise SpatialgenError("permute: cannot tell which vision tokens belong to which image")
    parts = torch.split(v, sizes)
    return torch.cat(
        [p[permutation(len(p), image_seed(seed, i)).to(v.device)] for p, i in zip(parts, image_ids, strict=True)]
    )


def _tokens_per_image(vlm) -> list[int] | None:
    thw = vlm.context.get("image_grid_thw")
    if thw is None:
        return None
    merge = getattr(getattr(vlm.model.config, "vision_config", None), "spatial_merge_size", 2)
    return (thw.prod(-1) // (merge * merge)).tolist()


def pool_tokens(v: torch.Tensor, k: int) -> torch.Tensor:
    """[images, g*g, d] -> [images, k*k, d] by average pooling on the g x g grid."""
    n_img, n, d = v.shape
    g = math.isqrt(n)
    if g * g != n:
        raise SpatialgenError(f"pool: {n} vision tokens do not form a square grid")
    grid = v.float().reshape(n_img, g, g, d).permute(0, 3, 1, 2)
    pooled = torch.nn.functional.adaptive_avg_pool2d(grid, k)
    return pooled.permute(0, 2, 3, 1).reshape(n_img, k * k, d).to(v.dtype)


def _projector_hook(specs: list[Spec], vlm):
    target = None
    for s in specs:
        if s.name == "norm" and s.arg in ("", "text-mean"):
            target = text_mean_norm(vlm.model)

    def hook(_m, _inp, out):
        v = out
        for s in specs:
            if s.name == "norm":
                if s.arg == "paper":
                    v = paper_norm(v)
                elif s.arg.startswith("value="):
                    v = rescale(v, float(s.arg[6:]))
                else:
                    v = rescale(v, target)
            elif s.name == "permute":
                v = permute_tokens(v, vlm.context.get("image_ids", []), int(s.arg or 0), _tokens_per_image(vlm))
            elif s.name == "pool":
                v = pool_tokens(v, int(s.arg))
        return v

    return hook


def encoder_layers(model) -> torch.nn.ModuleList:
    """The vision encoder's transformer layers, in order."""
    tower = vision_tower(model)
    layers = _find(tower, ("vision_model.encoder.layers", "encoder.layers", "encoder.layer"))
    if layers is None:
        raise SpatialgenError("layers: cannot find the vision encoder's layers")
    return layers


def _layers_hooks(layers: list[int], model) -> list:
    """Capture hidden_states[i] (input of layer 0 for i = 0, output of layer i-1 otherwise) during the vision
    forward, and hand their mean to the projector in place of the configured feature layer."""
    if not isinstance(model.config.vision_feature_layer, int):
        raise SpatialgenError("layers: this checkpoint concatenates several layers; its projector is fixed to them")
    blocks = encoder_layers(model)
    n = len(blocks) + 1
    wanted = sorted({i % n for i in layers})
    captured: dict[int, torch.Tensor] = {}
    handles = []
    for i in wanted:
        if i == 0:
            handles.append(
                blocks[0].register_forward_pre_hook(
                    lambda _m, args, kwargs: captured.__setitem__(0, args[0] if args else kwargs["hidden_states"]),
                    with_kwargs=True,
                )
            )
        else:

            def grab(_m, _inp, out, i=i):
                captured[i] = out[0] if isinstance(out, tuple) else out

            handles.append(blocks[i - 1].register_forward_hook(grab))

    def swap(_m, args):
        feats = torch.stack([captured[i] for i in wanted]).mean(0) if len(wanted) > 1 else captured[wanted[0]]
        if feats.shape[1] == args[0].shape[1] + 1:  # the "default" strategy drops the CLS token
            feats = feats[:, 1:]
        captured.clear()
        return (feats.to(args[0].dtype), *args[1:])

    handles.append(projector(model).register_forward_pre_hook(swap))
    return handles


def pooled_token_count(specs: list[Spec]) -> int | None:
    """How many image tokens remain after a ``pool:K`` spec (K x K), or None without one."""
    k = next((int(s.arg) for s in specs if s.name == "pool"), None)
    return None if k is None else k * k


def shrink_image_runs(inputs: dict, image_token_id: int, keep: int, pad_id: int) -> dict:
    """Cut each run of image placeholders to ``keep`` tokens and re-pad on the left."""
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    rows = []
    for seq, m in zip(ids.tolist(), mask.tolist(), strict=True):
        seq = [t for t, keep_m in zip(seq, m, strict=True) if keep_m]
        out, run = [], 0
        for t in seq:
            run = run + 1 if t == image_token_id else 0
            if t != image_token_id or run <= keep:
                out.append(t)
        rows.append(out)
    width = max(len(r) for r in rows)
    new_ids = torch.full((len(rows), width), pad_id, dtype=ids.dtype)
    new_mask = torch.zeros((len(rows), width), dtype=mask.dtype)
    for i, r in enumerate(rows):
        new_ids[i, width - len(r) :] = torch.tensor(r, dtype=ids.dtype)
        new_mask[i, width - len(r) :] = 1
    return {**inputs, "input_ids": new_ids.to(ids.device), "attention_mask": new_mask.to(mask.device)}


@contextmanager
def applied(vlm, cond) -> Iterator[None]:
    """Install the condition's hooks for the duration of the block."""
    specs = list(cond.interventions)
    handles = []
    try:
        proj_specs = [s for s in specs if s.name in ("norm", "permute", "pool")]
        check_against(specs, vlm.model)
        if proj_specs:
            handles.append(projector(vlm.model).register_forward_hook(_projector_hook(proj_specs, vlm)))
        for s in specs:
            if s.name == "layers":
                handles += _layers_hooks([int(x) for x in s.arg.split(",")], vlm.model)
        yield specs
    finally:
        for h in handles:
            h.remove()
