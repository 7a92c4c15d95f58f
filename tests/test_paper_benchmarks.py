"""The paper's other benchmarks: POPE, MMVP and GQA, each in its released layout, with its official metric.

Facts and where they come from (fixtures below are written from these, not copied from the releases):
- POPE question files (RUCAIBox/POPE ``output/coco/coco_pope_{random,popular,adversarial}.json``; the paper's
  harness ships ``evaluation/data/coco_pope_popular.jsonl``): JSON lines {"question_id": 1, "image":
  "COCO_val2014_000000310196.jpg", "text": "Is there a snowboard in the image?", "label": "yes"}; images are
  COCO val2014 files. lmms-lab/POPE (its dataset card): columns id, question_id, question, answer,
  image_source, image (an Image feature), category in {adversarial, popular, random}.
- POPE's metrics (POPE's evaluate.py, the paper's evaluation/grader/grader_pope.py): a reply is "no" if its
  first sentence, commas dropped, has the word "No", "no" or "not", else "yes"; "yes" is the positive class;
  accuracy, precision TP/(TP+FP), recall TP/(TP+FN), F1, yes ratio (TP+FP)/N, per strategy.
- MMVP (MMVP/MMVP, read by the paper's evaluation/eval/eval_mmvp.py): ``Questions.csv`` with header
  "lndex,Question,Options,Correct Answer" (sic), options "(a) ... (b) ...", answers "(a)"/"(b)", images
  ``MMVP Images/<Index>.jpg``; grader_mmvp.py scores rows 1-2, 3-4, ... as pairs, right only if both are.
- GQA questions JSON (GQA's release; the paper ships testdev_balanced_questions.json): an object keyed by
  question id; records with imageId, question, answer, types {structural, semantic, detailed}; the paper's
  grader_gqa.py compares answer.strip().lower().rstrip(".") exactly; its prompt adds "Answer the question
  using a single word or phrase."
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image

from spatialgen.eval.benchmarks import BENCHMARKS
from spatialgen.eval.benchmarks.pope import official_score as pope_score
from spatialgen.eval.benchmarks.pope import reply_answer
from spatialgen.eval.example import open_answer
from spatialgen.eval.sources import load_source


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spatialgen", *args], capture_output=True, text=True)


def _jpg(path: Path, color=(10, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 32), color).save(buf, "JPEG")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buf.getvalue())
    return buf.getvalue()


POPE_LINES = [
    (1, "COCO_val2014_000000000001.jpg", "Is there a snowboard in the image?", "yes"),
    (2, "COCO_val2014_000000000001.jpg", "Is there a dining table in the image?", "no"),
    (3, "COCO_val2014_000000000002.jpg", "Is there a person in the image?", "yes"),
    (4, "COCO_val2014_000000000002.jpg", "Is there a bus in the image?", "no"),
]


@pytest.fixture()
def pope(tmp_path) -> Path:
    for _, img, _, _ in POPE_LINES:
        _jpg(tmp_path / "val2014" / img)
    f = tmp_path / "coco_pope_popular.json"
    f.write_text(
        "".join(json.dumps({"question_id": q, "image": i, "text": t, "label": y}) + "\n" for q, i, t, y in POPE_LINES)
    )
    return f


def test_pope_question_files(pope):
    res = load_source(f"pope:{pope}", images=pope.parent / "val2014")
    assert not res.problems
    ex = res.examples[0]
    assert (ex.id, ex.answer, ex.candidates, ex.answer_type) == ("popular-1", "yes", ["yes", "no"], "yes_no")
    assert ex.categories == {"strategy": "popular"}  # from the file's name
    assert (
        ex.paper_prompt
        == 'Is there a snowboard in the image? \nPlease answer either "yes" or "no". For example, "yes".'
    )
    assert [e.answer for e in res.examples] == ["yes", "no", "yes", "no"]


def test_pope_lmms_lab_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    img = _jpg(None)
    rows = [
        {"id": "0", "question_id": "1", "question": "Is there a cat in the image?", "answer": "yes",
         "image_source": "COCO_val2014_000000000001", "image": {"bytes": img, "path": None}, "category": "adversarial"},
        {"id": "1", "question_id": "1", "question": "Is there a dog in the image?", "answer": "No",
         "image_source": "COCO_val2014_000000000001", "image": {"bytes": img, "path": None}, "category": "random"},
        {"id": "2", "question_id": "2", "question": "Is there a cup?", "answer": "maybe",
         "image_source": "x", "image": {"bytes": img, "path": None}, "category": "random"},
    ]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "test.parquet")
    res = load_source(f"pope:{tmp_path / 'test.parquet'}")
    assert [(e.id, e.answer, e.categories["strategy"]) for e in res.examples] == [
        ("adversarial-1", "yes", "adversarial"),
        ("random-1", "no", "random"),
    ]
    assert res.problems == {"malformed row": 1}  # "maybe" is no POPE label


def test_pope_reads_a_reply_as_pope_does():
    assert reply_answer("No, there is not.") == "no"
    assert reply_answer("There is no dog in the image.") == "no"
    assert reply_answer("Yes. But not a large one.") == "yes"  # only the first sentence counts
    assert reply_answer("I can see a dog") == "yes"  # no "no" word: yes, as POPE reads it
    assert reply_answer("Nope") == "yes"


def test_pope_metrics_by_hand():
    def p(cond, strategy, answer, prediction, raw=None):
        return {"condition": cond, "categories": {"strategy": strategy}, "answer": answer, "prediction": prediction,
                "raw": raw}  # fmt: skip

    preds = [
        p("image", "popular", "yes", "yes"),  # TP
        p("image", "popular", "yes", "yes"),  # TP
        p("image", "popular", "yes", "no"),  # FN
        p("image", "popular", "no", "yes"),  # FP
        p("image", "popular", "no", "no"),  # TN
        p("image", "popular", "no", None, "No, it is not there."),  # TN: an unparsed reply read as POPE does
        p("image", "random", "no", "no"),  # TN only: no positives
    ]
    rows = {r["strategy"]: r for r in pope_score([], preds)}
    pop = rows["popular"]
    # TP 2, FP 1, FN 1, TN 2: precision 2/3, recall 2/3, F1 2/3, accuracy 4/6, yes ratio 3/6
    assert (pop["n"], pop["accuracy"], pop["yes_ratio"]) == (6, pytest.approx(4 / 6), pytest.approx(3 / 6))
    assert (pop["precision"], pop["recall"], pop["f1"]) == (pytest.approx(2 / 3),) * 3
    assert rows["random"]["accuracy"] == 1.0 and rows["random"]["precision"] == 0.0 and rows["random"]["f1"] == 0.0


MMVP_CSV = """lndex,Question,Options,Correct Answer
1,Are the butterfly's wings closer to being open or closed?,(a) Open (b) Closed,(a)
2,Are the butterfly's wings closer to being open or closed?,(a) Open (b) Closed,(b)
3,Is the dog facing left or right from the camera's perspective?,(a) Left (b) Right,(b)
4,Is the dog facing left or right from the camera's perspective?,(a) Left (b) Right,(a)
5,Is there a shadow?,(a) Yes (b) No,(c)
"""


@pytest.fixture()
def mmvp(tmp_path) -> Path:
    for k in range(1, 6):
        _jpg(tmp_path / "MMVP Images" / f"{k}.jpg", (20 * k, 0, 0))
    (tmp_path / "Questions.csv").write_text(MMVP_CSV)
    return tmp_path / "Questions.csv"


def test_mmvp_questions_csv(mmvp):
    res = load_source(f"mmvp:{mmvp}")
    assert res.problems == {"malformed row": 1}  # answer "(c)"
    a, b, c, _ = res.examples
    assert (a.options, a.candidates, a.answer, b.answer, c.answer) == (["Open", "Closed"], ["A", "B"], "A", "B", "B")
    assert [e.categories["pair"] for e in res.examples] == ["0", "0", "1", "1"]
    assert a.paper_prompt == (
        "Are the butterfly's wings closer to being open or closed? Options:\nA. Open\nB. Closed\n"
        "Answer with the option's letter from the given choices directly."
    )


def test_mmvp_pair_accuracy_by_hand():
    score = BENCHMARKS["mmvp"].score

    def p(pair, correct, cond="image"):
        return {"condition": cond, "categories": {"pair": pair}, "correct": correct}

    preds = [p("0", True), p("0", True), p("1", True), p("1", False), p("2", True)]  # pair 2 is incomplete
    assert score([], preds) == [{"condition": "image", "pairs": 2, "both_right": 1, "pair_accuracy": 0.5}]


@pytest.fixture()
def gqa(tmp_path) -> Path:
    for name in ("n1", "n2"):
        _jpg(tmp_path / "images" / f"{name}.jpg")
    qs = {
        "201": {"imageId": "n1", "question": "What color is the table?", "answer": "Brown",
                "types": {"structural": "query", "semantic": "attr", "detailed": "color"}},
        "202": {"imageId": "n2", "question": "Is the cup to the left of the plate?", "answer": "yes",
                "types": {"structural": "verify", "semantic": "rel", "detailed": "relVerify"}},
        "203": {"imageId": "missing", "question": "Is it?", "answer": "no", "types": {}},
    }  # fmt: skip
    (tmp_path / "q.json").write_text(json.dumps(qs))
    return tmp_path / "q.json"


def test_gqa_questions_are_open(gqa):
    res = load_source(f"gqa:{gqa}")
    assert res.problems == {"missing image": 1}
    ex = res.examples[0]
    assert (ex.id, ex.answer, ex.answer_type) == ("201", "brown", "open")
    assert ex.categories == {"structural": "query", "semantic": "attr"}
    assert ex.paper_prompt == "What color is the table?\nAnswer the question using a single word or phrase."
    assert open_answer(" Brown. ") == "brown" and open_answer("The table.") == "the table"


def test_open_questions_need_generate_mode(gqa, tmp_path):
    r = cli("eval", "--model", "tiny-random", "--data", f"gqa:{gqa}", "--out", str(tmp_path / "o"), "-q")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
    assert "gqa asks open questions" in r.stderr and "--mode generate" in r.stderr
    assert not (tmp_path / "o").exists()  # refused before a model was loaded or a folder made


def test_gqa_generate_compares_normalized_replies(gqa, tmp_path, monkeypatch):
    from spatialgen.api import evaluate
    from spatialgen.eval import runner

    replies = {"What color is the table?": " Brown.", "Is the cup to the left of the plate?": "No"}
    monkeypatch.setattr(
        runner, "generate_batch", lambda vlm, batch, cond, n: [replies[e.question] for e in batch]
    )  # the model's replies fixed, so the comparison is what is tested
    evaluate(model="tiny-random", data=[f"gqa:{gqa}"], out=tmp_path / "o", mode="generate")
    preds = {p["id"]: p for p in map(json.loads, (tmp_path / "o/predictions.jsonl").read_text().splitlines())}
    assert (preds["201"]["prediction"], preds["201"]["correct"], preds["201"]["raw"]) == ("brown", True, " Brown.")
    assert (preds["202"]["prediction"], preds["202"]["correct"]) == ("no", False)
    summary = (tmp_path / "o/summary.md").read_text()
    assert "## By structural" in summary and "## By semantic" in summary


@pytest.mark.parametrize("kind", ["pope", "mmvp"])
def test_official_scores_in_the_report(kind, pope, mmvp, tmp_path):
    data = f"pope:{pope}" if kind == "pope" else f"mmvp:{mmvp}"
    extra = ["--images", str(pope.parent / "val2014")] if kind == "pope" else []
    r = cli("eval", "--model", "tiny-random", "--data", data, *extra, "--out", str(tmp_path / "o"), "-q")
    assert r.returncode == 0, r.stderr
    preds = [json.loads(x) for x in (tmp_path / "o/predictions.jsonl").read_text().splitlines()]
    summary = (tmp_path / "o/summary.md").read_text()
    assert BENCHMARKS[kind].score_title in summary
    # the table's figures are the metric recomputed from the stored predictions
    rows = BENCHMARKS[kind].score([], preds)
    assert rows
    col = "f1" if kind == "pope" else "pair_accuracy"
    assert f"{rows[0][col]:.3f}" in summary
