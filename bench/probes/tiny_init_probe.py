"""Where tiny-init's learning stalls: the language side or the vision side?

The simplest image question there is, "What color is the X?" about a one-object `easy` scene (ten colors,
chance 10 %), trained with `spatialgen train`'s own Trainer (full recipe, tiny-init) in four arms on the
same data, order and seed:

- ``as built``: the from-scratch ViT and projector, as `spatialgen train --model tiny-init` runs them (the
  image processor normalizes by the training images' own median and std: a rendered scene's background
  becomes zero);
- ``CLIP normalization``: the same with CLIP's ImageNet mean and std left in place, as before that fix (a
  flat light background then is a large component shared by every patch);
- ``oracle, every token``: the answer color's one-hot (magnitude 1) added to every projected image token,
  so the language model is handed the answer in its image input: an upper bound for the language side;
- ``oracle, one token``: the same one-hot in one image token only (position 37 of 64), as an object
  occupies one or two patches of a real image.

Prints the training loss (answer turn, the end-of-turn token included) every 20 steps and each arm's
validation accuracy. A probe, not a training recipe: the oracle reads the answer from the data.

    python bench/probes/tiny_init_probe.py --steps 200
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from spatialgen.eval.sources import load_source
from spatialgen.generator.manifest import RunSpec, default_shard_size
from spatialgen.generator.run import render_run
from spatialgen.scenes.config import load_preset
from spatialgen.scenes.vocab import COLORS
from spatialgen.training import train as training
from spatialgen.training.train import Trainer, TrainSpec, accuracy


def render(folder: Path, n: int) -> None:
    p = load_preset("easy")
    cfg = p.config.model_copy(update={"objects": (1, 1), "families": {"attribute": 1.0}})
    spec = RunSpec(n=n, seed=0, preset="easy", level=p.level, scenes_per_shard=default_shard_size(n), config=cfg)
    render_run(folder, spec, workers=1)


def color_questions(folder: Path, split: str, limit: int):
    exs = load_source(str(folder), split=split).examples
    return [e for e in exs if e.question.startswith("What color") and e.answer_type == "word"][:limit]


def arm(name: str, train, val, steps: int, lr: float) -> None:
    spec = TrainSpec(model="tiny-init", data="probe", data_manifest="-", steps=steps, batch_size=32, lr=lr)
    t = Trainer(spec)
    fit = training.fit_normalization
    if name == "CLIP normalization":
        training.fit_normalization = lambda vlm, examples: None
    try:
        t.load(train)
    finally:
        training.fit_normalization = fit
    if name.startswith("oracle"):
        colors, target = list(COLORS), {}
        one = name == "oracle, one token"

        def add_answer(_m, _i, out):
            hot = torch.zeros_like(out)
            for r, c in enumerate(target["rows"]):
                hot[r, 37 if one else slice(None), c] = 1.0
            return out + hot

        t.model.model.multi_modal_projector.register_forward_hook(add_answer)
        batch = t.data.batch

        def batch_with_answers(rows, device):
            target["rows"] = [colors.index(train[i].answer) for i in rows]
            return batch(rows, device)

        t.data.batch = batch_with_answers
    start, line = time.perf_counter(), []
    while t.step < steps:
        loss = t.train_step()
        if t.step % 20 == 0 or t.step == steps:
            line.append(f"{t.step}:{loss:.3f}")
    secs = time.perf_counter() - start
    print(f"{name:22s} loss by step {' '.join(line)}")
    tail = f"{secs:.0f} s"
    if not name.startswith("oracle"):  # an oracle arm reads the answer from the data: no validation figure for it
        t.model.eval()
        tail += f"; validation accuracy {accuracy(t.vlm, val):.3f} ({len(val)} questions)"
    print(f"{'':22s} {tail}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--scenes", type=int, default=20000)
    ap.add_argument("--questions", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        render(Path(tmp) / "one", a.scenes)
        train = color_questions(Path(tmp) / "one", "train", a.questions)
        val = color_questions(Path(tmp) / "one", "validation", 300)
        print(
            f"{len(train)} training questions, {len(val)} validation; batch 32, lr {a.lr}, {a.steps} steps", flush=True
        )
        for name in ("as built", "CLIP normalization", "oracle, every token", "oracle, one token"):
            arm(name, train, val, a.steps, a.lr)


if __name__ == "__main__":
    main()
