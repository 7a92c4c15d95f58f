"""Steps/s, examples/s and peak GPU memory of ``spatialgen train`` (the Trainer the CLI runs), after a
warm-up; on a GPU in bf16 mixed precision. Random weights do for timing: ``random:llava-1.5-7b`` builds the
full-size architecture on the device.

    python bench/train_throughput.py                                           # tiny-init, CPU
    python bench/train_throughput.py --model random:llava-1.5-7b --recipe projector --batch-size 8  # GPU
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from eval_throughput import examples

from spatialgen.training.train import Trainer, TrainSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny-init")
    ap.add_argument("--recipe", default="projector")
    ap.add_argument("--intervention", action="append", default=[])
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20, help="timed steps (after 3 warm-up steps)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    a = ap.parse_args()
    spec = TrainSpec(
        model=a.model,
        data="bench",
        data_manifest="-",
        recipe=a.recipe,
        interventions=a.intervention,
        steps=a.steps + 3,
        batch_size=a.batch_size,
        precision=a.precision,
    )
    t0 = time.perf_counter()
    tr = Trainer(spec, a.device)
    t_build = time.perf_counter() - t0
    cuda = tr.dev.type == "cuda"
    exs = examples(a.batch_size * (a.steps + 3))
    t0 = time.perf_counter()
    tr.load(exs)
    t_encode = time.perf_counter() - t0
    trainable = sum(p.numel() for p in tr.params)
    total = sum(p.numel() for p in tr.model.parameters())
    print(
        f"model {a.model}, recipe {a.recipe}, precision {tr.amp or torch.float32}, device {tr.dev}"
        f"{' (' + torch.cuda.get_device_name() + ')' if cuda else ''}, batch {a.batch_size}; "
        f"trainable {trainable / 1e6:.1f}M of {total / 1e6:.0f}M parameters; built in {t_build:.1f} s, "
        f"{len(exs)} examples encoded in {t_encode:.1f} s"
    )
    for _ in range(3):
        tr.train_step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        tr.train_step()
    if cuda:
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    fig = {
        "model": a.model,
        "recipe": a.recipe,
        "batch_size": a.batch_size,
        "steps_per_s": a.steps / wall,
        "examples_per_s": a.steps * a.batch_size / wall,
        "peak_gib": peak,
        "trainable_params": trainable,
        "build_s": t_build,
        "losses": tr.losses,
    }
    mem = f", peak GPU memory {peak:.1f} GiB" if peak is not None else ""
    rate = f"{fig['steps_per_s']:.2f} steps/s ({fig['examples_per_s']:.1f} examples/s)"
    print(f"{rate}{mem}; last loss {tr.losses[-1]:.3f}")
    if a.json:
        Path(a.json).write_text(json.dumps(fig, indent=1) + "\n")


if __name__ == "__main__":
    main()
