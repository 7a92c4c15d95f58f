"""Running an evaluation: every example under every condition, in batches, appended to predictions.jsonl.

Killed mid-run, the same command resumes: finished (example, condition) pairs are read back, a torn last
line is cut off, and only what is missing runs. Nothing is sampled unless asked (``--decode sample``, seeded
per batch), so every number is reproducible.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from spatialgen import __version__
from spatialgen.errors import SpatialgenError
from spatialgen.models.loading import VLM

from .conditions import Condition
from .example import Example
from .judges import Judge
from .scoring import generate_batch, reply_answer, score_batch

PREDICTIONS = "predictions.jsonl"
RUN = "run.json"


class EvalSpec(BaseModel):
    """What decides the numbers; a results folder holds exactly one."""

    model: str
    data: list[str]
    split: str = "test"
    mode: str
    decode: str = "greedy"
    temperature: float = 0.2  # sample: the sampling temperature
    seed: int = 0  # sample: what every batch's draw is derived from
    judge: str = "none"  # rule | llm: a decision recorded beside every judge-free score
    judge_model: str | None = None
    judge_temperature: float = 0.0
    conditions: list[str]
    limit: int | None
    dtype: str
    max_new_tokens: int
    image_mode: str = "crop"
    prompt: str = "default"
    batch_size: int = 8  # padding to the batch's longest prompt changes a score's last bits
    threads: int = 1  # torch's CPU threads on the CPU: a sum split across them rounds by the split
    version: str = __version__


def eval_spec(request: Any, conditions: list[str], image_mode: str) -> EvalSpec:
    """The one place an eval request (spatialgen/requests.py EvalRequest) becomes the spec that decides the
    numbers, for the API and studies alike; ``image_mode`` is the loaded model's (its own when not asked)."""
    asked = {"model", "data", "split", "mode", "limit", "dtype", "max_new_tokens", "prompt", "batch_size", "threads"}
    asked |= {"decode", "temperature", "seed", "judge", "judge_model", "judge_temperature"}
    return EvalSpec(**request.model_dump(include=asked), conditions=conditions, image_mode=image_mode)


def _read_done(path: Path) -> set[tuple[str, str]]:
    """(source/id, condition) pairs already written. A torn last line (a killed run) is cut off; a damaged
    line elsewhere is a one-line error, never guessed around."""
    if not path.exists():
        return set()
    raw = path.read_bytes()
    cut = raw.rfind(b"\n") + 1
    if cut != len(raw):  # a torn last line from a killed run
        with open(path, "r+b") as f:
            f.truncate(cut)
    done = set()
    for k, line in enumerate(raw[:cut].splitlines(), 1):
        try:
            r = json.loads(line)
            done.add((f"{r['source']}/{r['id']}", r["condition"]))
        except (ValueError, KeyError, TypeError):
            raise SpatialgenError(
                f"{path} line {k} is damaged; delete that line (its example is evaluated again) and re-run"
            ) from None
    return done


def holds(out: Path, spec: BaseModel, name: str, what: str) -> bool:
    """Whether folder ``out`` already holds the work ``spec`` describes (its ``name`` file equals it: resume,
    True), is free for it (False), or holds something else (one line). Writes nothing. Shared by every
    command whose output folder is defined by a spec: an evaluation, a training."""
    path = out / name
    if path.exists():
        try:
            old = type(spec).model_validate_json(path.read_text())
        except (OSError, ValueError):
            raise SpatialgenError(f"{path} is damaged; use another --out") from None
        if old != spec:
            diff = [k for k in type(spec).model_fields if getattr(old, k) != getattr(spec, k)]
            raise SpatialgenError(f"{out} holds a different {what} ({', '.join(diff)} differ); use another --out")
        return True
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SpatialgenError(f"{out} is not empty and holds no spatialgen {what}; use another --out")
    return False


def check_resumable(out: Path, spec: EvalSpec) -> bool:
    """Whether ``out`` already holds this evaluation (True), is free for it (False), or belongs to another."""
    return holds(out, spec, RUN, "evaluation")


def prepare(out: Path, spec: EvalSpec) -> set[tuple[str, str]]:
    """Claim ``out`` for ``spec`` (run.json) and return the (example, condition) pairs already done."""
    if check_resumable(out, spec):
        return _read_done(out / PREDICTIONS)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / RUN).write_text(spec.model_dump_json(indent=1) + "\n")
    except OSError as e:
        raise SpatialgenError(f"cannot write to {out}: {e.strerror or e}") from None
    return set()


@contextmanager
def claimed(out: Path, spec: EvalSpec) -> Iterator[set[tuple[str, str]]]:
    """``prepare`` under the folder's lock, held for the block: a second evaluation into ``out`` at the
    same time is refused instead of interleaving its lines."""
    from spatialgen.lock import folder_lock

    check_resumable(out, spec)  # refuse before creating anything
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SpatialgenError(f"cannot write to {out}: {e.strerror or e}") from None
    with folder_lock(out):
        yield prepare(out, spec)


def _batches(items: list[Example], size: int) -> Iterator[list[Example]]:
    """Fixed batches of the whole example list, whatever is already done: an example is always computed
    in the same company, so a resumed run writes the same bytes as an uninterrupted one (padding changes
    the floating-point path). Similar lengths go together: less padding."""
    order = sorted(items, key=lambda e: (len(e.images), len(e.question) + len(e.context or ""), e.id))
    for k in range(0, len(order), size):
        yield order[k : k + size]


def record(
    ex: Example, cond: Condition, prediction: str | None, scores: dict[str, float] | None, raw: str | None
) -> dict[str, Any]:
    """One prediction as the JSON line ``predictions.jsonl`` keeps (everything a report re-derives from)."""
    rec = {
        "id": ex.id,
        "source": ex.source,
        "condition": cond.name,
        "answer": ex.answer,
        "prediction": prediction,
        "correct": prediction == ex.answer,
        "scores": scores,
        "raw": raw,
        "categories": ex.categories,
        "twin_id": ex.twin_id,
        "twin_role": ex.twin_role,
        "probe": ex.probe,
    }
    if ex.references:  # only where a benchmark has them: every other record keeps its bytes
        rec["references"] = ex.references
    return rec


def check_mode(examples: list[Example], mode: str, flag: str = "--mode") -> None:
    """Open questions (a word or phrase: GQA, VQAv2) have no candidates to score: only generation answers them."""
    captioned = sorted({e.source for e in examples if e.answer_type == "caption"})
    if captioned:
        raise SpatialgenError(f"{', '.join(captioned)} asks no questions (captioned images): use it with diagnose")
    open_ = sorted({e.source for e in examples if e.answer_type == "open"})
    if open_ and mode == "likelihood":
        raise SpatialgenError(
            f"{', '.join(open_)} asks open questions (a word or phrase; no candidates to score): use {flag} generate"
        )


def _replies(vlm: VLM, batch: list[Example], cond: Condition, spec: EvalSpec) -> list[str]:
    """Decoded replies: greedy, or sampled with a seed drawn from (seed, condition, the batch's first
    example), so a batch draws the same tokens in any run, resumed or not."""
    if spec.decode != "sample":
        return generate_batch(vlm, batch, cond, spec.max_new_tokens)
    from spatialgen.scenes.rng import derive_seed

    sample = (spec.temperature, derive_seed("sample", spec.seed, cond.name, batch[0].key))
    return generate_batch(vlm, batch, cond, spec.max_new_tokens, sample=sample)


def judged(rec: dict[str, Any], ex: Example, text: str, judge: Judge | None) -> dict[str, Any]:
    """A generate-mode record with the judge's decision beside its judge-free one."""
    if judge is not None:
        rec["judge"] = judge(ex.question, ex.answer, ex.answer_type, ex.candidates, text)
        rec["judged_correct"] = rec["judge"]["correct"]
    return rec


def run(
    vlm: VLM,
    examples: list[Example],
    conditions: list[Condition],
    out: Path,
    spec: EvalSpec,
    batch_size: int,
    done: set[tuple[str, str]],
    on_progress: Callable[[int], None] = lambda k: None,
    judge: Judge | None = None,
) -> int:
    """Evaluate what is not done yet, each condition with its interventions hooked in for its duration;
    returns the number of new predictions."""
    from spatialgen.models.interventions import applied

    mode = spec.mode
    check_mode(examples, mode)
    new = 0
    with open(out / PREDICTIONS, "a", encoding="utf-8") as f:
        for cond in conditions:
            if all((e.key, cond.name) in done for e in examples):
                continue
            with applied(vlm, cond):
                for batch in _batches(examples, batch_size):
                    if all((e.key, cond.name) in done for e in batch):
                        continue
                    lines = []
                    if mode == "likelihood":
                        for ex, sc in zip(batch, score_batch(vlm, batch, cond), strict=True):
                            best = max(range(len(sc)), key=lambda j: (sc[j], -j))
                            lines.append(
                                record(ex, cond, ex.candidates[best], dict(zip(ex.candidates, sc, strict=True)), None)
                            )
                    else:
                        for ex, text in zip(batch, _replies(vlm, batch, cond, spec), strict=True):
                            lines.append(judged(record(ex, cond, reply_answer(ex, text), None, text), ex, text, judge))
                    lines = [r for r in lines if (f"{r['source']}/{r['id']}", cond.name) not in done]
                    done.update((f"{r['source']}/{r['id']}", cond.name) for r in lines)
                    f.write("".join(json.dumps(r, sort_keys=True) + "\n" for r in lines))
                    f.flush()
                    os.fsync(f.fileno())
                    new += len(lines)
                    on_progress(len(lines))
    return new


def evaluate_into(
    out: Path,
    spec: EvalSpec,
    examples: list[Example],
    conditions: list[Condition],
    model: Callable[[], VLM],
    batch_size: int,
    problems: dict[str, dict[str, int]] | None = None,
    on_start: Callable[[int, int], None] = lambda total, done: None,
    on_progress: Callable[[int], None] = lambda k: None,
    judge: Judge | None = None,
) -> str:
    """One evaluation into its results folder, as ``spatialgen eval`` and every study cell run it: claim
    ``out`` for ``spec`` (resuming what it holds), evaluate what is missing with the model ``model()``
    returns (called only then: a finished folder loads nothing), write ``summary.md``; returns its text."""
    from .report import write_summary

    with claimed(out, spec) as done:
        on_start(len(examples) * len(conditions), len(done))
        if any((e.key, c.name) not in done for e in examples for c in conditions):
            run(model(), examples, conditions, out, spec, batch_size, done, on_progress, judge)
        return write_summary(out, spec.model_dump(), problems)
