"""When a tiny-init training breaks out: ``spatialgen train``'s own path (the tower stage, captions, restated
questions, the stored tower) with the validation questions scored every ``--every`` steps, so a run shows
the step its questions leave the yes/no prior (50 %), not only where it ends. Nothing is saved.

    spatialgen render --preset easy --config lr.yaml --n 4000 --out data/easy-lr   # lr.yaml as in README
    python bench/probes/train_curve.py --data data/easy-lr --steps 6000 --lr 1e-3 --loss-average example
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from spatialgen.generator.folder import iter_rows
from spatialgen.requests import TrainRequest
from spatialgen.training.captions import COLUMNS
from spatialgen.training.train import Trainer, accuracy, folder_examples, train_spec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="a render folder (trained on train, scored on validation)")
    ap.add_argument("--intervention", action="append", default=None, help="built in (default: pool:4)")
    ap.add_argument("--steps", type=int, default=6000, help="the schedule's length")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--loss-average", choices=["token", "example"], default="example")
    ap.add_argument("--captions-per-scene", type=int, default=12)
    ap.add_argument("--every", type=int, default=1000, help="score the validation questions every N steps")
    ap.add_argument("--validation", type=int, default=400, help="how many validation questions")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if min(a.steps, a.batch_size, a.every, a.validation, a.threads, a.captions_per_scene) < 1 or not a.lr > 0:
        ap.error("--steps, --batch-size, --every, --validation, --threads, --captions-per-scene: 1 or more; --lr > 0")
    if not (Path(a.data) / "manifest.json").is_file():
        ap.error(f"{a.data}: not a render folder (no manifest.json)")
    torch.set_num_threads(a.threads)
    # spatialgen train's tiny-init (pool:4, captions, restated questions, the tower stage), these flags laid over
    asked = {k: v for k, v in vars(a).items() if k in TrainRequest.model_fields}
    request = TrainRequest(**asked, interventions=a.intervention)
    spec = train_spec(request, Path(a.data))
    examples, validation = folder_examples(spec)
    validation = validation[: a.validation]
    start = time.perf_counter()
    t = Trainer(spec)
    t.load(examples)
    t.name_patches(iter_rows(a.data, COLUMNS, "train"))
    t.store_tower()
    print(f"{len(examples)} training examples, {len(validation)} validation questions; ready in "
          f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
    while t.step < a.steps:
        t.train_step()
        if t.step % a.every == 0 or t.step == a.steps:
            window = t.losses[-a.every :]
            acc = accuracy(t.vlm, validation)
            print(f"step {t.step}: loss {sum(window) / len(window):.3f} (mean of the last {len(window)}), "
                  f"validation {100 * acc:.1f} %, {time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
