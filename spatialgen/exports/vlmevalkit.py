"""Export to a VLMEvalKit dataset TSV, which VLMEvalKit evaluates as a custom multiple-choice set.

What VLMEvalKit reads (facts from open-compass/VLMEvalKit: vlmeval/dataset/__init__.py ``build_dataset``,
image_base.py ``ImageBaseDataset``, image_mcq.py ``ImageMCQDataset.build_prompt``, smp/file.py ``load``):
a dataset named NAME that it does not ship is read from ``$LMUData/NAME.tsv`` with ``pd.read_csv(sep="\\t")``;
one with a ``question`` column and ``A`` and ``B`` columns and an ``image`` column becomes a
``CustomMCQDataset``. Rows have an ``index``; ``image`` holds the base64 of the image file, or, to save space,
the ``index`` of an earlier row that holds it (a value of at most 64 characters is read as such a
reference). Options are the columns named A, B, C, ... that are not empty; ``answer`` is the right letter;
``category`` and ``l2-category`` (and ``split``) are the groups its accuracy report breaks down by.

Every spatialgen question is a multiple choice there: its options when it has them, else its answer domain
(yes/no questions: A yes, B no; counts: the numbers it could be; attribute queries: the vocabulary). One TSV
per split, ``DEST/<name>_<split>.tsv``; category is the question family, l2-category its answer type.
"""

from __future__ import annotations

import base64
import csv
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spatialgen.generator.folder import iter_rows

from .dest import safe_id

LETTERS = string.ascii_uppercase  # VLMEvalKit reads option columns A..Z


def options(q: dict[str, Any]) -> tuple[list[str], str] | None:
    """A question's options and its answer's letter; None if it has more choices than there are letters."""
    opts = list(q["options"]) if q["options"] else list(q["candidates"])
    if not opts or len(opts) > len(LETTERS):
        return None
    # multiple choice: the answer is already a letter of q["candidates"]; otherwise one of the candidates
    k = list(q["candidates"]).index(q["answer"]) if q["options"] else opts.index(q["answer"])
    return opts, LETTERS[k]


def write(out: Path, dest: Path, splits: list[str], name: str, on_row: Callable[[], None]) -> dict[str, Any]:
    """One TSV per split under ``dest``, streamed (images are not held in memory); returns counts."""
    written, left_out, files = 0, 0, []
    for split in splits:
        # The option columns come first in the header: one pass over the questions alone finds how many.
        used = 2
        for r in iter_rows(out, columns=["questions"], split=split):
            used = max([used] + [len(o[0]) for q in r["questions"] if (o := options(q))])
        header = ["index", "image", "question", *LETTERS[:used], "answer", "category", "l2-category"]
        path, index = dest / f"{name}_{split}.tsv", 0
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, [*header, "split", "id", "qid"], delimiter="\t", lineterminator="\n", restval="")
            w.writeheader()
            for r in iter_rows(out, split=split):
                rid, first = safe_id(r["id"]), None
                for q in r["questions"]:
                    opt = options(q)
                    if opt is None:
                        left_out += 1
                        continue
                    opts, letter = opt
                    if first is None:  # the row's first question carries the image; the rest point at it
                        first, image = index, base64.b64encode(r["image"]["bytes"]).decode()
                    else:
                        image = str(first)
                    w.writerow(
                        {
                            "index": index,
                            "image": image,
                            "question": q["text"],
                            **dict(zip(LETTERS, opts, strict=False)),
                            "answer": letter,
                            "category": q["family"],
                            "l2-category": q["answer_type"],
                            "split": split,
                            "id": rid,
                            "qid": q["qid"],
                        }
                    )
                    index += 1
                on_row()
        written += index
        files.append(path.name)
    return {"questions": written, "left_out": left_out, "files": files}
