"""Summaries of predictions.jsonl: accuracy per source, split, family, relation and difficulty with 95 %
Wilson intervals, twin consistency, paired exact McNemar tests between conditions, and the benchmarks' own
aggregate scores (CV-Bench's combined score; 2DS by test_category)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

from .benchmarks import BENCHMARKS
from .stats import mcnemar_exact, wilson

# Category keys accuracy is broken down by: the generated sets' own, then each benchmark's declared ones.
GROUP_KEYS = tuple(
    dict.fromkeys(
        (
            "split",
            "family",
            "relation",
            "difficulty",
            "answer_type",
            *(g for b in BENCHMARKS.values() for g in b.groups),
        )
    )
)


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """Every prediction once: a line repeated for the same (source, id, condition) counts once."""
    seen, out = set(), []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            p = json.loads(line)
            key = (p["source"], p["id"], p["condition"])
            if key not in seen:
                seen.add(key)
                out.append(p)
    return out


def accuracy_rows(preds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Accuracy with Wilson intervals per condition and source, overall and per category value."""
    groups: dict[tuple[str, str, str, str], list[bool]] = defaultdict(list)
    for p in preds:
        groups[(p["condition"], p["source"], "all", "all")].append(p["correct"])
        for key in GROUP_KEYS:
            if key in p["categories"]:
                groups[(p["condition"], p["source"], key, p["categories"][key])].append(p["correct"])
    rows = []
    for (cond, src, key, val), hits in sorted(groups.items()):
        k, n = sum(hits), len(hits)
        lo, hi = wilson(k, n)
        rows.append(
            {
                "condition": cond,
                "source": src,
                "group": key,
                "value": val,
                "n": n,
                "correct": k,
                "accuracy": k / n,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    return rows


def judged_rows(preds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Judge-free and judged accuracy side by side, per condition and source, where a judge ruled."""
    cells: dict[tuple[str, str, str], list[tuple[bool, bool]]] = defaultdict(list)
    for p in preds:
        if "judged_correct" in p:
            judge = p["judge"]["method"] + (f" ({p['judge']['model']})" if p["judge"].get("model") else "")
            cells[(p["condition"], p["source"], judge)].append((p["correct"], p["judged_correct"]))
    rows = []
    for (cond, src, judge), pairs in sorted(cells.items()):
        n = len(pairs)
        free, ruled = sum(a for a, _ in pairs), sum(b for _, b in pairs)
        rows.append(
            {
                "condition": cond,
                "source": src,
                "judge": judge,
                "n": n,
                "judge_free": free / n,
                "judged": ruled / n,
                "judged_ci_low": wilson(ruled, n)[0],
                "judged_ci_high": wilson(ruled, n)[1],
            }
        )
    return rows


def twin_rows(preds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Twin consistency per condition: the share of twin pairs answered right on both images."""
    pairs: dict[tuple[str, str], dict[str, bool]] = defaultdict(dict)
    for p in preds:
        if p.get("twin_id") and p.get("probe"):
            pairs[(p["condition"], p["twin_id"])][p["twin_role"]] = p["correct"]
    by_cond: dict[str, list[bool]] = defaultdict(list)
    for (cond, _), roles in pairs.items():
        if len(roles) == 2:
            by_cond[cond].append(all(roles.values()))
    out = []
    for cond, both in sorted(by_cond.items()):
        lo, hi = wilson(sum(both), len(both))
        out.append(
            {
                "condition": cond,
                "pairs": len(both),
                "both_right": sum(both),
                "consistency": sum(both) / len(both),
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    return out


def mcnemar_rows(preds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exact McNemar tests between every two conditions on the examples both answered."""
    by: dict[str, dict[str, bool]] = defaultdict(dict)
    for p in preds:
        by[p["condition"]][p["id"]] = p["correct"]
    out = []
    for a, b in combinations(sorted(by), 2):
        common = by[a].keys() & by[b].keys()
        only_a = sum(1 for i in common if by[a][i] and not by[b][i])
        only_b = sum(1 for i in common if by[b][i] and not by[a][i])
        out.append(
            {
                "a": a,
                "b": b,
                "n": len(common),
                "acc_a": sum(by[a][i] for i in common) / max(1, len(common)),
                "acc_b": sum(by[b][i] for i in common) / max(1, len(common)),
                "only_a_right": only_a,
                "only_b_right": only_b,
                "p_value": mcnemar_exact(only_a, only_b),
            }
        )
    return out


def _md_table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def write_summary(out: Path, header: dict[str, Any], problems: dict[str, dict[str, int]] | None = None) -> str:
    """Write ``summary.md`` and ``summary.csv`` from ``predictions.jsonl``; returns the markdown."""
    preds = read_predictions(out / "predictions.jsonl")
    acc, twins, tests = accuracy_rows(preds), twin_rows(preds), mcnemar_rows(preds)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(acc[0]) if acc else ["condition"])
    w.writeheader()
    w.writerows(acc)
    (out / "summary.csv").write_text(buf.getvalue())
    cols = ["condition", "source", "value", "n", "correct", "accuracy", "ci_low", "ci_high"]
    sampled = header.get("decode") == "sample"
    how = (
        "highest log-likelihood candidate"
        if header["mode"] == "likelihood"
        else (f"sampled at temperature {header['temperature']} (seed {header['seed']})" if sampled else "greedy")
        + " generation, strict answer normalization"
        + (f"; judged by {header['judge']}" if header.get("judge", "none") != "none" else "")
    )
    parts = [
        f"# Evaluation of {header['model']}",
        "",
        f"Data: {', '.join(header['data'])} (generated data: split {header.get('split', 'test')}). "
        f"Scoring: **{header['mode']}** ({how}). Prompt: {header.get('prompt', 'default')}; "
        f"images: {header.get('image_mode', 'crop')}. Intervals: 95 % Wilson.",
        "",
        "## Overall",
        "",
        _md_table([r for r in acc if r["group"] == "all"], cols),
    ]
    for key in GROUP_KEYS:
        rows = [r for r in acc if r["group"] == key]
        if rows:
            parts += ["", f"## By {key}", "", _md_table(rows, cols)]
    for kind, b in BENCHMARKS.items():  # official scores a benchmark declares (CV-Bench's, POPE's, MMVP's)
        scored = b.score(acc, [p for p in preds if p["source"] == kind]) if b.score else []
        if scored:
            parts += ["", f"## {b.score_title}", "", _md_table(scored, list(b.score_columns))]
    judged = judged_rows(preds)
    if judged:
        cols_j = ["condition", "source", "judge", "n", "judge_free", "judged", "judged_ci_low", "judged_ci_high"]
        parts += [
            "",
            "## Judged replies (judge-free strict reading beside the judge's decision)",
            "",
            _md_table(judged, cols_j),
        ]
    if twins:
        parts += [
            "",
            "## Twin consistency (both twins of a minimal pair right)",
            "",
            _md_table(twins, ["condition", "pairs", "both_right", "consistency", "ci_low", "ci_high"]),
        ]
    if tests:
        parts += [
            "",
            "## Paired comparisons (exact McNemar)",
            "",
            _md_table(tests, ["a", "b", "n", "acc_a", "acc_b", "only_a_right", "only_b_right", "p_value"]),
        ]
    if problems and any(problems.values()):
        parts += ["", "## Rows not used", ""] + [
            f"- {src}: " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())) for src, c in problems.items() if c
        ]
    text = "\n".join(parts) + "\n"
    (out / "summary.md").write_text(text)
    return text
