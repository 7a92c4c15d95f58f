"""``spatialgen train``: fit a LLaVA-style model to a render folder's train split, with the paper's
interventions built in as the paper builds them, and write a folder that ``eval`` loads like any other.

- The interventions are the converted checkpoints' sidecar parts, trained: ``norm:paper`` is the
  NormalizedProjector head with a learnable RMSNorm gain (clip 1.22, scale 0.83); ``layers:L1,L2,...``
  concatenates those hidden states, each through the tower's post_layernorm, into a projector that takes
  them; ``pool:K`` averages the projected grid to K x K tokens.
- Recipes: ``full`` trains everything (for tiny models), ``projector`` only the projector (and gain:
  LLaVA's stage 1), ``lora`` the projector plus LoRA adapters on the language model's attention (peft),
  merged into the weights when saved.
- A training example is exactly what likelihood scoring reads: the prompt of ``eval`` and the answer turn
  (the answer plus the chat template's end of turn); only the answer turn carries loss. With ``captions``
  each training scene also gives grounding captions (training/captions.py), trained on, never scored: what a
  model trained from scratch needs to find the object a word names. With ``restate`` every yes/no question of
  a family with an inverse wording is also asked in one wording, its relation's first template, the answer
  flipped where the inverse was used (training/restate.py): what lets it learn the comparison at all, since the
  generator's balanced wordings leave the geometry alone uncorrelated with the answer.
- Deterministic for a seed on the CPU: the example order comes from the seed, the RNG states go into every
  checkpoint, and a run killed at any point resumes from its last checkpoint to the same weights.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import os
import random
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, Field

from spatialgen import __version__
from spatialgen.errors import SpatialgenError
from spatialgen.eval.conditions import Condition
from spatialgen.eval.example import Example
from spatialgen.eval.prompts import question_text
from spatialgen.eval.scoring import candidate_ids, encode, forward
from spatialgen.models.convert import (
    HEAD_FILE,
    NORM_FILE,
    SIDECAR,
    PatchHead,
    ProjectorNorm,
    Sidecar,
    attach,
)
from spatialgen.models.interventions import Spec, parse, parse_all, projector
from spatialgen.models.loading import VLM, cpu_threads
from spatialgen.models.registry import STARTS, TINY_INIT, check
from spatialgen.models.starts import build, from_scratch
from spatialgen.requests import TrainRequest, default

RECIPES = ("full", "projector", "lora")
CHECKPOINT = "checkpoint.pt"
TRAIN_JSON = "train.json"


class TrainSpec(BaseModel):
    """What decides the weights; a model folder holds exactly one (train.json). Built from a request by
    ``train_spec`` only; its defaults are the request's (spatialgen/requests.py), read, not retyped."""

    model: str
    data: str
    data_manifest: str  # hash of the render's manifest: the data trained on, exactly
    recipe: str = default(TrainRequest, "recipe")
    interventions: list[str] = Field(default_factory=list)
    steps: int = Field(default(TrainRequest, "steps"), gt=0, le=10**8)
    batch_size: int = Field(default(TrainRequest, "batch_size"), gt=0)
    lr: float = Field(default(TrainRequest, "lr"), gt=0)
    seed: int = Field(default(TrainRequest, "seed"), ge=0, lt=2**63)  # torch.manual_seed takes 64 bits
    save_every: int = Field(default(TrainRequest, "save_every"), gt=0)
    captions: bool = False  # grounding captions of each training scene (training/captions.py)
    captions_per_scene: int = Field(default(TrainRequest, "captions_per_scene"), gt=0)  # each in its own order
    restate: bool = False  # yes/no questions also in one wording per relation (training/restate.py)
    caption_order: Literal["color-shape-place", "color-place-shape"] = (
        "color-place-shape"  # training/captions.py ORDERS: the place right after the color word
    )
    tower_steps: int = Field(0, ge=0)  # tiny-init: the tower first learns to name each patch (training/tower.py)
    precision: str = default(TrainRequest, "precision")  # auto: bf16 autocast on a CUDA GPU, float32 on the CPU
    threads: int = Field(default(TrainRequest, "threads"), gt=0)  # torch splits a sum across them: weights too
    loss_average: Literal["token", "example"] = "token"  # over the batch's answer tokens, or per example first
    version: str = __version__


SCRATCH_INTERVENTIONS = ("pool:4",)  # tiny-init's default: 4x4 pooled image tokens (README, Training)


def interventions_for(model: str, asked: list[str] | None) -> list[str]:
    """The interventions built in: as asked, else (None) pool:4 for ``tiny-init``, whose from-scratch language
    model binds 16 pooled tokens and not 256 in the demo's budget, and none otherwise."""
    if asked is None:
        return list(SCRATCH_INTERVENTIONS) if from_scratch(model) else []
    return list(asked)


def train_spec(req: TrainRequest, data: Path) -> TrainSpec:
    """The one place a training request becomes the spec that decides the weights: each None resolved to the
    model's default, every choice checked before anything is written."""
    from spatialgen.generator.folder import finished

    check(STARTS, req.model)  # an unknown random:ARCH is refused before anything is read
    tower = tower_steps_for(req.model, req.tower_steps)
    if tower and not from_scratch(req.model):
        raise SpatialgenError(
            f"--tower-steps is for --model {TINY_INIT}, the model whose vision tower starts from scratch"
        )
    interventions = interventions_for(req.model, req.interventions)
    for t in interventions:
        _sidecar(parse(t), "")
    finished(data)
    asked = {"model", "recipe", "steps", "batch_size", "lr", "seed", "save_every", "captions_per_scene"}
    return TrainSpec(
        **req.model_dump(include=asked | {"precision", "threads"}),
        data=str(data),
        data_manifest=manifest_hash(data),
        interventions=interventions,
        captions=for_scratch(req.model, req.captions),
        restate=for_scratch(req.model, req.restate),
        tower_steps=tower,
        loss_average=loss_average_for(req.model, req.loss_average),
    )


def manifest_hash(folder: Path) -> str:
    """The hash of a render folder's manifest: a trained model records exactly which data it saw."""
    return hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()[:16]


def _sidecar(specs: list[Spec], source: str) -> Sidecar:
    layers = next(([int(x) for x in s.arg.split(",")] for s in specs if s.name == "layers"), None)
    norm = any(s.name == "norm" and s.arg == "paper" for s in specs)
    pool = next((int(s.arg) for s in specs if s.name == "pool"), None)
    for s in specs:
        if s.name not in ("layers", "pool") and not (s.name == "norm" and s.arg == "paper"):
            raise SpatialgenError(f"--intervention {s.label}: train builds in norm:paper, layers:L,... and pool:K")
    layout = "+".join(n for n, on in (("normalized", norm), ("pooled", pool is not None)) if on) or "mlp"
    return Sidecar(
        source=source,
        layout=layout,
        vision_feature_layer=layers if layers and len(layers) > 1 else (layers[0] if layers else -2),
        feature_norm=bool(layers and len(layers) > 1),
        projector_norm=ProjectorNorm() if norm else None,
        pool=pool,
        image_mode="crop",
    )


def _trainable(m, recipe: str, gain: torch.nn.Parameter | None):
    if recipe == "lora":
        from peft import LoraConfig, get_peft_model

        lm = m.model.language_model
        m.model.language_model = get_peft_model(lm, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]))
    for p in m.parameters():
        p.requires_grad = recipe == "full"
    if recipe == "lora":
        for name, p in m.model.language_model.named_parameters():
            p.requires_grad = "lora_" in name
    for p in projector(m).parameters():
        p.requires_grad = True
    params = [p for p in m.parameters() if p.requires_grad]
    return params + ([gain] if gain is not None else [])


def batch_inputs(vlm: VLM, batch: list[Example]) -> dict:
    """Prompt (left-padded, with images) + answer turn (right-padded); labels only on the answer turn."""
    return _with_answers(vlm, encode(vlm, batch, Condition()), batch)


def _with_answers(vlm: VLM, inputs: dict, batch: list[Example]) -> dict:
    prompts = vlm.tokenizer.batch_decode(inputs["input_ids"][:, -8:])
    tails = [candidate_ids(vlm, p, [ex.answer])[0] for p, ex in zip(prompts, batch, strict=True)]
    width = max(len(t) for t in tails)
    pad = vlm.tokenizer.pad_token_id or 0
    tail = torch.full((len(batch), width), pad, dtype=torch.long)
    tmask = torch.zeros_like(tail)
    labels = torch.full_like(tail, -100)
    for r, t in enumerate(tails):
        tail[r, : len(t)] = torch.tensor(t)
        tmask[r, : len(t)] = 1
        labels[r, : len(t)] = torch.tensor(t)
    prompt_labels = torch.full_like(inputs["input_ids"], -100)
    inputs["input_ids"] = torch.cat([inputs["input_ids"], tail.to(vlm.device)], 1)
    inputs["attention_mask"] = torch.cat([inputs["attention_mask"], tmask.to(vlm.device)], 1)
    inputs["labels"] = torch.cat([prompt_labels, labels.to(vlm.device)], 1)
    return inputs


def _text_inputs(vlm: VLM, batch: list[Example], image_tokens: int) -> dict:
    """What ``encode`` gives for examples whose image was already preprocessed, without touching the image:
    the processor's own expansion of the image placeholder (one token per image feature), then the
    tokenizer. A test holds it to the full path's ids."""
    token = vlm.processor.image_token
    prompts = [
        vlm.prompt(question_text(ex, False, vlm.prompt_style), len(ex.images)).replace(token, token * image_tokens)
        for ex in batch
    ]
    out = vlm.tokenizer(prompts, padding=True, return_tensors="pt")
    return {k: v.to(vlm.device) for k, v in out.items() if k in ("input_ids", "attention_mask")}


def _image_key(ex: Example) -> bytes:
    return image_key(ex.images[0])


def image_key(im: bytes | str) -> bytes:
    """An image's identity in training: the hash of its bytes (or of its path)."""
    return hashlib.blake2b(im if isinstance(im, bytes) else im.encode(), digest_size=16).digest()


def fit_normalization(vlm: VLM, examples: list[Example], images: int = 256) -> None:
    """Set the image processor's mean and std to the training images' own: per channel, the median (on a
    rendered scene, its background) and the standard deviation of the first ``images`` distinct images, as
    the processor resizes them. For a model trained from scratch only: CLIP's ImageNet mean leaves a flat
    light background a large shared component of every patch, and the few patches that hold an object
    differ from it by too little for the language model to find them (bench/probes/tiny_init_probe.py measures
    this). The statistics are saved with the processor, so eval normalizes the same way."""
    from spatialgen.eval.scoring import _images

    ip = vlm.processor.image_processor
    seen, pixels = set(), []
    for ex in examples:
        key = _image_key(ex)
        if key in seen:
            continue
        seen.add(key)
        pixels.append(ip(images=_images(vlm, ex), do_normalize=False, return_tensors="pt")["pixel_values"][0])
        if len(seen) == images:
            break
    flat = torch.stack(pixels).transpose(0, 1).reshape(3, -1).float()
    ip.image_mean = [round(float(v), 6) for v in flat.median(1).values]
    ip.image_std = [round(float(v), 6) for v in flat.std(1).clamp(min=1e-3)]


class Encoded:
    """Every training example tokenized and its image preprocessed once (a scene's questions share one
    image: it is decoded, resized and stored once, as float16 to halve the memory): a training step then
    only pads and stacks."""

    def __init__(self, vlm: VLM, examples: list[Example], chunk: int = 128, tick=lambda k: None) -> None:
        if any(len(ex.images) != 1 for ex in examples):
            raise SpatialgenError("training needs exactly one image per example")
        self.ids: list[torch.Tensor] = [torch.empty(0)] * len(examples)
        self.labels: list[torch.Tensor] = [torch.empty(0)] * len(examples)
        keys = [_image_key(ex) for ex in examples]
        seen: dict[bytes, int] = {}  # image -> its row in self.pixels, in order of first use
        first = []
        for i, key in enumerate(keys):
            if key not in seen:
                seen[key] = len(seen)
                first.append(i)
        pixels, image_tokens = [], 0
        image_id = vlm.model.config.image_token_index
        for k in range(0, len(first), chunk):
            rows = first[k : k + chunk]
            inputs = batch_inputs(vlm, [examples[i] for i in rows])
            for r, i in enumerate(rows):
                self._keep(i, inputs, r)
                pixels.append(inputs["pixel_values"][r].to(torch.float16).cpu())
            image_tokens = int((inputs["input_ids"][0] == image_id).sum())
            tick(len(rows))
        rest = [i for i in range(len(examples)) if not len(self.ids[i])]
        for k in range(0, len(rest), chunk):
            rows = rest[k : k + chunk]
            part = [examples[i] for i in rows]
            inputs = _with_answers(vlm, _text_inputs(vlm, part, image_tokens), part)
            for r, i in enumerate(rows):
                self._keep(i, inputs, r)
            tick(len(rows))
        self.image = [seen[key] for key in keys]
        self.keys = list(seen)  # the image of each row of self.pixels
        self.pixels = torch.stack(pixels)
        self.pad = vlm.tokenizer.pad_token_id or 0

    def _keep(self, i: int, inputs: dict, r: int) -> None:
        keep = inputs["attention_mask"][r] == 1
        self.ids[i] = inputs["input_ids"][r][keep].cpu()
        self.labels[i] = inputs["labels"][r][keep].cpu()

    def batch(self, rows: list[int], device) -> dict:
        width = max(len(self.ids[i]) for i in rows)
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        labels = torch.full_like(ids, -100)
        mask = torch.zeros_like(ids)
        for r, i in enumerate(rows):
            n = len(self.ids[i])
            ids[r, width - n :], labels[r, width - n :], mask[r, width - n :] = self.ids[i], self.labels[i], 1
        pixels = self.pixels[[self.image[i] for i in rows]].float()
        return {
            "input_ids": ids.to(device),
            "attention_mask": mask.to(device),
            "labels": labels.to(device),
            "pixel_values": pixels.to(device),
        }


def example_loss(vlm: VLM, inputs: dict) -> torch.Tensor:
    """Each example's mean loss over its answer turn, then the batch's mean: every example counts once. With
    grounding captions (18 answer tokens each in the README demo) beside yes/no questions (two), the mean over
    the batch's tokens (transformers', LLaVA's) gives the questions 8.6 % of the gradient, and tiny-init's
    questions then break out late (README "Training"). Logits only for the batch's last columns, the ones
    that predict an answer token (answers end every row: rows are left-padded)."""
    labels = inputs["labels"]
    first = int((labels != -100).any(0).nonzero()[0])
    rest = {k: v for k, v in inputs.items() if k != "labels"}
    logits = forward(vlm, rest, logits_to_keep=labels.shape[1] - first + 1).logits[:, :-1].float()
    target = labels[:, first:]
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100, reduction="none")
    return (ce.sum(1) / (target != -100).sum(1)).mean()


@functools.lru_cache(maxsize=2)
def _order(n: int, seed: int, epoch: int) -> tuple[int, ...]:
    """The epoch's order of the examples; cached, as reshuffling the README demo's 70,924 every step took 18
    ms of a 152 ms step (bench/train_step_parts.py)."""
    idx = list(range(n))
    random.Random(f"{seed}/{epoch}").shuffle(idx)
    return tuple(idx)


def _plot(out: Path, losses: list[float], loss_average: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(out / "loss.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "loss"])
        w.writerows((k + 1, loss) for k, loss in enumerate(losses))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(range(1, len(losses) + 1), losses, lw=0.8, alpha=0.5, label="batch")
    win = max(1, len(losses) // 30)
    smooth = [
        sum(losses[max(0, k - win + 1) : k + 1]) / len(losses[max(0, k - win + 1) : k + 1]) for k in range(len(losses))
    ]
    ax.plot(range(1, len(losses) + 1), smooth, lw=1.5, label=f"mean of {win}")
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss (answer turns, {loss_average} mean)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=120)
    plt.close(fig)


def check_out(out: Path, spec: TrainSpec) -> bool:
    """True when ``out`` holds this training (resume), False when it is free; otherwise one line."""
    from spatialgen.eval.runner import holds

    return holds(out, spec, TRAIN_JSON, "training")


PRECISIONS = ("auto", "fp32", "bf16")


def resolve_precision(precision: str, dev) -> torch.dtype | None:
    """The autocast dtype, or None for plain float32. auto: bf16 on a CUDA GPU, float32 elsewhere (the CPU
    path stays bit-for-bit deterministic)."""
    if precision not in PRECISIONS:
        raise SpatialgenError(f"--precision must be one of {', '.join(PRECISIONS)}, got '{precision}'")
    if precision == "bf16" or (precision == "auto" and dev.type == "cuda"):
        return torch.bfloat16
    return None


class _StoredTower(torch.nn.Module):
    """Stands in for the fixed vision tower during a training step: the stored hidden states of the batch's
    images, in the places of the tuple Llava's ``get_image_features`` reads (its other entries are None)."""

    def __init__(self, stored: tuple[int, dict[int, torch.Tensor]], images: list[int]) -> None:
        super().__init__()
        self.depth, self.hidden, self.images = stored[0], stored[1], images

    def forward(self, pixel_values: torch.Tensor, **kwargs):
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        hidden: list[torch.Tensor | None] = [None] * self.depth
        for i, h in self.hidden.items():
            hidden[i] = h[self.images].to(pixel_values.device)
        return BaseModelOutputWithPooling(hidden_states=tuple(hidden))


class Trainer:
    """One training run: the model with its interventions built in, the optimizer and the step loop.

    Mixed precision (bf16): the frozen weights are stored in bf16, the trainable ones in float32 (the
    optimizer's master copy), and the forward pass runs under autocast. A checkpoint holds only what training
    changes (the trainable weights, the gain, the optimizer and RNG state): the frozen rest is rebuilt from
    ``spec.model`` and the seed, so a 7B projector run saves megabytes, not 14 GB, every ``save_every``.
    """

    def __init__(self, spec: TrainSpec, device: str = "cpu") -> None:
        from spatialgen.models.loading import resolve_device

        if spec.recipe not in RECIPES:
            raise SpatialgenError(f"--recipe must be one of {', '.join(RECIPES)}, got '{spec.recipe}'")
        specs = parse_all(spec.interventions)
        self.spec = spec
        self.meta = _sidecar(specs, f"spatialgen train ({spec.model})")
        self.dev = resolve_device(device)
        self.amp = resolve_precision(spec.precision, self.dev)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's condition for determinism
        torch.use_deterministic_algorithms(True, warn_only=True)
        stored = self.amp if spec.recipe != "full" and self.amp is not None else torch.float32
        m, proc = build(spec.model, self.meta, spec.seed, self.dev, stored)  # models/starts.py
        m.to(self.dev).train()
        hidden = m.config.text_config.hidden_size
        self.gain = torch.nn.Parameter(torch.ones(hidden, device=self.dev)) if self.meta.projector_norm else None
        self.head, self.tower_stats, self.stored = None, {}, None
        if spec.tower_steps:
            self.head = self._patch_head(m)
        attach(m, None, self.meta, self.gain, self.head)
        tok = getattr(proc, "tokenizer", proc)
        tok.padding_side = "left"
        self.vlm = VLM(spec.model, m, proc, "llava", self.dev, torch.float32, pool=self.meta.pool)
        self.params = _trainable(m, spec.recipe, self.gain)
        tower = {id(p) for p in m.model.vision_tower.parameters()}
        if self.head is not None:  # named patches: the tower is trained in its own stage, then held fixed
            self.params = [p for p in self.params if id(p) not in tower]
            m.model.vision_tower.requires_grad_(False)
        for p in self.params:
            p.data = p.data.float()
        self.names = {n for n, p in m.named_parameters() if p.requires_grad}
        if self.head is not None:  # what the stage changed goes into every checkpoint too
            self.names |= {n for n, p in m.named_parameters() if id(p) in tower}
        self.opt = torch.optim.AdamW(self.params, lr=spec.lr, weight_decay=0.0)
        steps = spec.steps
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda k: min(1.0, (k + 1) / 20) * 0.5 * (1 + math.cos(math.pi * min(k, steps) / steps))
        )
        self.step, self.losses = 0, []
        self.data: Encoded | None = None

    def _patch_head(self, m) -> torch.nn.Linear:
        from spatialgen.scenes.vocab import COLORS, SHAPES
        from spatialgen.training.tower import new_head, reading_width, start_projector

        if not from_scratch(self.spec.model):
            raise SpatialgenError(
                f"--tower-steps is for --model {TINY_INIT}, the model whose vision tower starts from scratch"
            )
        self.meta.patch_head = PatchHead(colors=list(COLORS), shapes=list(SHAPES))
        head = new_head(projector(m).linear_1.in_features).to(self.dev)  # what the projector reads
        start_projector(projector(m), reading_width())
        head.requires_grad_(False)
        return head

    @property
    def model(self) -> torch.nn.Module:
        return self.vlm.model

    @contextmanager
    def _stored_tower(self, images: list[int]):
        """After the tower stage the tower is fixed, so its hidden states of each training image are computed
        once (``store_tower``) and a training step reads them instead of running it (bench/probes/train_stored_tower.py
        measures the saving); without a store, the tower runs."""
        if self.stored is None:
            yield
            return
        mm = self.model.model
        tower, mm.vision_tower = mm.vision_tower, _StoredTower(self.stored, images)
        try:
            yield
        finally:
            mm.vision_tower = tower

    def store_tower(self, chunk: int = 64) -> None:
        """The fixed tower's hidden states that the projector reads, for every training image."""
        layer = self.model.config.vision_feature_layer
        vt, pixels = self.model.model.vision_tower, self.data.pixels
        parts: dict[int, list[torch.Tensor]] = {k: [] for k in (layer if isinstance(layer, list) else [layer])}
        with torch.no_grad():
            for k in range(0, len(pixels), chunk):
                hidden = vt(pixels[k : k + chunk].float().to(self.dev), output_hidden_states=True).hidden_states
                for i in parts:
                    parts[i].append(hidden[i])
        self.stored = (len(hidden), {i: torch.cat(v) for i, v in parts.items()})

    def name_patches(self, rows, on_step: Callable[[int, float], None] = lambda step, loss: None) -> None:
        """The tower stage (training/tower.py): the tower and the head learn to name each patch of the training
        images from ``rows``, the stored scenes they were rendered from (id, image, width, height, objects);
        both are then held fixed."""
        from spatialgen.training.tower import labels_for, train_stage

        vc = self.model.config.vision_config
        wanted = set(self.data.keys)
        by_key = {}
        for r in rows:
            key = image_key(r["image"]["bytes"])
            if key in wanted:
                by_key[key] = {k: v for k, v in r.items() if k != "image"}
        labels = labels_for(self.data.keys, by_key, vc.image_size // vc.patch_size)
        self.tower_stats = train_stage(
            self.model,
            self.head,
            self.data.pixels,
            labels,
            self.spec.tower_steps,
            self.spec.lr,
            self.spec.seed,
            layer_norm=self.meta.feature_norm,
            on_step=on_step,
        )
        self.model.train()

    def load(self, examples: list[Example], tick=lambda k: None) -> None:
        if from_scratch(self.spec.model):
            fit_normalization(self.vlm, examples)
        self.data = Encoded(self.vlm, examples, tick=tick)
        self.per_epoch = max(1, len(examples) // self.spec.batch_size)

    def train_step(self) -> float:
        """One optimizer step on the next batch of the seed's order; returns its loss."""
        bs = self.spec.batch_size
        epoch, k = divmod(self.step, self.per_epoch)
        rows = _order(len(self.data.ids), self.spec.seed, epoch)[k * bs : (k + 1) * bs]
        with (
            torch.autocast(self.dev.type, dtype=self.amp or torch.float32, enabled=self.amp is not None),
            self._stored_tower([self.data.image[i] for i in rows]),
        ):
            batch = self.data.batch(rows, self.dev)
            per_example = self.spec.loss_average == "example"
            loss = example_loss(self.vlm, batch) if per_example else forward(self.vlm, batch).loss
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.sched.step()
        self.step += 1
        self.losses.append(float(loss.detach()))
        return self.losses[-1]

    def save_checkpoint(self, out: Path) -> None:
        weights = {n: t for n, t in self.model.state_dict().items() if self.spec.recipe == "full" or n in self.names}
        state = {
            "step": self.step,
            "model": weights,
            "gain": None if self.gain is None else self.gain.detach().clone(),
            "head": None if self.head is None else self.head.state_dict(),
            "tower_stats": self.tower_stats,
            "optimizer": self.opt.state_dict(),
            "schedule": self.sched.state_dict(),
            "losses": self.losses,
            "torch_rng": torch.get_rng_state(),
        }
        tmp = out / f".{CHECKPOINT}.tmp-{os.getpid()}"
        torch.save(state, tmp)
        os.replace(tmp, out / CHECKPOINT)  # a kill -9 leaves the previous checkpoint or this one, never half

    def resume(self, out: Path) -> None:
        state = read_checkpoint(out / CHECKPOINT, self.dev)
        mismatch = SpatialgenError(f"{out / CHECKPOINT}: does not match this training's model; delete it to restart")
        try:
            _, unexpected = self.model.load_state_dict(state["model"], strict=self.spec.recipe == "full")
            if unexpected or (self.spec.recipe != "full" and self.names - set(state["model"])):
                raise mismatch
            if self.gain is not None:
                self.gain.data.copy_(state["gain"])
            if self.head is not None:
                if not state.get("head"):
                    raise mismatch
                self.head.load_state_dict(state["head"])
                self.tower_stats = dict(state["tower_stats"])
            self.opt.load_state_dict(state["optimizer"])
            step, losses = state["step"], state["losses"]
            if not isinstance(step, int) or not isinstance(losses, list) or len(losses) != step:
                raise mismatch
            self.step, self.losses = step, [float(x) for x in losses]
            torch.set_rng_state(state["torch_rng"])
            self.sched.load_state_dict(state["schedule"])
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError):
            raise mismatch from None  # a crafted or foreign checkpoint: right container, wrong contents

    def finish(self, out: Path, validation: list[Example]) -> dict:
        """Write the model folder (in one dtype: bf16 after a bf16 run) and the summary."""
        from safetensors.torch import save_file

        m, proc = self.model, self.vlm.processor
        if self.spec.recipe == "lora":
            m.model.language_model = m.model.language_model.merge_and_unload()
        m.eval()
        dtype = self.amp or torch.float32
        m.to(dtype)
        self.vlm.dtype = dtype
        for p in m.parameters():
            p.requires_grad = True
        m.save_pretrained(out)
        proc.save_pretrained(out)
        if self.gain is not None:
            save_file({"weight": self.gain.detach().float().cpu().contiguous()}, str(out / NORM_FILE))
        if self.head is not None:
            save_file(
                {k: v.detach().float().cpu().contiguous() for k, v in self.head.state_dict().items()},
                str(out / HEAD_FILE),
            )
        (out / SIDECAR).write_text(self.meta.model_dump_json(indent=1) + "\n")
        _plot(out, self.losses, self.spec.loss_average)
        summary = {"steps": len(self.losses), "final_loss": sum(self.losses[-20:]) / len(self.losses[-20:])}
        summary |= self.tower_stats
        if validation:
            summary["validation_accuracy"] = accuracy(self.vlm, validation)
            summary["validation_questions"] = len(validation)
        (out / "train-summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        (out / CHECKPOINT).unlink(missing_ok=True)  # the model folder is complete; nothing left to resume
        return summary


def read_checkpoint(path: Path, device) -> dict:
    """A resume checkpoint, read with torch's weights-only unpickler: the folder is the user's, but a file in
    it may be crafted, and a full unpickle would run whatever code it names. What ``save_checkpoint`` writes
    (tensors, numbers, lists and dicts of them: the optimizer's, the schedule's and the RNG's state) needs
    nothing more. Anything else, or a damaged file, ends in one line."""
    import pickle

    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError:
        raise SpatialgenError(f"{path}: holds objects other than tensors and numbers; refused, not loaded") from None
    except Exception as e:  # a damaged zip/pickle stream raises RuntimeError, EOFError, ValueError, ...
        raise SpatialgenError(f"{path}: not a readable checkpoint ({type(e).__name__}); delete it to restart") from None
    if not isinstance(state, dict) or not {"step", "model", "optimizer", "schedule", "losses"} <= set(state):
        raise SpatialgenError(f"{path}: not a spatialgen training checkpoint; delete it to restart")
    return state


def train(
    spec: TrainSpec,
    examples: list[Example],
    out: Path,
    device: str = "cpu",
    on_step: Callable[[int, float], None] = lambda step, loss: None,
    validation: list[Example] | None = None,
    rows: Iterable[dict[str, Any]] = (),
    on_tower_step: Callable[[int, float], None] = lambda step, loss: None,
) -> dict:
    """Train (or resume) into ``out``; returns the summary written to train.json. ``rows``: the stored scenes
    of the training images, for the tower stage (``spec.tower_steps``; ``on_tower_step`` after each of its
    steps)."""
    from spatialgen.lock import folder_lock

    if spec.recipe not in RECIPES:
        raise SpatialgenError(f"--recipe must be one of {', '.join(RECIPES)}, got '{spec.recipe}'")
    for t in spec.interventions:
        _sidecar(parse(t), "")
    resolve_precision(spec.precision, torch.device("cpu"))
    resumed = check_out(out, spec)
    if not examples:
        raise SpatialgenError(f"{spec.data}: no training examples in its train split")
    t = Trainer(spec, device)
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out), cpu_threads(spec.threads, t.dev):
        staged = resumed and (out / CHECKPOINT).exists()  # a checkpoint holds the stage's tower and head
        if staged:
            t.resume(out)
        else:
            (out / TRAIN_JSON).write_text(spec.model_dump_json(indent=1) + "\n")
        t.load(examples)
        if spec.tower_steps:
            if not staged:
                t.name_patches(rows, on_tower_step)
            t.store_tower()
        while t.step < spec.steps:
            loss = t.train_step()
            on_step(t.step, loss)
            if t.step % spec.save_every == 0 or t.step == spec.steps:
                t.save_checkpoint(out)
        return t.finish(out, validation or [])


def for_scratch(model: str, asked: bool | None) -> bool:
    """Whether a training uses grounding captions or restated questions: as asked, else (None) only for
    ``tiny-init``, the model trained from scratch, whose language model learns neither to find a named object
    (training/captions.py, bench/probes/binding_synthetic.py) nor to compare positions (training/restate.py)
    without them."""
    return from_scratch(model) if asked is None else asked


TOWER_STEPS = 400  # tiny-init's default tower stage: ~30 s on one core (bench/probes/tiny_init_captions.py)


def tower_steps_for(model: str, asked: int | None) -> int:
    """The tower stage's steps: as asked, else (None) ``TOWER_STEPS`` for ``tiny-init`` and none otherwise
    (a pretrained tower already names what it sees)."""
    return (TOWER_STEPS if from_scratch(model) else 0) if asked is None else asked


def loss_average_for(model: str, asked: str | None) -> str:
    """How the loss averages: as asked, else (None) per example for ``tiny-init``, whose captions would
    otherwise drown its questions (``example_loss``), and over tokens, LLaVA's own, for every other model."""
    if asked is None:
        return "example" if from_scratch(model) else "token"
    if asked not in ("token", "example"):
        raise SpatialgenError(f"--loss-average must be token or example, got '{asked}'")
    return asked


def folder_examples(spec: TrainSpec) -> tuple[list[Example], list[Example]]:
    """The training and validation examples of the render folder ``spec.data``: its train split's questions,
    plus ``captions_per_scene`` captions of each training scene when ``spec.captions`` (each in the object
    order of its own seed: the training seed's k-th) and the restated questions when ``spec.restate``; up to
    500 of its validation questions (as generated: never restated)."""
    from spatialgen.eval.sources import load_source
    from spatialgen.generator.folder import iter_rows
    from spatialgen.training.captions import COLUMNS, caption_examples
    from spatialgen.training.restate import restated

    examples = load_source(spec.data, split="train").examples
    if spec.restate:
        examples += restated(examples)
    if spec.captions:
        rows = list(iter_rows(spec.data, COLUMNS, "train"))
        for k in range(spec.captions_per_scene):
            seed = spec.seed * spec.captions_per_scene + k
            caps = caption_examples(rows, seed, order=spec.caption_order)
            examples += [e.model_copy(update={"id": f"{e.id}{k}"}) if k else e for e in caps]
    return examples, load_source(spec.data, split="validation", limit=500).examples


def train_on_folder(
    spec: TrainSpec,
    out: Path,
    device: str = "cpu",
    on_step: Callable[[int, float], None] = lambda step, loss: None,
    on_tower_step: Callable[[int, float], None] = lambda step, loss: None,
) -> dict:
    """Train on the render folder ``spec.data`` (``folder_examples``); the tower stage reads the train split's
    stored scenes."""
    from spatialgen.generator.folder import iter_rows
    from spatialgen.training.captions import COLUMNS

    examples, validation = folder_examples(spec)
    rows = iter_rows(spec.data, COLUMNS, "train") if spec.tower_steps else ()
    return train(spec, examples, out, device, on_step, validation, rows, on_tower_step)


def accuracy(vlm: VLM, examples: list[Example], batch_size: int = 32) -> float:
    """Likelihood-scored accuracy, exactly as ``eval`` scores."""
    from spatialgen.eval.scoring import score_batch

    right = 0
    with torch.no_grad():
        for k in range(0, len(examples), batch_size):
            part = examples[k : k + batch_size]
            for ex, sc in zip(part, score_batch(vlm, part, Condition()), strict=True):
                right += ex.candidates[max(range(len(sc)), key=lambda j: (sc[j], -j))] == ex.answer
    return right / max(1, len(examples))
