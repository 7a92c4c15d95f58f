"""Statistics computed from a rendered folder's data (not from its config): for the card and the tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from .folder import iter_rows


def dataset_stats(out: Path) -> dict[str, Any]:
    """Counts measured from a rendered folder's rows (families, answers, yes share, per-split), for the card."""
    rows: Counter[str] = Counter()
    families: Counter[str] = Counter()
    relations: Counter[str] = Counter()
    answer_types: Counter[str] = Counter()
    yes_no: Counter[str] = Counter()
    letters: Counter[str] = Counter()
    objects: Counter[int] = Counter()
    hops: Counter[int] = Counter()  # relate steps per question: 0 for single-relation questions
    twins = 0
    for r in iter_rows(out, columns=["split", "objects", "questions", "twin_role"]):
        rows[r["split"]] += 1
        objects[len(r["objects"])] += 1
        twins += r["twin_role"] == "twin"
        for q in r["questions"]:
            families[q["family"]] += 1
            relations[q["program"]["relation"]] += 1
            hops[sum(s["function"] == "relate" for s in q["program"].get("steps") or ())] += 1
            answer_types[q["answer_type"]] += 1
            if q["answer_type"] == "yes_no":
                yes_no[q["answer"]] += 1
            elif q["answer_type"] == "multiple_choice":
                letters[q["answer"]] += 1
    n_q = sum(families.values())
    return {
        "rows": dict(rows),
        "images": sum(rows.values()),
        "questions": n_q,
        "twins": twins,
        "families": dict(families.most_common()),
        "relations": dict(relations.most_common()),
        "answer_types": dict(answer_types.most_common()),
        "yes_no": dict(yes_no),
        "letters": dict(sorted(letters.items())),
        "objects_per_image": dict(sorted(objects.items())),
        "hops": dict(sorted(hops.items())),
        "yes_share": yes_no["yes"] / max(1, sum(yes_no.values())),
    }
