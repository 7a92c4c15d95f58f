"""What grounding captions teach the real tiny-init (vision tower from scratch), and whether questions follow.

`spatialgen train --model tiny-init` adds grounding captions ("red circle left top, blue square right
bottom"; training/captions.py) because, on clean image tokens, they are what lets the language model find the
object a word names (bench/probes/binding_synthetic.py). This bench measures the same on real pixels: `easy`
scenes with 2-4 objects and left/right + above/below questions, `spatialgen train`'s own Trainer (full
recipe, batch 32, its schedule), and by step:

- the questions' validation accuracy (likelihood, as `eval` scores; the yes/no prior is 50 %);
- on held-out captions, teacher-forced: how often the color word is the model's top token (chance about
  10 %; the first object's color is any of the scene's, so a model that only knows which colors are there
  scores about 1 / objects there), and how often the side word after an object's color (and, in the default
  order, its shape) is the right one of left / right (the object found by its words; chance 50 %).
- the side words broken down by the object's place in the caption and by its distance from the middle line:
  an object far from the middle whose side is wrong was not found by its words (binding), one near it may
  only be hard to place;
- the floor those side words have without any binding: count the objects on each side of the image, take
  away the sides the caption has already said, and name the side most of the rest are on (a tie: half
  right). A model at this floor need not have found a single object by its words.

Arms: ``--captions-per-scene K`` captions of each training scene (each its own seeded object order) beside
the questions; ``--no-questions`` trains on the captions alone; ``--captions-first N`` trains on the captions
alone for N steps and then on both (a curriculum). ``--caption-order color-place-shape`` writes "red left top
circle" (the place right after the color word; bench/probes/binding_synthetic.py --pixels: what binding on drawn
pixels needs there); ``--intervention`` builds one in (``pool:4``: 16 image tokens); ``--patch`` and
``--image-size`` change tiny-init's vision geometry, ``--vision-layers`` its ViT's depth (the image tokens
are the second last hidden state, LLaVA's: with 1, the patch and position embeddings after CLIP's
pre-layernorm, no attention), for this bench's run only; ``--objects`` the scenes' object count.

``--oracle`` takes the vision tower out: the projector's output (after ``pool:K``) is replaced, in training
and scoring, by clean tokens from each example's stored scene: at the cell of the token grid an object's box
centre is in, its color one-hot, shape one-hot, x and y in [-1, 1] and a 1 for "an object here"; zeros
elsewhere (the language side alone, on the real prompts, wordings and data). ``--restate`` adds each
question restated in one wording (training/restate.py, as spatialgen train does for tiny-init);
``--one-wording`` asks every training and validation question only in that wording (a diagnosis: what the
questions are without the generator's balanced wordings).

``--tower-steps N`` first trains the vision tower alone for N steps to name what each 8 px patch shows (a
linear head on the features the projector reads; per patch the color and shape of the object covering over
a quarter of it, or "none", from the stored scene; batch 32 distinct training images), ``--freeze-tower``
then keeps the tower's weights fixed, and ``--predicted-tokens`` replaces the projector's output with that
head's own reading, laid out as the oracle's tokens: per patch its color and shape probabilities times the
chance an object is there, x and y times that chance, and that chance, summed over each cell of the
projector's grid (pixels in, nothing from the scene graph at scoring time).

    python bench/probes/tiny_init_captions.py --captions-per-scene 12 --steps 2000 --threads 1
    python bench/probes/tiny_init_captions.py --captions-per-scene 3 --no-questions --steps 600 --threads 1
    python bench/probes/tiny_init_captions.py --caption-order color-place-shape --patch 16 --steps 3000 --every 500
    python bench/probes/tiny_init_captions.py --caption-order color-place-shape --intervention pool:4 --oracle --restate
    python bench/probes/tiny_init_captions.py --caption-order color-place-shape --intervention pool:4 --restate \
        --tower-steps 400 --freeze-tower --predicted-tokens
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from spatialgen.errors import SpatialgenError
from spatialgen.eval.example import Example
from spatialgen.eval.scoring import forward
from spatialgen.eval.sources import load_source
from spatialgen.generator.folder import iter_rows
from spatialgen.generator.manifest import RunSpec, default_shard_size
from spatialgen.generator.run import render_run
from spatialgen.models import tiny
from spatialgen.scenes.config import load_preset
from spatialgen.scenes.vocab import COLORS, SHAPES
from spatialgen.training.captions import COLUMNS, ORDERS, caption_examples, halves, in_caption_order
from spatialgen.training.restate import inverses, restated
from spatialgen.training.tower import patch_labels
from spatialgen.training.train import Encoded, Trainer, TrainSpec, accuracy, batch_inputs


def render(folder: Path, n: int, objects: tuple[int, int] | None = None) -> None:
    """``n`` `easy` scenes with left/right and above/below questions (``objects``: its object-count range in
    place of the preset's 2-4)."""
    p = load_preset("easy")
    update = {"families": {"left_right": 1.0, "above_below": 1.0}} | ({"objects": objects} if objects else {})
    cfg = type(p.config).model_validate(p.config.model_dump() | update)
    spec = RunSpec(n=n, seed=0, preset="easy", level=p.level, scenes_per_shard=default_shard_size(n), config=cfg)
    render_run(folder, spec, workers=2)


def captions(folder: Path, split: str, k: int, order: str) -> list:
    """``k`` captions of every scene of ``split``, each in the object order of its own seed."""
    rows = list(iter_rows(str(folder), COLUMNS, split))
    out = []
    for seed in range(k):
        out += [e.model_copy(update={"id": f"{e.id}{seed}"}) for e in caption_examples(rows, seed, order=order)]
    return out


class Oracle:
    """--oracle: the projector's output replaced by clean tokens from the scene of each example in the batch
    (``now``: set before each forward pass that is not a training step's)."""

    def __init__(self, t: Trainer, rows: dict[str, dict], examples: list[Example]) -> None:
        self.rows, self.now = rows, []
        t.model.model.multi_modal_projector.register_forward_hook(lambda _m, _i, out: self.tokens(out))
        batch = t.data.batch

        def told(picked: list[int], device) -> dict:
            self.now = [examples[i] for i in picked]
            return batch(picked, device)

        t.data.batch = told

    def tokens(self, like: torch.Tensor) -> torch.Tensor:
        out, g = torch.zeros_like(like), round(like.shape[1] ** 0.5)
        nc, ns = len(COLORS), len(SHAPES)
        for b, ex in enumerate(self.now):
            r = self.rows[ex.id.split("/")[0]]
            for o in r["objects"]:
                x0, y0, x1, y1 = o["bbox"]
                x, y = (x0 + x1) / 2 / r["width"], (y0 + y1) / 2 / r["height"]
                k = min(g - 1, int(y * g)) * g + min(g - 1, int(x * g))
                out[b, k, list(COLORS).index(o["color"])] += 1.0
                out[b, k, nc + list(SHAPES).index(o["shape"])] += 1.0
                out[b, k, nc + ns : nc + ns + 3] += torch.tensor([2 * x - 1, 2 * y - 1, 1.0])
        return out


class Tower:
    """--tower-steps: the vision tower trained alone to name each patch's object, with a linear head."""

    def __init__(self, t: Trainer, rows: dict[str, dict], examples: list[Example], lr: float) -> None:
        self.vt = t.model.model.vision_tower
        scene = {}
        for i, ex in enumerate(examples):
            scene.setdefault(t.data.image[i], ex.id.split("/")[0])
        self.pixels = t.data.pixels
        self.grid = self.vt.config.image_size // self.vt.config.patch_size
        named = [patch_labels(rows[scene[k]], self.grid, list(COLORS), list(SHAPES)) for k in range(len(self.pixels))]
        self.labels = torch.stack(named)
        self.head = torch.nn.Linear(self.vt.config.hidden_size, len(COLORS) + 1 + len(SHAPES) + 1)
        self.opt = torch.optim.AdamW([*self.vt.parameters(), *self.head.parameters()], lr=lr, weight_decay=0.0)
        self.layer = t.vlm.model.config.vision_feature_layer

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.vt(pixels, output_hidden_states=True).hidden_states[self.layer][:, 1:]

    def train(self, steps: int, seed: int = 0) -> None:
        gen, nc = torch.Generator().manual_seed(seed), len(COLORS) + 1
        start = time.perf_counter()
        for step in range(1, steps + 1):
            pick = torch.randint(0, len(self.pixels), (32,), generator=gen)
            z, y = self.head(self.features(self.pixels[pick].float())), self.labels[pick]
            ce = torch.nn.functional.cross_entropy
            loss = ce(z[..., :nc].flatten(0, 1), y[..., 0].flatten())
            loss = loss + ce(z[..., nc:].flatten(0, 1), y[..., 1].flatten())
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            if step % 100 == 0 or step == steps:
                with torch.no_grad():
                    obj, color, shape = y[..., 0] < len(COLORS), z[..., :nc].argmax(-1), z[..., nc:].argmax(-1)
                    print(
                        f"tower step {step}: loss {loss.item():.3f}; of the patches an object covers, color right "
                        f"{100 * (color == y[..., 0])[obj].float().mean():.1f} %, shape "
                        f"{100 * (shape == y[..., 1])[obj].float().mean():.1f} %; empty ones called empty "
                        f"{100 * (color[~obj] == len(COLORS)).float().mean():.1f} % "
                        f"({time.perf_counter() - start:.0f} s)",
                        flush=True,
                    )

    def freeze(self) -> None:
        self.vt.requires_grad_(False)

    def predict_tokens(self, t: Trainer) -> None:
        """The projector's output replaced by the head's reading of the patches it is given."""
        self.head.requires_grad_(False)
        t.model.model.multi_modal_projector.register_forward_hook(lambda _m, i, out: self._tokens(i[0], out))

    def _tokens(self, f: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        nc = len(COLORS)
        z = self.head(f)
        color, shape = z[..., : nc + 1].softmax(-1), z[..., nc + 1 :].softmax(-1)
        here = 1 - color[..., nc:]
        g0, g = self.grid, round(like.shape[1] ** 0.5)
        i = torch.arange(g0 * g0)
        xy = torch.stack([(i % g0 + 0.5) / g0 * 2 - 1, (i // g0 + 0.5) / g0 * 2 - 1], 1).expand(len(f), -1, -1)
        tok = torch.cat([color[..., :nc], shape[..., :-1], xy * here, here], -1)
        tok = tok.reshape(len(f), g0, g0, -1).permute(0, 3, 1, 2)
        tok = torch.nn.functional.adaptive_avg_pool2d(tok, g).permute(0, 2, 3, 1).reshape(len(f), g * g, -1)
        out = torch.zeros_like(like)
        out[..., : tok.shape[-1]] = tok * (g0 // g) ** 2
        return out


def scored(vlm, examples: list[Example], oracle: Oracle | None) -> str:
    """Validation accuracy, in batches the oracle is told about, and apart for the questions worded with a
    relation's inverse (right of, below) and the others: a model that has learned to compare but not yet
    the inverse words is right on the others and wrong on those (50 % overall)."""
    inverse = [e.categories.get("relation") in inverses() for e in examples]
    right = [0.0, 0.0]
    for k in range(0, len(examples), 32):
        for inv in (False, True):
            group = [e for e, i in zip(examples[k : k + 32], inverse[k : k + 32], strict=True) if i == inv]
            if oracle:
                oracle.now = group
            right[inv] += accuracy(vlm, group) * len(group) if group else 0.0
    n = [inverse.count(False), inverse.count(True)]
    pct = [f"{100 * right[i] / n[i]:.1f} %" if n[i] else "-" for i in (0, 1)]
    return f"{100 * sum(right) / max(1, len(examples)):.1f} % (own wording {pct[0]}, inverse {pct[1]})"


BANDS = (0.05, 0.1, 0.2, 0.5)  # an object's distance from the vertical middle line, as a share of the width


def _unbound_side(r: dict, rest: list) -> float:
    """How often the first of ``rest`` (the objects the caption has not placed yet, in its order) gets its
    side right from counts alone: the side most of ``rest`` are on (a tie: half right)."""
    on_left = sum(halves(r, o)[0] == "left" for o in rest)
    if 2 * on_left == len(rest):
        return 0.5
    return float((2 * on_left > len(rest)) == (halves(r, rest[0])[0] == "left"))


def caption_tokens(t: Trainer, held_out: list, rows: list, oracle: Oracle | None) -> tuple[float, float, str]:
    """(color words right, side words right, the side words' breakdown) on held-out captions (``rows``'
    captions for seed 0), teacher-forced. The breakdown tells binding from reading a position: by the
    object's place in the caption (later ones have fewer candidates left) and by its distance from the
    middle line (near it the side is hard to read; far from it a wrong side means the wrong object)."""
    tok = t.vlm.tokenizer
    sides = [tok.convert_tokens_to_ids(w) for w in ("▁left", "▁right")]
    colors = {tok.convert_tokens_to_ids("▁" + c) for c in COLORS}
    color = [0, 0]
    floor = [0.0, 0]
    by_place: dict[int, list[int]] = {}
    by_band: dict[float, list[int]] = {}
    with torch.no_grad():
        for k in range(0, len(held_out), 32):
            if oracle:
                oracle.now = held_out[k : k + 32]
            inputs = batch_inputs(t.vlm, held_out[k : k + 32])
            labels, logits = inputs["labels"], forward(t.vlm, inputs).logits
            for b in range(len(logits)):
                r = rows[k + b]
                order = in_caption_order(r, 0)
                objects = iter(enumerate(order))
                for p in (labels[b] != -100).nonzero()[:, 0].tolist():
                    gold, pred = int(labels[b, p]), logits[b, p - 1]
                    if gold in sides:
                        right = sides[int(pred[sides].argmax())] == gold
                        place, o = next(objects)
                        x0, _, x1, _ = o["bbox"]
                        away = abs((x0 + x1) / 2 - r["width"] / 2) / r["width"]
                        floor[0] += _unbound_side(r, order[place:])
                        floor[1] += 1
                        band = next(v for v in BANDS if away < v or v == BANDS[-1])
                        for key, d in ((place, by_place), (band, by_band)):
                            d.setdefault(key, [0, 0])[0] += right
                            d[key][1] += 1
                    elif gold in colors:
                        color[0] += int(pred.argmax()) == gold
                        color[1] += 1

    def pct(d: dict) -> str:
        return " / ".join(f"{100 * d[k][0] / d[k][1]:.1f}" for k in sorted(d))

    lows = ["0", *(f"{v:g}" for v in BANDS[:-1])]
    bands = ", ".join(f"{lo}-{hi:g}" for lo, hi in zip(lows, BANDS, strict=True))
    detail = (
        f"sides by place in the caption {pct(by_place)} %; by distance from the middle ({bands} of the "
        f"width) {pct(by_band)} %"
    )
    right, asked = (sum(v[i] for v in by_place.values()) for i in (0, 1))
    detail += f"; without binding (the sides not yet said, counted) {100 * floor[0] / max(1, floor[1]):.1f} %"
    return color[0] / max(1, color[1]), right / max(1, asked), detail


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--captions-per-scene", type=int, default=12)
    ap.add_argument("--no-questions", action="store_true")
    ap.add_argument("--captions-first", type=int, default=0, help="steps on the captions alone before both")
    ap.add_argument("--scenes", type=int, default=4000)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--caption-order", choices=ORDERS, default=ORDERS[0])
    ap.add_argument("--intervention", action="append", default=[], help="built in, as spatialgen train's")
    ap.add_argument("--patch", type=int, help="tiny-init's patch side, px (default 8)")
    ap.add_argument("--image-size", type=int, help="tiny-init's input side, px (default 64)")
    ap.add_argument("--vision-layers", type=int, help="tiny-init's ViT layers (default 4; it reads the second last)")
    ap.add_argument("--objects", help="objects a scene, N or LO-HI (default: easy's 2-4)")
    ap.add_argument("--oracle", action="store_true", help="clean image tokens from the scene graph (no tower)")
    ap.add_argument("--tower-steps", type=int, default=0, help="the tower trained alone first (see above)")
    ap.add_argument("--freeze-tower", action="store_true", help="the tower's weights fixed after that")
    ap.add_argument("--predicted-tokens", action="store_true", help="image tokens: the tower head's reading")
    words = ap.add_mutually_exclusive_group()
    words.add_argument("--restate", action="store_true", help="add each question restated in one wording")
    words.add_argument("--one-wording", action="store_true", help="every question only in that wording")
    a = ap.parse_args()
    if a.oracle and (a.captions_first or a.tower_steps):
        ap.error("--oracle goes with neither --captions-first nor --tower-steps")
    if a.tower_steps < 0 or ((a.freeze_tower or a.predicted_tokens) and not a.tower_steps):
        ap.error("--freeze-tower and --predicted-tokens need --tower-steps N (N >= 1)")
    if a.predicted_tokens and not a.freeze_tower:
        ap.error("--predicted-tokens needs --freeze-tower")
    if a.tower_steps and a.captions_first:
        ap.error("--tower-steps and --captions-first do not go together")
    if a.no_questions and (a.restate or a.one_wording):
        ap.error("--restate and --one-wording need the questions")
    objects = None
    if a.objects:
        lo, _, hi = a.objects.partition("-")
        if not (lo.isdigit() and (hi or lo).isdigit() and 2 <= int(lo) <= int(hi or lo) <= 4):
            ap.error(f"--objects {a.objects!r}: need N or LO-HI with 2 <= LO <= HI <= 4 (left/right needs two)")
        objects = (int(lo), int(hi or lo))
    if any(v is not None and v < 1 for v in (a.patch, a.image_size, a.vision_layers)):
        ap.error("--patch, --image-size and --vision-layers are 1 or more")
    vision = tiny.ARCHS["tiny-init"]["vision"]
    new = (("patch_size", a.patch), ("image_size", a.image_size), ("num_hidden_layers", a.vision_layers))
    vision.update({k: v for k, v in new if v})
    if vision["image_size"] % vision["patch_size"]:
        ap.error(f"--image-size {vision['image_size']} is not a multiple of --patch {vision['patch_size']}")
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "easy-lr"
        render(data, a.scenes, objects)
        caps = captions(data, "train", a.captions_per_scene, a.caption_order)
        questions = [] if a.no_questions else load_source(str(data), split="train").examples
        val = [] if a.no_questions else load_source(str(data), split="validation", limit=400).examples
        if a.one_wording:
            questions, val = restated(questions), restated(val)
        elif a.restate:
            questions += restated(questions)
        both = questions + caps
        rows = [r for r in iter_rows(str(data), COLUMNS, "validation") if r["objects"]][:128]
        held_out = caption_examples(rows, 0, order=a.caption_order)
        spec = TrainSpec(
            model="tiny-init",
            data=str(data),
            data_manifest="-",
            steps=a.steps,
            batch_size=32,
            lr=a.lr,
            captions=True,
            interventions=a.intervention,
        )
        try:
            t = Trainer(spec)
        except SpatialgenError as e:  # an --intervention train does not build in
            ap.error(str(e))
        t.load(caps if a.captions_first else both)
        scenes = {r["id"]: r for r in iter_rows(str(data), COLUMNS)} if a.oracle or a.tower_steps else {}
        oracle = Oracle(t, scenes, both) if a.oracle else None
        if a.tower_steps:
            tower = Tower(t, scenes, both, a.lr)
            tower.train(a.tower_steps)
            if a.freeze_tower:
                tower.freeze()
            if a.predicted_tokens:
                tower.predict_tokens(t)
        print(f"{len(caps)} captions, {len(both) - len(caps)} questions; batch 32, lr {a.lr}", flush=True)
        start, losses = time.perf_counter(), []
        while t.step < a.steps:
            if a.captions_first and t.step == a.captions_first:
                t.data, t.per_epoch = Encoded(t.vlm, both), max(1, len(both) // 32)
            losses.append(t.train_step())
            if t.step % a.every == 0 or t.step == a.steps:
                t.model.eval()
                asked = t.step > a.captions_first and val
                q = scored(t.vlm, val, oracle) if asked else "-"
                color, side, detail = caption_tokens(t, held_out, rows, oracle)
                t.model.train()
                recent = losses[-50:]
                print(
                    f"step {t.step}: loss {sum(recent) / len(recent):.3f}, questions {q}, caption colors "
                    f"{100 * color:.1f} %, sides {100 * side:.1f} % ({time.perf_counter() - start:.0f} s); {detail}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
