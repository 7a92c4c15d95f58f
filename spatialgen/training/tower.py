"""The patch-naming stage of a model trained from scratch (``spatialgen train --model tiny-init``).

Trained jointly from scratch on questions and captions, a vision tower never gives image tokens the language
model can answer from (README "Training": 49-52 % in every variant tried). So the tower is first trained
alone, for ``tower_steps``, to name what each patch shows: a linear head on the features the projector reads
predicts, per patch, the color and the shape of the object covering over a quarter of it, or "none" (labels
from the stored scene graph's bounding boxes). The tower and head are then held fixed, and the projector
reads the head's *reading* of each patch in place of the raw features: its color and shape probabilities
times the chance an object is there, the patch's x and y (in [-1, 1]) times that chance, and that chance.
Pixels in, nothing from the scene graph after this stage: a language model can find a named object among
such tokens and read its position (the same layout, built from the scene graph, is
bench/probes/tiny_init_captions.py's ``--oracle``).

The head is a sidecar part (``patch_head`` in spatialgen.json, its weights in
``spatialgen_patch_head.safetensors``), attached as a hook, so ``eval`` computes the same forward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from spatialgen.errors import SpatialgenError
from spatialgen.scenes.vocab import COLORS, SHAPES

COVER = 0.25  # a patch is labelled with the object covering the largest share of it, if over a quarter
BATCH = 32  # images per step of the stage


def patch_labels(row: dict[str, Any], grid: int, colors: list[str], shapes: list[str]) -> torch.Tensor:
    """[grid * grid, 2] for a stored row (width, height, objects with color, shape and pixel bbox): per patch
    of a grid x grid split of the image, row-major from the top left as CLIP's patch tokens are, the color
    and shape index of the object covering the largest share of it (over a quarter), else ``len(colors)`` /
    ``len(shapes)`` ("none")."""
    w, h = row["width"] / grid, row["height"] / grid
    out = torch.tensor([len(colors), len(shapes)]).repeat(grid * grid, 1)
    best = [COVER] * (grid * grid)
    for o in row["objects"]:
        if o["color"] not in colors or o["shape"] not in shapes:
            raise SpatialgenError(f"{row['id']}: object {o['color']} {o['shape']} is outside the vocabulary")
        x0, y0, x1, y1 = o["bbox"]
        for p in range(grid * grid):
            px, py = (p % grid) * w, (p // grid) * h
            share = max(0, min(x1, px + w) - max(x0, px)) * max(0, min(y1, py + h) - max(y0, py)) / (w * h)
            if share > best[p]:
                best[p] = share
                out[p, 0], out[p, 1] = colors.index(o["color"]), shapes.index(o["shape"])
    return out


def new_head(width: int, colors: int = len(COLORS), shapes: int = len(SHAPES)) -> torch.nn.Linear:
    """The linear head: ``colors`` + 1 color logits ("none" last), then ``shapes`` + 1 shape logits."""
    return torch.nn.Linear(width, colors + 1 + shapes + 1)


def reading_width(colors: int = len(COLORS), shapes: int = len(SHAPES)) -> int:
    """How many values the reading of a patch has: color and shape probabilities, x, y, "an object here"."""
    return colors + shapes + 3


def start_projector(proj, used: int) -> None:
    """Initialize the projector's first layer for the reading: torch's default Linear init over the ``used``
    leading inputs (uniform, bound 1 / sqrt(used)), zeros for the padding. transformers' Llava init (normal,
    std 0.02) scales a reading of a few probabilities in [0, 1] down to image tokens of about 0.003, far
    below the text embeddings' 0.02."""
    w = proj.linear_1.weight
    fresh = torch.nn.Linear(used, w.shape[0])
    with torch.no_grad():
        w.zero_()
        w[:, :used] = fresh.weight.to(w.dtype)
        proj.linear_1.bias.copy_(fresh.bias.to(w.dtype))


def features(model, pixels: torch.Tensor, layer_norm: bool = False) -> torch.Tensor:
    """The patch features the projector reads, as Llava's ``get_image_features`` selects them: the
    ``vision_feature_layer`` hidden state (or those layers concatenated), CLS dropped; with ``layer_norm``
    each layer through the tower's post-layernorm, as the sidecar's ``feature_norm`` hook does."""
    vt = model.model.vision_tower
    hidden = vt(pixels, output_hidden_states=True).hidden_states
    layer = model.config.vision_feature_layer
    parts = [hidden[k][:, 1:] for k in (layer if isinstance(layer, list) else [layer])]
    if layer_norm:
        from spatialgen.models.interventions import _find

        post_ln = _find(vt, ("vision_model.post_layernorm", "post_layernorm"))
        parts = [post_ln(p) for p in parts]
    return torch.cat(parts, -1)


def train_stage(
    model,
    head: torch.nn.Linear,
    pixels: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    lr: float,
    seed: int,
    colors: int = len(COLORS),
    layer_norm: bool = False,
    on_step: Callable[[int, float], None] = lambda step, loss: None,
) -> dict[str, float]:
    """Train the vision tower and the head on the patch labels (``pixels``: the distinct training images,
    ``labels``: their ``patch_labels``), ``steps`` steps of ``BATCH`` images drawn with the seed; returns how
    well the last batch is named (a check that the stage did its job, written to the training summary)."""
    vt = model.model.vision_tower
    dev = next(vt.parameters()).device
    params = [*vt.parameters(), *head.parameters()]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    nc = colors + 1  # the color logits, "none" last
    ce = torch.nn.functional.cross_entropy
    vt.train()
    for step in range(1, steps + 1):
        pick = torch.randint(0, len(pixels), (BATCH,), generator=gen)
        z, y = head(features(model, pixels[pick].float().to(dev), layer_norm)), labels[pick].to(dev)
        loss = ce(z[..., :nc].flatten(0, 1), y[..., 0].flatten()) + ce(z[..., nc:].flatten(0, 1), y[..., 1].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        on_step(step, float(loss.detach()))
    for p in params:
        p.requires_grad_(False)
    with torch.no_grad():
        obj, color, shape = y[..., 0] < nc - 1, z[..., :nc].argmax(-1), z[..., nc:].argmax(-1)
        return {
            "tower_final_loss": float(loss),
            "tower_color_right": float((color == y[..., 0])[obj].float().mean()),
            "tower_shape_right": float((shape == y[..., 1])[obj].float().mean()),
            "tower_empty_right": float((color[~obj] == nc - 1).float().mean()),
        }


def labels_for(keys: Iterable[bytes], rows: dict[bytes, dict[str, Any]], grid: int) -> torch.Tensor:
    """The patch labels of each image (by key) from the stored row it came from; one line for an image
    that no row holds."""
    out = []
    for k in keys:
        if k not in rows:
            raise SpatialgenError("the tower stage needs the stored scene of every training image; one has none")
        out.append(patch_labels(rows[k], grid, list(COLORS), list(SHAPES)))
    return torch.stack(out)
