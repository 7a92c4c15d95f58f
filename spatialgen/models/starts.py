"""Where training starts each kind of model, one ``@start`` per kind (models/registry.py): ``tiny-init``
from random weights, ``random:ARCH`` (a full-size architecture with random weights, for timing), or a
llava-hf folder / Hub id to fine-tune. Each gets the projector the built-in interventions need."""

from __future__ import annotations

from typing import Any

import torch

from spatialgen.errors import SpatialgenError
from spatialgen.models.convert import Sidecar, llava_feature_layer
from spatialgen.models.files import load_errors, load_processor, refuse_pickle_only
from spatialgen.models.interventions import projector
from spatialgen.models.loading import known_arch
from spatialgen.models.registry import ANY, RANDOM, STARTS, TINY_INIT, check, find, start


def build(model: str, meta: Sidecar, seed: int, device="cpu", dtype=torch.float32) -> tuple[Any, Any]:
    """(model, processor) to train, seeded, with its weights in ``dtype`` (the trainable ones are made
    float32 later)."""
    entry = check(STARTS, model)
    torch.manual_seed(seed)
    return entry.fn(model, meta, seed, device, dtype)


@start(TINY_INIT, TINY_INIT, from_scratch=True)
def _from_scratch(model: str, meta: Sidecar, seed: int, device, dtype) -> tuple[Any, Any]:
    from transformers import LlavaForConditionalGeneration

    from spatialgen.models import tiny

    cfg = tiny.config(TINY_INIT)
    cfg.vision_feature_layer = llava_feature_layer(meta.vision_feature_layer, cfg.vision_config.num_hidden_layers)
    m = LlavaForConditionalGeneration(cfg).to(dtype)
    v = tiny.ARCHS[TINY_INIT]["vision"]
    return m, tiny.processor(v["image_size"], v["patch_size"])


@start(RANDOM, "random:ARCH", check=known_arch)
def _random_arch(model: str, meta: Sidecar, seed: int, device, dtype) -> tuple[Any, Any]:
    from spatialgen.models import tiny

    m, proc = tiny.build_arch(model[len(RANDOM) :], device, dtype, seed)
    retarget_projector(m, meta)
    return m, proc


@start(ANY, "a llava-hf folder or a Hub id")
def _pretrained(model: str, meta: Sidecar, seed: int, device, dtype) -> tuple[Any, Any]:
    from transformers import LlavaForConditionalGeneration

    refuse_pickle_only(model)
    try:
        m = LlavaForConditionalGeneration.from_pretrained(model, dtype=dtype, use_safetensors=True)
        proc = load_processor(model)
    except load_errors() as e:
        raise SpatialgenError(
            f"--model {model}: not a llava-hf model folder or cached Hub id ({type(e).__name__})"
        ) from None
    retarget_projector(m, meta)
    return m, proc


def from_scratch(name: str) -> bool:
    """Whether training starts ``name`` from random weights (training's from-scratch defaults apply)."""
    return find(STARTS, name).from_scratch


def retarget_projector(m, meta: Sidecar) -> None:
    """A multi-layer intervention needs a projector that takes k layers: its first linear is re-initialized."""
    layer = llava_feature_layer(meta.vision_feature_layer, m.config.vision_config.num_hidden_layers)
    if layer == m.config.vision_feature_layer:
        return
    k = len(meta.vision_feature_layer) if isinstance(meta.vision_feature_layer, list) else 1
    proj = projector(m)
    first = proj.linear_1
    with torch.device(first.weight.device):
        proj.linear_1 = torch.nn.Linear(
            k * m.config.vision_config.hidden_size, first.out_features, dtype=first.weight.dtype
        )
    m.config.vision_feature_layer = layer
