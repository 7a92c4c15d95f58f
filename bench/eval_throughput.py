"""Eval throughput: the batched runner's two scoring modes against the reference-style loop of the paper's
code (one question at a time, ``generate`` with use_cache=False), on the same model and examples.

Prints questions/s of each, the ratios, and how often batched greedy generations equal the reference's
(they must be identical in fp32 on the CPU). On a GPU it also prints peak memory.

    python bench/eval_throughput.py                                   # tiny-random, CPU
    python bench/eval_throughput.py --model random:llava-1.5-7b --batch-size 16  # full-size, on a GPU
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch

from spatialgen.eval.models import load_model
from spatialgen.eval.scoring import Condition, generate_batch, reference_generate, score_batch
from spatialgen.eval.sources import load_source
from spatialgen.generator.manifest import RunSpec, default_shard_size
from spatialgen.generator.run import render_run
from spatialgen.scenes.config import load_preset


def examples(n: int):
    p = load_preset("medium")
    out = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    scenes = max(1, n // 4)
    render_run(
        out,
        RunSpec(
            n=scenes,
            seed=0,
            preset="medium",
            level=p.level,
            scenes_per_shard=default_shard_size(scenes),
            config=p.config,
        ),
        workers=1,
    )
    exs = load_source(str(out), limit=n, split="all").examples
    shutil.rmtree(out)
    return exs


def sync(vlm):
    if vlm.device.type == "cuda":
        torch.cuda.synchronize()


def timed(vlm, fn):
    sync(vlm)
    t = time.perf_counter()
    out = fn()
    sync(vlm)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny-random")
    ap.add_argument("--n", type=int, default=128, help="questions")
    ap.add_argument("--ref-n", type=int, default=None, help="questions for the slow reference loop [default: n]")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=8)
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--device", default="auto")
    a = ap.parse_args()
    torch.manual_seed(0)
    vlm = load_model(a.model, a.dtype, a.device)
    exs = examples(a.n)
    ref_exs = exs[: a.ref_n or a.n]
    cond = Condition()
    dev = torch.cuda.get_device_name() if vlm.device.type == "cuda" else platform.processor() or "cpu"
    print(
        f"model {a.model}, {vlm.dtype}, device {vlm.device} ({dev}), torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, {len(exs)} questions, batch {a.batch_size}, "
        f"max_new_tokens {a.max_new_tokens}"
    )
    # Warm-up (kernels, allocator) so no mode pays first-call costs.
    generate_batch(vlm, exs[:2], cond, 2)
    score_batch(vlm, exs[:2], cond)
    if vlm.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    ref, t_ref = timed(vlm, lambda: [reference_generate(vlm, e, cond, a.max_new_tokens) for e in ref_exs])
    batches = [exs[k : k + a.batch_size] for k in range(0, len(exs), a.batch_size)]
    gen, t_gen = timed(vlm, lambda: [g for b in batches for g in generate_batch(vlm, b, cond, a.max_new_tokens)])
    _, t_ll = timed(vlm, lambda: [s for b in batches for s in score_batch(vlm, b, cond)])
    q_ref, q_gen, q_ll = len(ref_exs) / t_ref, len(exs) / t_gen, len(exs) / t_ll
    agree = sum(g == r for g, r in zip(gen, ref, strict=False)) / len(ref)
    print(f"reference loop (one at a time, use_cache=False): {q_ref:.2f} questions/s")
    print(f"batched greedy generation: {q_gen:.2f} questions/s ({q_gen / q_ref:.1f}x)")
    print(f"batched likelihood scoring (cached prefix): {q_ll:.2f} questions/s ({q_ll / q_ref:.1f}x)")
    print(f"generation agreement with the reference: {agree:.1%} of {len(ref)}")
    if vlm.device.type == "cuda":
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
