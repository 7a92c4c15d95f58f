"""Eval throughput: the batched runner's two scoring modes against the reference-style loop of the paper's
code (one question at a time, ``generate`` with use_cache=False), on the same model and examples.

Prints questions/s of each, the ratios, and how often batched greedy generations equal the reference's
(they must be identical in fp32 on the CPU). On a GPU it also prints peak memory. ``--sweep`` measures
questions/s as the batch size doubles, up to the largest that fits; ``--interventions`` the cost of each
intervention per question (likelihood scoring, rounds interleaved so drift hits every condition alike).

    python bench/eval_throughput.py                                   # tiny-random, CPU
    python bench/eval_throughput.py --model random:llava-1.5-7b --batch-size 32 --sweep \
        --interventions norm:paper norm:text-mean layers:12 permute pool:12 --json out.json  # on a GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch

from spatialgen.eval.conditions import Condition
from spatialgen.eval.scoring import generate_batch, reference_generate, score_batch
from spatialgen.eval.sources import load_source
from spatialgen.generator.manifest import RunSpec, default_shard_size
from spatialgen.generator.run import render_run
from spatialgen.models.interventions import applied, parse
from spatialgen.models.loading import load_model
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


def peak_gib(vlm) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if vlm.device.type == "cuda" else None


def reset_peak(vlm) -> None:
    if vlm.device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def sweep(vlm, exs, cond, max_batch: int, max_new_tokens: int) -> list[dict]:
    """Questions/s of both modes as the batch doubles, until it no longer fits (or ``max_batch``)."""
    rows, bs = [], 1
    while bs <= max_batch:
        part = exs[: max(2 * bs, 64)]
        batches = [part[k : k + bs] for k in range(0, len(part), bs)]
        row = {"batch_size": bs, "questions": len(part)}
        try:
            reset_peak(vlm)
            _, t = timed(vlm, lambda b=batches: [s for x in b for s in score_batch(vlm, x, cond)])
            row["likelihood_qps"], row["likelihood_peak_gib"] = len(part) / t, peak_gib(vlm)
            reset_peak(vlm)
            _, t = timed(vlm, lambda b=batches: [g for x in b for g in generate_batch(vlm, x, cond, max_new_tokens)])
            row["greedy_qps"], row["greedy_peak_gib"] = len(part) / t, peak_gib(vlm)
        except torch.OutOfMemoryError:
            row["oom"] = True
            rows.append(row)
            reset_peak(vlm)
            break
        rows.append(row)
        print(
            f"  batch {bs:4d}: likelihood {row['likelihood_qps']:8.2f} q/s, greedy {row['greedy_qps']:8.2f} q/s"
            + (f", peak {row['likelihood_peak_gib']:.1f} / {row['greedy_peak_gib']:.1f} GiB" if peak_gib(vlm) else ""),
            flush=True,
        )
        bs *= 2
    return rows


def intervention_costs(vlm, exs, names: list[str], batch_size: int, rounds: int = 3) -> dict:
    """Seconds per question of likelihood scoring under each condition; the best of ``rounds`` interleaved
    rounds, and the baseline's own spread (a difference smaller than that is noise)."""
    conds = {"none": Condition()} | {n: Condition(name=n, interventions=tuple(parse(n))) for n in names}
    batches = [exs[k : k + batch_size] for k in range(0, len(exs), batch_size)]
    times: dict[str, list[float]] = {n: [] for n in conds}
    for _ in range(rounds):
        for n, c in conds.items():
            with applied(vlm, c):  # the hooks, installed as the runner installs them
                _, t = timed(vlm, lambda c=c: [s for b in batches for s in score_batch(vlm, b, c)])
            times[n].append(t / len(exs))
    base = min(times["none"])
    out = {
        "baseline_s_per_question": base,
        "baseline_spread": (max(times["none"]) - base) / base,
        "overhead": {n: min(ts) / base - 1 for n, ts in times.items() if n != "none"},
    }
    for n, o in out["overhead"].items():
        print(f"  {n:20s} {o:+7.1%} per question")
    print(f"  (baseline {base * 1e3:.2f} ms/question; its spread over {rounds} rounds {out['baseline_spread']:.1%})")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny-random")
    ap.add_argument("--n", type=int, default=128, help="questions")
    ap.add_argument("--ref-n", type=int, default=None, help="questions for the slow reference loop [default: n]")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=8)
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--sweep", action="store_true", help="questions/s as the batch size doubles")
    ap.add_argument("--max-batch", type=int, default=512, help="largest batch size tried by --sweep")
    ap.add_argument("--interventions", nargs="*", default=[], help="conditions whose cost to measure")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    a = ap.parse_args()
    torch.manual_seed(0)
    t0 = time.perf_counter()
    vlm = load_model(a.model, a.dtype, a.device)
    t_load = time.perf_counter() - t0
    exs = examples(max(a.n, 2 * a.max_batch) if a.sweep else a.n)
    sweep_exs, exs = exs, exs[: a.n]
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
    figures = {
        "model": a.model,
        "device": dev,
        "dtype": str(vlm.dtype),
        "torch": torch.__version__,
        "attention": getattr(vlm.model.config, "_attn_implementation", None),
        "load_s": t_load,
        "questions": len(exs),
        "batch_size": a.batch_size,
        "reference_qps": q_ref,
        "greedy_qps": q_gen,
        "likelihood_qps": q_ll,
        "agreement": agree,
        "peak_gib": peak_gib(vlm),
    }
    if vlm.device.type == "cuda":
        print(f"peak GPU memory: {figures['peak_gib']:.1f} GiB")
    if a.sweep:
        print("batch-size sweep:")
        figures["sweep"] = sweep(vlm, sweep_exs, cond, a.max_batch, a.max_new_tokens)
        fits = [r for r in figures["sweep"] if not r.get("oom")]
        if fits:
            best = max(fits, key=lambda r: r["likelihood_qps"])
            print(
                f"largest batch that fits: {fits[-1]['batch_size']}; fastest likelihood at batch "
                f"{best['batch_size']}: {best['likelihood_qps']:.1f} q/s "
                f"({best['likelihood_qps'] / q_ref:.1f}x the reference)"
            )
    if a.interventions:
        print(f"intervention cost (likelihood, batch {a.batch_size}, {len(exs)} questions):")
        figures["interventions"] = intervention_costs(vlm, exs, a.interventions, a.batch_size)
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
