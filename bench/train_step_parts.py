"""Where a tiny-init training step's time goes, on a real training set (``spatialgen train``'s own examples
of a render folder: questions, restated questions and twelve captions a scene), and what caching the epoch's
order saves. The step is timed in alternating blocks with the order reshuffled every step (as it was) and
read from the cache (as it is), side by side in one run; the losses of both are checked equal. Then its parts
alone: the shuffle of all examples, and the batch's padding and stacking.

    spatialgen render --preset easy --config lr.yaml --n 4000 --out data/easy-lr   # lr.yaml as in README
    python bench/train_step_parts.py --data data/easy-lr --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from spatialgen.requests import TrainRequest
from spatialgen.training.train import Trainer, _order, folder_examples, train_spec


def _ms(f, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        f()
    return 1000 * (time.perf_counter() - start) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="a render folder (its train split is used)")
    ap.add_argument("--intervention", action="append", default=None, help="built in (default: pool:4)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20, help="steps per timed block")
    ap.add_argument("--blocks", type=int, default=4, help="timed blocks per arm, alternating")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if min(a.batch_size, a.steps, a.blocks, a.threads) < 1:
        ap.error("--batch-size, --steps, --blocks and --threads are 1 or more")
    if not (Path(a.data) / "manifest.json").is_file():
        ap.error(f"{a.data}: not a render folder (no manifest.json)")
    torch.set_num_threads(a.threads)
    request = TrainRequest(  # spatialgen train's tiny-init, captions and restated questions included
        interventions=a.intervention,
        steps=2 * a.steps * a.blocks + 3,
        batch_size=a.batch_size,
        lr=2e-3,
        tower_steps=1,  # the head exists and the tower is stored, as after the stage (its training not timed)
        loss_average="token",
        threads=a.threads,
    )
    spec = train_spec(request, Path(a.data))
    examples, _ = folder_examples(spec)
    start = time.perf_counter()
    trainers = {}
    for cached in (False, True):
        t = Trainer(spec)
        t.load(examples)
        t.store_tower()
        t.train_step()
        trainers[cached] = t
    n = len(trainers[True].data.ids)
    print(
        f"{n} training examples on {len(trainers[True].data.pixels)} images; two trainers ready in "
        f"{time.perf_counter() - start:.0f} s"
    )
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(a.blocks):
        for cached, t in trainers.items():

            def step(t=t, cached=cached):
                if not cached:
                    _order.cache_clear()
                t.train_step()

            times[cached].append(_ms(step, a.steps))
    same = trainers[False].losses == trainers[True].losses
    before, now = statistics.median(times[False]), statistics.median(times[True])
    shuffle = _ms(lambda: _order.__wrapped__(n, 0, 1), 5)
    t = trainers[True]
    rows = list(_order(n, 0, 0)[: a.batch_size])
    batch = _ms(lambda: t.data.batch(rows, t.dev), 50)
    print(
        f"tiny-init, {', '.join(spec.interventions)}, batch {a.batch_size}, {a.threads} thread(s), "
        f"{a.blocks} x {a.steps} steps per arm, alternating: order reshuffled every step {before:.1f} ms a step, "
        f"cached {now:.1f} ms (median of blocks): {before / now:.2f}x; losses {'identical' if same else 'DIFFERENT'}"
    )
    print(
        f"parts: shuffling {n} examples {shuffle:.1f} ms; padding and stacking a batch {batch:.1f} ms; "
        f"the rest of a step (forward, backward, optimizer) {now - batch:.1f} ms"
    )


if __name__ == "__main__":
    main()
