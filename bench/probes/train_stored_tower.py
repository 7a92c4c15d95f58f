"""What storing the fixed tower's hidden states saves a tiny-init training step (``spatialgen train`` with its
tower stage: after the stage the tower is fixed, so its hidden states of each training image are computed
once and a step reads them). Two Trainers on the same examples, one running the tower in every step and one
reading the store, timed in alternating blocks of steps (side by side in one run); the losses of both are
checked equal.

    python bench/probes/train_stored_tower.py --threads 1
    python bench/probes/train_stored_tower.py --threads 2 --intervention pool:4 --blocks 6
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for its eval_throughput helpers
from eval_throughput import examples

from spatialgen.training.train import Trainer, TrainSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--intervention", action="append", default=None, help="built in (default: pool:4)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=25, help="steps per timed block")
    ap.add_argument("--blocks", type=int, default=4, help="timed blocks per trainer, alternating")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if min(a.batch_size, a.steps, a.blocks, a.threads) < 1:
        ap.error("--batch-size, --steps, --blocks and --threads are 1 or more")
    torch.set_num_threads(a.threads)
    spec = TrainSpec(
        model="tiny-init",
        data="bench",
        data_manifest="-",
        interventions=a.intervention or ["pool:4"],
        steps=a.steps * a.blocks + 3,
        batch_size=a.batch_size,
        lr=2e-3,
        tower_steps=1,
    )
    exs = examples(a.batch_size * 40)
    trainers = {}
    for store in (False, True):
        t = Trainer(spec)
        t.load(exs)
        if store:
            start = time.perf_counter()
            t.store_tower()
            took = time.perf_counter() - start
            print(f"stored the tower's hidden states of {len(t.data.pixels)} images in {took:.2f} s")
        for _ in range(3):
            t.train_step()
        trainers[store] = t
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(a.blocks):
        for store, t in trainers.items():
            start = time.perf_counter()
            for _ in range(a.steps):
                t.train_step()
            times[store].append((time.perf_counter() - start) / a.steps)
    same = trainers[False].losses == trainers[True].losses
    close = all(abs(x - y) <= 1e-5 * abs(x) for x, y in zip(trainers[False].losses, trainers[True].losses, strict=True))
    run, stored = statistics.median(times[False]), statistics.median(times[True])
    print(
        f"tiny-init, {', '.join(spec.interventions)}, batch {a.batch_size}, {a.threads} thread(s), "
        f"{a.blocks} x {a.steps} steps each, alternating: tower run {1000 * run:.1f} ms a step, stored "
        f"{1000 * stored:.1f} ms a step (median of blocks): {run / stored:.2f}x; losses "
        f"{'identical' if same else 'equal to 1e-5' if close else 'DIFFERENT'}"
    )


if __name__ == "__main__":
    main()
