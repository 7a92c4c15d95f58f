"""The paper's other benchmarks: POPE, MMVP, GQA and VQAv2, each in its released layout, with its official metric.

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
- VQAv2 (GT-Vision-Lab/VQA: README, vqaTools/vqa.py, vqaEvalDemo.py, vqaEvaluation/vqaEval.py): questions
  ``Questions/v2_OpenEnded_mscoco_val2014_questions.json`` = {"info", "task_type", "data_type", "data_subtype":
  "val2014", "license", "questions": [{"image_id", "question", "question_id"}]}; annotations
  ``Annotations/v2_mscoco_val2014_annotations.json`` = {"annotations": [{"question_id", "image_id",
  "question_type", "answer_type" (yes/no, number, other), "answers": 10 x {"answer", "answer_confidence",
  "answer_id"}, "multiple_choice_answer"}]}; images ``COCO_val2014_`` + image id zero-filled to 12 + ``.jpg``.
  lmms-lab/VQAv2 (its dataset card): split validation, columns question_type, multiple_choice_answer, answers
  (list of {answer, answer_confidence, answer_id}), image_id, answer_type, question_id, question, image. The
  metric: vqaEval.py's evaluate() (quoted in vqav2.py's docstring); replies as EvalAI's answer processor
  (LLaVA's m4c_evaluator.py) reads them.
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
from spatialgen.eval.benchmarks.vqav2 import official_score as vqa_score
from spatialgen.eval.benchmarks.vqav2 import reply_answer as vqa_reply
from spatialgen.eval.benchmarks.vqav2 import vqa_accuracy
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


def _answers(*words: str) -> list[dict]:
    return [{"answer": w, "answer_confidence": "yes", "answer_id": k} for k, w in enumerate(words, 1)]


VQA_QUESTIONS = [
    (42001, 42, "How many dogs are there?", "number", "how many", ["2"] * 8 + ["two", "3"], "2"),
    (42002, 42, "Is the dog left of the cat?", "yes/no", "is the", ["yes"] * 3 + ["no"] * 7, "no"),
    (7001, 7, "What is on the table?", "other", "what is", ["a cup"] * 6 + ["cup"] * 4, "cup"),
    (9001, 9, "What color is it?", "other", "what color", ["red"] * 10, "red"),  # image 9 is missing
]


@pytest.fixture()
def vqa(tmp_path) -> Path:
    for image in (42, 7):
        _jpg(tmp_path / "val2014" / f"COCO_val2014_{image:012d}.jpg")
    qs = [{"image_id": i, "question": t, "question_id": q} for q, i, t, *_ in VQA_QUESTIONS]
    qs.append({"image_id": 42, "question": "Unanswered?", "question_id": 42999})  # not in the annotations
    (tmp_path / "Questions").mkdir()
    (tmp_path / "Annotations").mkdir()
    head = {"info": {}, "task_type": "Open-Ended", "data_type": "mscoco", "data_subtype": "val2014", "license": {}}
    (tmp_path / "Questions/v2_OpenEnded_mscoco_val2014_questions.json").write_text(
        json.dumps({**head, "questions": qs})
    )
    anns = [
        {"question_id": q, "image_id": i, "question_type": qt, "answer_type": at, "answers": _answers(*words),
         "multiple_choice_answer": mc}
        for q, i, _, at, qt, words, mc in VQA_QUESTIONS
    ]  # fmt: skip
    (tmp_path / "Annotations/v2_mscoco_val2014_annotations.json").write_text(json.dumps({**head, "annotations": anns}))
    return tmp_path / "Questions/v2_OpenEnded_mscoco_val2014_questions.json"


def test_vqav2_official_files(vqa):
    res = load_source(f"vqav2:{vqa}", images=vqa.parent.parent / "val2014")
    assert res.problems == {"missing image": 1, "no answers": 1}
    ex = res.examples[0]
    assert (ex.id, ex.answer, ex.answer_type, ex.candidates) == ("42001", "2", "open", ["2"])
    assert ex.references == ["2"] * 8 + ["two", "3"]
    assert ex.categories == {"answer_type": "number", "question_type": "how many"}
    assert ex.paper_prompt == "How many dogs are there?\nAnswer the question using a single word or phrase."
    assert ex.images[0].endswith("val2014/COCO_val2014_000000000042.jpg")
    # --images defaults to a folder named for data_subtype beside the questions: none there, so all missing
    assert load_source(f"vqav2:{vqa}").problems["missing image"] == 4


def test_vqav2_test_questions_are_refused_by_name(tmp_path):
    from spatialgen.errors import SpatialgenError

    f = tmp_path / "v2_OpenEnded_mscoco_test-dev2015_questions.json"
    f.write_text(json.dumps({"data_subtype": "test2015", "questions": []}))
    with pytest.raises(SpatialgenError, match=r"no public answers .*EvalAI"):
        load_source(f"vqav2:{f}")
    f = tmp_path / "v2_OpenEnded_mscoco_val2014_questions.json"
    f.write_text(json.dumps({"data_subtype": "val2014", "questions": []}))
    with pytest.raises(SpatialgenError, match=r"v2_mscoco_val2014_annotations.json, are neither beside it"):
        load_source(f"vqav2:{f}")
    f = tmp_path / "questions.json"  # not VQA's name: its annotations could not be found by it
    f.write_text(json.dumps({"data_subtype": "val2014", "questions": []}))
    with pytest.raises(SpatialgenError, match=r"named as VQA names it"):
        load_source(f"vqav2:{f}")


def test_vqav2_lmms_lab_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    img = _jpg(None)
    row = {"question_type": "what is", "multiple_choice_answer": "cup", "answers": _answers(*["cup"] * 10),
           "image_id": 7, "answer_type": "other", "question_id": 7001, "question": "What is on the table?",
           "image": {"bytes": img, "path": None}}  # fmt: skip
    bad = {**row, "question_id": 7002, "answers": []}  # no answers: malformed
    pq.write_table(pa.Table.from_pylist([row, bad]), tmp_path / "validation-00000-of-00001.parquet")
    res = load_source(f"vqav2:{tmp_path / 'validation-00000-of-00001.parquet'}")
    assert res.problems == {"malformed row": 1}
    assert [(e.id, e.answer, e.references) for e in res.examples] == [("7001", "cup", ["cup"] * 10)]


def test_vqa_replies_read_as_evalai_reads_them():
    assert vqa_reply("Two.") == "2"  # lower-cased, the period stripped, the number word a digit
    assert vqa_reply("The dog") == "dog"  # articles go
    assert vqa_reply("1,000") == "1000"  # commas dropped before anything else
    assert vqa_reply("dont know") == "don't know"  # contractions restored
    assert vqa_reply("t-shirt") == "t shirt" and vqa_reply("yes - red") == "yes red"  # a mark beside a space goes
    assert vqa_reply("3.5") == "3.5"  # a period before a digit stays
    assert vqa_reply("somebody'd") == "somebodyd"  # vqaEval.py's table, as it is
    assert vqa_reply("yes\nno") == "yes no"


def test_vqa_accuracy_by_hand():
    # all 10 the same: each left-out answer leaves 9 matches, min(1, 9/3) = 1
    assert vqa_accuracy("2", ["2"] * 10) == 1.0
    # 3 of 10: leaving out a "yes" leaves 2 (2/3), leaving out a "no" leaves 3 (1): (3 * 2/3 + 7) / 10
    assert vqa_accuracy("yes", ["yes"] * 3 + ["no"] * 7) == pytest.approx(0.9)
    assert vqa_accuracy("red", ["red"] * 2 + ["blue"] * 8) == pytest.approx((2 * 1 / 3 + 8 * 2 / 3) / 10)
    assert vqa_accuracy("red", ["red"] + ["blue"] * 9) == pytest.approx(0.3)
    assert vqa_accuracy("green", ["red"] * 10) == 0.0
    # answers that differ are normalized with the reply: "a cup" and "cup" are one answer, 10 of 10
    assert vqa_accuracy("cup", ["a cup"] * 6 + ["cup"] * 4) == 1.0
    # answers all the same are compared as written (vqaEval.py normalizes only when they differ)
    assert vqa_accuracy(vqa_reply("t-shirt"), ["t-shirt"] * 10) == 0.0
    assert vqa_accuracy(vqa_reply("t-shirt"), ["t-shirt"] * 9 + ["shirt"]) == pytest.approx(1.0)


def test_vqav2_generate_scores_the_official_metric(vqa, tmp_path, monkeypatch):
    from spatialgen.api import evaluate
    from spatialgen.eval import runner

    replies = {
        "How many dogs are there?": "Two.",
        "Is the dog left of the cat?": "Yes",
        "What is on the table?": "A cup",
    }
    monkeypatch.setattr(runner, "generate_batch", lambda vlm, batch, cond, n: [replies[e.question] for e in batch])
    evaluate(model="tiny-random", data=[f"vqav2:{vqa}"], images=vqa.parent.parent / "val2014", out=tmp_path / "o",
             mode="generate")  # fmt: skip
    preds = [json.loads(x) for x in (tmp_path / "o/predictions.jsonl").read_text().splitlines()]
    assert {p["id"]: p["references"] for p in preds}["42001"] == ["2"] * 8 + ["two", "3"]
    rows = {r["answer_type"]: r for r in vqa_score([], preds)}
    # "2": 9 of 10 after normalization ("two" -> "2") -> 1.0; "yes": 3 of 10 -> 0.9; "cup": 10 of 10 -> 1.0
    assert rows["number"]["vqa_accuracy"] == 1.0 and rows["yes/no"]["vqa_accuracy"] == pytest.approx(0.9)
    assert rows["all"]["n"] == 3 and rows["all"]["vqa_accuracy"] == pytest.approx(2.9 / 3)
    summary = (tmp_path / "o/summary.md").read_text()
    assert BENCHMARKS["vqav2"].score_title in summary and f"{2.9 / 3:.3f}" in summary


VQA_CASES = [
    ("Two.", ["2"] * 8 + ["two", "3"]),
    ("t-shirt", ["t-shirt"] * 10),
    ("T-Shirt", ["t-shirt"] * 9 + ["shirt"]),
    ("The man's hat", ["man's hat"] * 4 + ["hat"] * 6),
    ("1,000", ["1000"] * 5 + ["1,000"] * 5),
    ("3.5 feet", ["3.5 feet"] * 3 + ["3 feet"] * 7),
    ("dont know", ["don't know"] * 2 + ["dont know"] * 8),
    ("yes - red", ["yes"] * 5 + ["red"] * 5),
    ("a (b) c!", ["a b c"] * 4 + ["b c"] * 6),
    ("none", ["0"] * 3 + ["none"] * 3 + ["zero"] * 4),
    ("", ["yes"] * 10),
    ("left.\nright", ["left right"] * 3 + ["left"] * 7),
]


def test_vqa_accuracy_equals_the_official_code():
    """Run VQA's own vqaEval.py (GT-Vision-Lab/VQA, Python 2: its prints converted by lib2to3, nothing else)
    where SPATIALGEN_VQA_CODE points at a checkout, on replies processed as a submission is."""
    import os

    code = os.environ.get("SPATIALGEN_VQA_CODE")
    if not code:
        pytest.skip("SPATIALGEN_VQA_CODE (a GT-Vision-Lab/VQA checkout) is not set")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lib2to3.refactor import RefactoringTool

    src = (Path(code) / "PythonEvaluationTools/vqaEvaluation/vqaEval.py").read_text().expandtabs(4)
    py3 = str(RefactoringTool(["lib2to3.fixes.fix_print"]).refactor_string(src + "\n", "vqaEval.py"))
    space: dict = {}
    exec(compile(py3, "vqaEval.py", "exec"), space)

    class Set:
        def __init__(self, qa):
            self.qa = qa

        def getQuesIds(self):
            return list(self.qa)

    gts = {
        k: {"answers": _answers(*refs), "question_type": "q", "answer_type": "a"}
        for k, (_, refs) in enumerate(VQA_CASES)
    }
    res = {k: {"answer": vqa_reply(raw)} for k, (raw, _) in enumerate(VQA_CASES)}
    ev = space["VQAEval"](Set(gts), Set(res), n=2)
    ev.evaluate()
    ours = {k: round(100 * vqa_accuracy(vqa_reply(raw), refs), 2) for k, (raw, refs) in enumerate(VQA_CASES)}
    assert ev.evalQA == ours


@pytest.mark.slow
def test_vqa_replies_equal_lmms_evals_processor(lmms_eval_path):
    """lmms-eval's EvalAIAnswerProcessor (the one its vqav2 task and LLaVA's submission script use) reads every
    case's reply as ``reply_answer`` does, and its punctuation/digit rules normalize the answers alike."""
    import os

    script = """
import json, sys
from lmms_eval.tasks._task_utils.vqa_eval_metric import EvalAIAnswerProcessor
p = EvalAIAnswerProcessor()
texts = json.loads(sys.argv[1])
print(json.dumps([[p(t), p.process_digit_article(p.process_punctuation(t))] for t in texts]))
"""
    texts = [raw for raw, _ in VQA_CASES] + [r for _, refs in VQA_CASES for r in refs]
    env = {**os.environ, "PYTHONPATH": str(lmms_eval_path)}
    r = subprocess.run([sys.executable, "-c", script, json.dumps(texts)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    from spatialgen.eval.benchmarks.vqav2 import digits_articles, punctuation

    ours = [[vqa_reply(t), digits_articles(punctuation(t))] for t in texts]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == ours


def test_vqa_files_of_their_real_size_are_within_their_readers_bound(vqa, monkeypatch):
    """VQA's real annotation files are larger than the default bound on one document's values: VQA's README
    gives 214,354 val2014 and 443,757 train2014 questions, 10 answers each; every question counts as many
    values as one of the fixture's (the documented fields), so the VQAv2 reader's own bound must hold them."""
    from spatialgen import untrusted
    from spatialgen.errors import SpatialgenError
    from spatialgen.eval.benchmarks import vqav2

    ann = json.loads((vqa.parent.parent / "Annotations/v2_mscoco_val2014_annotations.json").read_text())
    per_question = len(_walk(ann["annotations"][0]))
    assert per_question == 47
    assert 214_354 * per_question > untrusted.MAX_NODES  # val2014 would be refused by the default bound
    assert 443_757 * per_question + 100 < vqav2.VQA_VALUES
    # the reader uses its bound, not the default: with a default too small for the fixture, it still loads
    monkeypatch.setattr(untrusted, "MAX_NODES", 50)
    with pytest.raises(SpatialgenError, match="more than 50 values"):
        untrusted.read_json(vqa.parent.parent / "Annotations/v2_mscoco_val2014_annotations.json")
    assert len(load_source(f"vqav2:{vqa}", images=vqa.parent.parent / "val2014").examples) == 3


def _walk(v) -> list:
    """Every value of a JSON document, as untrusted.check_shape counts them."""
    out = [v]
    if isinstance(v, dict):
        out += [x for y in v.values() for x in _walk(y)]
    elif isinstance(v, list):
        out += [x for y in v for x in _walk(y)]
    return out


def test_shared_images_are_checked_once_and_counted_per_row(tmp_path, monkeypatch):
    from spatialgen.eval.benchmarks import files
    from spatialgen.eval.example import LoadResult

    _jpg(tmp_path / "a.jpg")
    calls = []
    real = files.image_at
    monkeypatch.setattr(files, "image_at", lambda root, rel, res: calls.append(rel) or real(root, rel, res))
    folder, res = files.Images(tmp_path), LoadResult()
    got = [folder.at(name, res) for name in ("a.jpg", "a.jpg", "gone.jpg", "gone.jpg", "../a.jpg")]
    assert got[:2] == [(tmp_path / "a.jpg").resolve()] * 2 and got[2:] == [None] * 3
    assert calls == ["a.jpg", "gone.jpg", "../a.jpg"]  # each name checked once
    assert res.problems == {"missing image": 2, "malformed row": 1}  # each row counted


def test_vqav2_malformed_annotations_are_counted(tmp_path):
    _jpg(tmp_path / "val2014" / "COCO_val2014_000000000001.jpg")
    qs = [{"image_id": 1, "question": f"Q{q}?", "question_id": q} for q in (1, 2, 3)]
    anns = [
        {"question_id": 1, "answers": _answers(*["yes"] * 10), "multiple_choice_answer": "yes"},
        {"question_id": 2, "answers": _answers(*["yes"] * 11), "multiple_choice_answer": "yes"},  # 11 answers
        {"question_id": "3", "answers": _answers("no"), "multiple_choice_answer": "no"},  # id not an integer
    ]
    (tmp_path / "v2_OpenEnded_mscoco_val2014_questions.json").write_text(json.dumps({"questions": qs}))
    (tmp_path / "v2_mscoco_val2014_annotations.json").write_text(json.dumps({"annotations": anns}))
    res = load_source(f"vqav2:{tmp_path / 'v2_OpenEnded_mscoco_val2014_questions.json'}")
    assert [e.id for e in res.examples] == ["1"]
    assert res.problems == {"malformed row": 2, "no answers": 1}
