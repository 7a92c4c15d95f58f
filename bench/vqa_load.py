"""Reading VQAv2 at its real size: time and peak memory of ``--data vqav2:...`` on a val2014-sized file.

VQA's val2014 release has 214,354 questions with 10 answers each (VQA's README). This writes questions and
annotations files of that size in VQA's layout (synthetic words, the documented fields; images of 200
distinct COCO ids, one 8 x 8 JPEG each), then loads them as ``eval`` does and prints the wall time, the peak
memory (PSS) of loading, and how many examples came back.

    python bench/vqa_load.py [--questions 214354]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from memory import PeakMemory
from PIL import Image

from spatialgen.eval.sources import load_source


def write(root: Path, n: int) -> Path:
    (root / "Questions").mkdir()
    (root / "Annotations").mkdir()
    (root / "val2014").mkdir()
    for i in range(200):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(root / "val2014" / f"COCO_val2014_{i:012d}.jpg")
    words = ["yes", "no", "2", "red", "a dog", "tennis racket", "t-shirt", "none"]
    qs, anns = [], []
    for q in range(n):
        qs.append({"image_id": q % 200, "question": f"What is item {q} in the picture?", "question_id": q})
        answers = [{"answer": words[(q + k) % 8], "answer_confidence": "yes", "answer_id": k + 1} for k in range(10)]
        anns.append({"question_type": "what is", "multiple_choice_answer": words[q % 8], "answers": answers,
                     "image_id": q % 200, "answer_type": "other", "question_id": q})  # fmt: skip
    head = {"info": {}, "task_type": "Open-Ended", "data_type": "mscoco", "data_subtype": "val2014", "license": {}}
    questions = root / "Questions/v2_OpenEnded_mscoco_val2014_questions.json"
    questions.write_text(json.dumps({**head, "questions": qs}))
    (root / "Annotations/v2_mscoco_val2014_annotations.json").write_text(json.dumps({**head, "annotations": anns}))
    return questions


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=214_354)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-vqa-"))
    try:
        questions = write(root, a.questions)
        mib = (
            questions.stat().st_size + (root / "Annotations/v2_mscoco_val2014_annotations.json").stat().st_size
        ) / 2**20
        print(f"{a.questions:,} questions, files of {mib:.0f} MiB")
        with PeakMemory() as mem:
            t = time.perf_counter()
            res = load_source(f"vqav2:{questions}", images=root / "val2014")
            dt = time.perf_counter() - t
        print(f"loaded {len(res.examples):,} examples in {dt:.1f} s, peak memory {mem.peak_mib:.0f} MiB (PSS)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
