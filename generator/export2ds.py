"""Export to the schema of the paper's 2DS set (user074/2DSyntheticDataset): a JSON list of entries
``{entry_id, image_filename, test_category, qa_pairs: [{question, answer, qa_category}], objects}`` and an
images folder. Multiple-choice options are written into the question text, since 2DS has no option field."""

from __future__ import annotations

import json
from pathlib import Path

from spatialgen.errors import SpatialgenError

from .dataset import finished, iter_rows


def _question_text(q: dict) -> str:
    if not q["options"]:
        return q["text"]
    opts = " ".join(f"({chr(65 + i)}) {o}" for i, o in enumerate(q["options"]))
    return f"{q['text']} {opts}"


def export_2ds(out: Path, dest: Path, split: str | None = None) -> int:
    finished(out)
    try:
        (dest / "images").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SpatialgenError(f"cannot write to {dest}: {e.strerror or e}") from None
    entries = []
    for r in iter_rows(out, split=split):
        name = r["image"]["path"]
        (dest / "images" / name).write_bytes(r["image"]["bytes"])
        entries.append(
            {
                "entry_id": r["id"],
                "image_filename": f"images/{name}",
                "test_category": r["difficulty"]["preset"],
                "qa_pairs": [
                    {"question": _question_text(q), "answer": q["answer"], "qa_category": q["family"]}
                    for q in r["questions"]
                ],
                "objects": [
                    {k: o[k] for k in ("id", "shape", "color", "size", "center", "bbox")} for o in r["objects"]
                ],
            }
        )
    (dest / "data.json").write_text(json.dumps(entries, indent=1))
    return len(entries)
