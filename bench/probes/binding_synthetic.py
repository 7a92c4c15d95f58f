"""Why `spatialgen train` adds grounding captions for tiny-init: the language model's side, measured alone.

A tiny Llama (tiny-init's text config: 3 layers, width 128, 4 heads) reads clean image tokens (a G x G grid;
at each of two objects' cells its color one-hot, shape one-hot, x and y in [-1, 1] and a 1 for "an object is
here"; zeros elsewhere: no vision tower) and a question, as LLaVA lays them out: image first, then the
question, the answer last. Two objects with different colors and shapes per scene; two arms, same seed:

- ``questions``: "Is the c3 s5 left of the c7 s1 ?" / "Is the c3 s5 above the c7 s1 ?" -> yes / no only;
- ``captions+questions``: half of each batch instead captions the scene ("c3 s5 left top , c7 s1 right
  bottom", objects in random order, loss on every caption token), the other half as above.

Prints the validation accuracy on 400 held-out questions (chance 50 %). To answer, the model must find the
object each word names; trained on questions alone nothing rewards that until it already works, while a
caption's position word is predicted at the object's own words, where finding it pays at once.

``--hide-empty`` hides the image tokens that hold no object from the language model (attention mask 0;
positions unchanged: Llama's default, the index in the row): on tiny-init's 8 x 8 grid, 62 of 64 tokens
are empty, and each dilutes the attention a word pays to the two that are not.

``--objects K`` puts K objects in each scene (``LO-HI``: each scene draws its count, as `easy`'s 2-4;
captions name them all; a question names two), ``--block B``
writes each object into a B x B square of cells (an object on real pixels spans several patches): steps
from this bench's clean setting toward tiny-init's real one.

``--pixels`` takes the last step: each scene is drawn (the project's palette and shape outlines, objects
10 px across anywhere on the canvas, as `easy` objects are at tiny-init's 64 px), and an image token is its
patch's pixels (``--patch`` px a side, 8 by default: with ``--grid 8`` a 64 px canvas) through a learned
linear patch embedding (CLIP's), with the patch's x and y (its position embedding) beside them; ``--hide-empty``
then hides the patches without a drawn pixel. ``--aligned`` centres each object on a patch. ``--caption-order
color-place-shape`` writes "c3 left top s5" instead of "c3 s5 left top". Every evaluation also prints the
caption words the model gets right (teacher-forced, top-1): colors, shapes, sides, levels. ``--position``,
``--layernorm``, ``--layers`` and ``--projector`` add a CLIP tower's parts to the bare patch embedding, one
at a time or together (``Tower``): which of them slows binding.

    python bench/probes/binding_synthetic.py --steps 1500
    python bench/probes/binding_synthetic.py --grid 8 --arm captions+questions --hide-empty --steps 1500
    python bench/probes/binding_synthetic.py --grid 8 --arm captions+questions --hide-empty --pixels \
        --caption-order color-place-shape --steps 1500
    python bench/probes/binding_synthetic.py --grid 4 --patch 16 --arm captions+questions --pixels \
        --caption-order color-place-shape --steps 3000 --position added
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

from spatialgen.scenes.vocab import COLORS as PALETTE
from spatialgen.scenes.vocab import SHAPES as SHAPE_NAMES
from spatialgen.scenes.vocab import unit_polygon

COLORS, SHAPES = 10, 8
WORDS = ["<s>", "USER", ":", "Is", "the", "left", "of", "above", "?", "ASSISTANT", "yes", "no", ",", "caption", "</s>"]
WORDS += ["right", "top", "bottom"] + [f"c{i}" for i in range(COLORS)] + [f"s{i}" for i in range(SHAPES)]
ID = {w: i for i, w in enumerate(WORDS)}
FEATURES = COLORS + SHAPES + 3
SIZE, BACKGROUND = 10.0, 245  # --pixels: object size (square root of its area) and background, px


@dataclass(frozen=True)
class Setup:
    """What a scene is: a ``grid`` x ``grid`` token grid, ``objects`` per scene, each written into a
    ``block`` x ``block`` square of cells (as an object on real pixels spans several patches); ``hide``: the
    empty tokens get attention mask 0."""

    grid: int = 4
    objects: int = 2
    block: int = 1
    hide: bool = False
    pixels: bool = False
    aligned: bool = False
    order: str = "color-shape-place"
    patch: int = 8  # --pixels: a token's patch side, px (the canvas is grid x patch px)
    most: int = 0  # --objects LO-HI: each scene draws its count from objects..most (0: always ``objects``)


def scene(r: random.Random, u: Setup) -> tuple[torch.Tensor, list, list, list, list]:
    n, g = (r.randint(u.objects, u.most) if u.most > u.objects else u.objects), u.grid
    colors, shapes = r.sample(range(COLORS), n), r.sample(range(SHAPES), n)
    cells = [(a, b) for a in range(n) for b in range(a + 1, n)]
    edge = SIZE / (g * u.patch) if u.pixels else 0.0  # --pixels: objects whole on the canvas and not touching
    for _ in range(100_000):  # clear of each other and of the image's middle lines, so every word is true
        xs, ys = ([edge + r.random() * (1 - 2 * edge) for _ in range(n)] for _ in "xy")
        if u.aligned:
            xs, ys = ([(int(v * g) + 0.5) / g for v in vs] for vs in (xs, ys))
        apart = all(abs(xs[a] - xs[b]) > 0.1 and abs(ys[a] - ys[b]) > 0.1 for a, b in cells)
        clear = all(math.hypot(xs[a] - xs[b], ys[a] - ys[b]) > 1.5 * edge for a, b in cells)
        if apart and clear and min(abs(v - 0.5) for v in xs + ys) > 0.05:
            break
    else:
        print(f"cannot place {n} objects apart in this scene; ask for fewer --objects", file=sys.stderr)
        raise SystemExit(2)
    if u.pixels:
        return drawn(g, u.patch, colors, shapes, xs, ys), colors, shapes, xs, ys
    f = torch.zeros(g * g, FEATURES)
    for c, s, x, y in zip(colors, shapes, xs, ys, strict=True):
        top, left = (min(g - u.block, max(0, int(v * g) - u.block // 2)) for v in (y, x))
        for row in range(top, top + u.block):
            for col in range(left, left + u.block):
                k = row * g + col
                f[k, c], f[k, COLORS + s] = 1.0, 1.0
                f[k, -3], f[k, -2], f[k, -1] = 2 * x - 1, 2 * y - 1, 1.0
    return f, colors, shapes, xs, ys


def drawn(g: int, patch: int, colors: list, shapes: list, xs: list, ys: list) -> torch.Tensor:
    """The scene drawn (4x supersampled, box-filtered down) and cut into patches: per patch its pixels (the
    background 0, as tiny-init's normalization makes it) and, where it is not empty, its centre's x and y."""
    side, k = g * patch, 4
    im = Image.new("RGB", (side * k, side * k), (BACKGROUND,) * 3)
    draw = ImageDraw.Draw(im)
    for c, s, x, y in zip(colors, shapes, xs, ys, strict=True):
        outline = unit_polygon(SHAPE_NAMES[s])
        draw.polygon(
            [((x * side + px * SIZE) * k, (y * side + py * SIZE) * k) for px, py in outline],
            fill=PALETTE[list(PALETTE)[c]],
        )
    a = (np.asarray(im.resize((side, side), Image.BOX), dtype=np.float32) - BACKGROUND) / 64
    patches = torch.from_numpy(a).reshape(g, patch, g, patch, 3).permute(0, 2, 1, 3, 4).reshape(g * g, -1)
    i = torch.arange(g * g)
    xy = torch.stack([(i % g + 0.5) / g * 2 - 1, (i // g + 0.5) / g * 2 - 1], 1)
    return torch.cat([patches, xy * (patches.abs().sum(1, keepdim=True) > 0)], 1)


def example(r: random.Random, kind: str, u: Setup) -> tuple[torch.Tensor, list[str], list[str]]:
    f, colors, shapes, xs, ys = scene(r, u)
    if kind == "caption":
        answer: list[str] = []
        for n, i in enumerate(r.sample(range(len(colors)), len(colors))):
            side, level = "left" if xs[i] < 0.5 else "right", "top" if ys[i] < 0.5 else "bottom"
            words = [f"c{colors[i]}", f"s{shapes[i]}", side, level]
            if u.order == "color-place-shape":
                words = [words[0], side, level, words[1]]
            answer += [","] * (n > 0) + words
        return f, ["caption"], [*answer, "</s>"]
    a, b = r.sample(range(len(colors)), 2)
    axis = r.randrange(2)
    words = ["left", "of"] if axis == 0 else ["above"]
    question = ["Is", "the", f"c{colors[a]}", f"s{shapes[a]}", *words, "the", f"c{colors[b]}", f"s{shapes[b]}", "?"]
    v = (xs, ys)[axis]
    return f, question, ["yes" if v[a] < v[b] else "no"]


@dataclass(frozen=True)
class Tower:
    """--pixels: the patch embedding's parts, from the bench's bare one (the defaults) toward a CLIP tower and
    LLaVA-1.5's projector: ``position`` "beside" (the patch's x/y next to its embedding, zero where the patch is
    empty), "added" (a learned table, std 0.02, added to every patch, CLIP's) or "sincos" (a fixed 2D sin-cos
    table times ``scale`` added to every patch: a quarter of the width each for sin x, cos x, sin y, cos y, at
    frequencies 100^(-k/24), x and y in cells); ``layernorm`` (CLIP's pre_layrnorm); ``layers`` pre-norm
    transformer layers over the patches (width 96, 4 heads, as tiny-init's ViT); ``projector`` "linear" or
    "mlp" (Linear, GELU, Linear: LLaVA-1.5's)."""

    position: str = "beside"
    scale: float = 1.0
    layernorm: bool = False
    layers: int = 0
    projector: str = "linear"


def sincos(g: int, d: int) -> torch.Tensor:
    """A fixed 2D sin-cos position table for a g x g grid (row-major), d values a cell."""
    q = d // 4
    w = 100.0 ** (-torch.arange(q) / q)
    i = torch.arange(g * g)
    x, y = (i % g).float()[:, None] * w, (i // g).float()[:, None] * w
    return torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], 1)


def _cells(n: int) -> torch.Tensor:
    """The rows of a 16 x 16 table that a g x g grid's n = g * g cells take (row-major)."""
    g = math.isqrt(n)
    i = torch.arange(n)
    return (i // g) * 16 + i % g


class Patches(torch.nn.Module):
    """--pixels: a linear patch embedding (CLIP's, patch x patch x 3 -> 96) and what ``Tower`` adds, then a
    map to the language model's width."""

    def __init__(self, width: int, pixels: int, t: Tower = Tower()) -> None:
        super().__init__()
        self.pixels, self.t, d = pixels, t, 96
        self.embed = torch.nn.Linear(pixels, d)
        if t.position == "added":
            self.table = torch.nn.Parameter(torch.randn(256, d) * 0.02)
        if t.position == "sincos":
            self.register_buffer("table", sincos(16, d) * t.scale)
        self.norm = torch.nn.LayerNorm(d) if t.layernorm else torch.nn.Identity()
        self.mix = torch.nn.Identity()
        if t.layers:
            layer = torch.nn.TransformerEncoderLayer(
                d, 4, 2 * d, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
            )
            self.mix = torch.nn.TransformerEncoder(layer, t.layers, enable_nested_tensor=False)
        k = d + 2 if t.position == "beside" else d
        if t.projector == "mlp":
            self.out = torch.nn.Sequential(torch.nn.Linear(k, width), torch.nn.GELU(), torch.nn.Linear(width, width))
        else:
            self.out = torch.nn.Linear(k, width)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        h = self.embed(f[:, : self.pixels])
        if self.t.position in ("added", "sincos"):
            h = h + (self.table[: len(f)] if self.t.position == "added" else self.table[_cells(len(f))])
        h = self.mix(self.norm(h)[None])[0]
        return self.out(torch.cat([h, f[:, self.pixels :]], 1) if self.t.position == "beside" else h)


class Model(torch.nn.Module):
    def __init__(self, pixels: int = 0, tower: Tower = Tower()) -> None:
        """``pixels``: the values in a patch (--pixels), 0 for clean tokens."""
        from transformers import LlamaConfig, LlamaForCausalLM

        super().__init__()
        cfg = LlamaConfig(vocab_size=len(WORDS), hidden_size=128, intermediate_size=256, num_hidden_layers=3,
                          num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256)  # fmt: skip
        self.lm = LlamaForCausalLM(cfg)
        w = cfg.hidden_size
        self.projector = Patches(w, pixels, tower) if pixels else torch.nn.Linear(FEATURES, w)

    def batch(self, rows: list, u: Setup) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Left-padded embeddings, labels (position t holds token t + 1's id, -100 where no loss) and mask
        (``hide``: 0 at the image tokens that hold no object)."""
        emb = self.lm.get_input_embeddings()
        parts = []
        for f, question, answer in rows:
            pre = [ID["<s>"], ID["USER"], ID[":"]]
            post = [ID[w] for w in [*question, "ASSISTANT", ":", *answer]]
            labels = [-100] * (len(pre) + u.grid**2 + len(question) + 1) + [ID[w] for w in answer] + [-100]
            x = torch.cat([emb(torch.tensor(pre)), self.projector(f), emb(torch.tensor(post))])
            seen = torch.ones(len(x), dtype=torch.long)
            if u.hide:
                seen[len(pre) : len(pre) + u.grid**2] = (f.abs().sum(1) > 0).long()
            parts.append((x, labels, seen))
        width = max(len(x) for x, _, _ in parts)
        xs = torch.zeros(len(rows), width, emb.embedding_dim)
        ys = torch.full((len(rows), width), -100)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, (x, labels, seen) in enumerate(parts):
            xs[i, width - len(x) :], ys[i, width - len(x) :] = x, torch.tensor(labels)
            mask[i, width - len(x) :] = seen
        return xs, ys, mask


KINDS = {
    "colors": [f"c{i}" for i in range(COLORS)],
    "shapes": [f"s{i}" for i in range(SHAPES)],
    "sides": ["left", "right"],
    "levels": ["top", "bottom"],
}


def caption_words(m: Model, u: Setup) -> str:
    """How often each kind of caption word is the model's top token, on 200 held-out captions
    (teacher-forced)."""
    r = random.Random("captions")
    xs, ys, mask = m.batch([example(r, "caption", u) for _ in range(200)], u)
    with torch.no_grad():
        pred = m.lm(inputs_embeds=xs, attention_mask=mask).logits.argmax(-1)
    out = []
    for name, words in KINDS.items():
        at = torch.isin(ys, torch.tensor([ID[w] for w in words]))
        out.append(f"{name} {100 * float((pred[at] == ys[at]).float().mean()):.0f} %")
    return ", ".join(out)


def accuracy(m: Model, u: Setup) -> float:
    r = random.Random("validation")
    xs, ys, mask = m.batch([example(r, "question", u) for _ in range(400)], u)
    with torch.no_grad():
        logits = m.lm(inputs_embeds=xs, attention_mask=mask).logits
    at = (ys != -100).nonzero()
    pick = logits[at[:, 0], at[:, 1]][:, [ID["yes"], ID["no"]]].argmax(1)
    return float((pick == (ys[at[:, 0], at[:, 1]] == ID["no"]).long()).float().mean())


def run(arm: str, steps: int, u: Setup, seed: int, lr: float, tower: Tower = Tower()) -> None:
    torch.manual_seed(seed)
    r = random.Random(seed)
    m = Model(3 * u.patch**2 if u.pixels else 0, tower)
    opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / 20) * 0.5 * (1 + math.cos(math.pi * min(k, steps) / steps))
    )  # spatialgen train's schedule
    start, share = time.perf_counter(), 0.5 if arm == "captions+questions" else 0.0
    for step in range(1, steps + 1):
        rows = [example(r, "caption" if r.random() < share else "question", u) for _ in range(32)]
        xs, ys, mask = m.batch(rows, u)
        logits = m.lm(inputs_embeds=xs, attention_mask=mask).logits
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), ys.flatten(), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 250 == 0 or step == steps:
            print(f"{arm}: step {step}, loss {loss.item():.3f}, questions {100 * accuracy(m, u):.1f} %, "
                  f"{time.perf_counter() - start:.0f} s; caption words {caption_words(m, u)}", flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--grid", type=int, default=4, help="image tokens per side")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--arm", choices=("questions", "captions+questions", "both"), default="both")
    ap.add_argument("--hide-empty", action="store_true", help="image tokens without an object: attention mask 0")
    ap.add_argument("--objects", default="2", help="objects per scene, K or LO-HI (each scene draws one; 2-8)")
    ap.add_argument("--block", type=int, default=1, help="cells per side each object fills")
    ap.add_argument("--pixels", action="store_true", help="image tokens from drawn pixels (see the docstring)")
    ap.add_argument("--aligned", action="store_true", help="objects centred on a token's cell")
    ap.add_argument("--patch", type=int, default=8, help="--pixels: a token's patch side in px")
    ap.add_argument("--caption-order", choices=("color-shape-place", "color-place-shape"), default="color-shape-place")
    ap.add_argument("--position", choices=("beside", "added", "sincos"), default="beside", help="--pixels: see Tower")
    ap.add_argument("--position-scale", type=float, default=1.0, help="--position sincos: the table's scale")
    ap.add_argument("--layernorm", action="store_true", help="--pixels: CLIP's pre_layrnorm after the embedding")
    ap.add_argument("--layers", type=int, default=0, help="--pixels: transformer layers over the patches")
    ap.add_argument("--projector", choices=("linear", "mlp"), default="linear", help="--pixels: see Tower")
    a = ap.parse_args()
    tower = Tower(a.position, a.position_scale, a.layernorm, a.layers, a.projector)
    if tower != Tower() and not a.pixels:
        ap.error("--position, --layernorm, --layers and --projector go with --pixels")
    if a.position_scale != 1.0 and a.position != "sincos":
        ap.error("--position-scale goes with --position sincos")
    if not (math.isfinite(a.position_scale) and a.position_scale > 0):
        ap.error(f"--position-scale {a.position_scale}: a positive number")
    if a.position != "beside" and a.grid > 16:
        ap.error(f"--position {a.position} takes a 16 x 16 grid at most")
    if not 0 <= a.layers <= 12:
        ap.error(f"--layers {a.layers}: 0 to 12")
    if a.block != 1 and a.pixels:
        ap.error("--block is for clean tokens; --pixels draws objects at their size")
    if not a.pixels and (a.aligned or a.patch != 8):
        ap.error("--aligned and --patch go with --pixels")
    if a.pixels and a.grid * a.patch < 48:
        ap.error(
            f"--grid {a.grid} x --patch {a.patch} px is too small a canvas for {SIZE:g} px objects (48 px at least)"
        )
    lo, _, hi = a.objects.partition("-")
    if not (lo.isdigit() and (hi or lo).isdigit() and 2 <= int(lo) <= int(hi or lo) <= 8):
        ap.error(f"--objects {a.objects!r}: K or LO-HI with 2 <= LO <= HI <= 8 (a question names two)")
    torch.set_num_threads(a.threads)
    u = Setup(a.grid, int(lo), a.block, a.hide_empty, a.pixels, a.aligned, a.caption_order, a.patch, int(hi or lo))
    for arm in ("questions", "captions+questions") if a.arm == "both" else (a.arm,):
        run(arm, a.steps, u, a.seed, a.lr, tower)


if __name__ == "__main__":
    main()
