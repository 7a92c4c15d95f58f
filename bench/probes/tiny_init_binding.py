"""Which step of a spatial question tiny-init learns on the CPU, one task at a time.

`easy` left/right questions stay at the yes/no prior (README, "Training"). A spatial question chains steps:
find the object a word names, read its position, compare two positions. Each task below isolates some of
them, on the same renders (`easy` scenes with one or two objects), trained with `spatialgen train`'s own
Trainer (tiny-init, full recipe, batch 32) and scored on held-out scenes by likelihood, as `eval` scores:

- ``side``: one object, "Is the red circle on the left side of the image?" (read one position; chance 50 %);
- ``named-side``: two objects of different colors on opposite halves, "Is the cyan object on the left side
  of the image?" (find the object a word names, then read its position; chance 50 %);
- ``leftmost-color``: two objects of different colors, "What color is the leftmost object?" (compare two
  positions, read a color; no word to bind; chance 10 %);
- ``named-left-of``: two objects of different colors, "Is the red object to the left of the orange object?"
  (all three steps, named by color only; chance 50 %);
- ``caption+named-left-of``: the same, with every training scene also captioned ("Describe the image." ->
  "red circle left top, orange square right bottom", objects in random order), LLaVA stage 1's alignment
  signal on every word.

Questions are built here from the stored scene graph (object colors and centers), not drawn by the
generator: this is a probe of the model, not a dataset.

``--oracle`` takes the vision tower out of the question: the projector's output is replaced by clean
tokens built from the scene graph (at each object's patch of the 8 x 8 grid: its color one-hot, its x in
[-1, 1] and a 1 for "an object is here"; zeros elsewhere), in training and in scoring alike. A task that
stays at chance with oracle tokens is not learned by the language model, whatever the vision tower does.

    python bench/probes/tiny_init_binding.py --task named-side --steps 600 --threads 1
    python bench/probes/tiny_init_binding.py --task named-side --oracle --steps 600 --threads 1
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import torch

from spatialgen.eval.example import Example
from spatialgen.generator.folder import iter_rows
from spatialgen.generator.manifest import RunSpec, default_shard_size
from spatialgen.generator.run import render_run
from spatialgen.scenes.config import load_preset
from spatialgen.scenes.vocab import COLORS
from spatialgen.training.train import Trainer, TrainSpec, accuracy

TASKS = ("side", "named-side", "leftmost-color", "named-left-of", "caption+named-left-of")


def render(folder: Path, n: int, objects: int) -> None:
    p = load_preset("easy")
    fams = {"left_right": 1.0} if objects > 1 else {"attribute": 1.0}
    cfg = p.config.model_copy(update={"objects": (objects, objects), "families": fams})
    spec = RunSpec(n=n, seed=0, preset="easy", level=p.level, scenes_per_shard=default_shard_size(n), config=cfg)
    render_run(folder, spec, workers=1)


def _example(row: dict, tag: str, question: str, answer: str) -> Example:
    candidates = ["yes", "no"] if answer in ("yes", "no") else list(COLORS)
    kind = "yes_no" if answer in ("yes", "no") else "word"
    if tag == "c":  # a caption: trained on, never scored
        candidates, kind = [answer], "word"
    image = row["image"]["bytes"]
    return Example(
        id=f"{row['id']}/{tag}",
        source="probe",
        images=[image],
        question=question,
        candidates=candidates,
        answer=answer,
        answer_type=kind,
    )


def examples(task: str, folder: Path, split: str, limit: int) -> list[Example]:
    out: list[Example] = []
    rnd = random.Random(split)
    for r in iter_rows(folder, ["id", "image", "objects", "width"], split):
        obs, half = r["objects"], r["width"] / 2
        x = [o["center"][0] for o in obs]
        if task == "side":
            if abs(x[0] - half) < 20:
                continue
            o = obs[0]
            q = f"Is the {o['color']} {o['shape']} on the left side of the image?"
            out.append(_example(r, "q", q, "yes" if x[0] < half else "no"))
        elif obs[0]["color"] == obs[1]["color"]:
            continue
        elif task == "named-side":
            if min(abs(v - half) for v in x) < 30 or (x[0] < half) == (x[1] < half):
                continue  # opposite halves only: a model that ignores the named word is at chance
            k = rnd.randrange(2)
            q = f"Is the {obs[k]['color']} object on the left side of the image?"
            out.append(_example(r, "q", q, "yes" if x[k] < half else "no"))
        elif task == "leftmost-color":
            if abs(x[0] - x[1]) < 40:
                continue
            out.append(_example(r, "q", "What color is the leftmost object?", obs[0 if x[0] < x[1] else 1]["color"]))
        else:
            if task.startswith("caption") and split == "train":
                shuffled = rnd.sample(obs, len(obs))
                caption = ", ".join(
                    f"{o['color']} {o['shape']} {'left' if o['center'][0] < half else 'right'} "
                    f"{'top' if o['center'][1] < half else 'bottom'}"
                    for o in shuffled
                )
                out.append(_example(r, "c", "Describe the image.", caption))
            if abs(x[0] - x[1]) < 40:
                continue
            a, b = (0, 1) if rnd.random() < 0.5 else (1, 0)
            q = f"Is the {obs[a]['color']} object to the left of the {obs[b]['color']} object?"
            out.append(_example(r, "q", q, "yes" if x[a] < x[b] else "no"))
        if len(out) >= limit:
            break
    return out


def oracle_tokens(rows: dict[str, dict], examples: list[Example], like: torch.Tensor) -> torch.Tensor:
    """Clean image tokens for each example's scene (see the module docstring), shaped like the projector's."""
    out = torch.zeros_like(like)
    grid = round(like.shape[1] ** 0.5)
    for b, ex in enumerate(examples):
        r = rows[ex.id.split("/")[0]]
        for o in r["objects"]:
            x, y = (v / r["width"] for v in o["center"])
            k = min(grid - 1, int(y * grid)) * grid + min(grid - 1, int(x * grid))
            out[b, k, list(COLORS).index(o["color"])] = 1.0
            out[b, k, len(COLORS)] = 2 * x - 1
            out[b, k, len(COLORS) + 1] = 1.0
    return out


def use_oracle(t: Trainer, folder: Path, train: list[Example]) -> dict:
    """Replace the projector's output by oracle tokens; returns the hook's state (set ``examples`` before
    scoring a batch outside training)."""
    rows = {r["id"]: r for r in iter_rows(folder, ["id", "objects", "width"])}
    state: dict = {"examples": []}
    t.model.model.multi_modal_projector.register_forward_hook(
        lambda _m, _i, out: oracle_tokens(rows, state["examples"], out)
    )
    batch = t.data.batch

    def batch_with_examples(picked, device):
        state["examples"] = [train[i] for i in picked]
        return batch(picked, device)

    t.data.batch = batch_with_examples
    return state


def validate(t: Trainer, val: list[Example], oracle: dict | None) -> float:
    if oracle is None:
        return accuracy(t.vlm, val)
    right = 0.0
    for k in range(0, len(val), 16):  # scored in the batches the hook is told about
        oracle["examples"] = val[k : k + 16]
        right += accuracy(t.vlm, val[k : k + 16], batch_size=16) * len(oracle["examples"])
    return right / len(val)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=TASKS, default="named-side")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--scenes", type=int, default=8000)
    ap.add_argument("--questions", type=int, default=6000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--oracle", action="store_true", help="clean image tokens from the scene graph (no vision tower)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "scenes"
        render(folder, a.scenes, 1 if a.task == "side" else 2)
        train = examples(a.task, folder, "train", a.questions)
        val = [e for e in examples(a.task, folder, "validation", 300) if not e.id.endswith("/c")]
        tokens = "oracle image tokens" if a.oracle else "the vision tower"
        print(f"{a.task} ({tokens}): {len(train)} training examples, {len(val)} validation; batch 32, lr {a.lr}")
        print(f"e.g. {val[0].question} -> {val[0].answer}", flush=True)
        t = Trainer(
            TrainSpec(model="tiny-init", data="probe", data_manifest="-", steps=a.steps, batch_size=32, lr=a.lr)
        )
        t.load(train)
        oracle = use_oracle(t, folder, train) if a.oracle else None
        start, losses = time.perf_counter(), []
        while t.step < a.steps:
            losses.append(t.train_step())
            if t.step % 200 == 0 or t.step == a.steps:
                t.model.eval()
                mean = sum(losses[-50:]) / len(losses[-50:])
                acc = validate(t, val, oracle)
                print(
                    f"step {t.step}: loss (last 50) {mean:.3f}, validation {100 * acc:.1f} %, "
                    f"{time.perf_counter() - start:.0f} s",
                    flush=True,
                )
                t.model.train()


if __name__ == "__main__":
    main()
