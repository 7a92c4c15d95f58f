"""VQAv2 (Goyal et al. 2017): open questions about COCO images, each with 10 human answers; its official score
is the VQA accuracy, computed as the VQA evaluation code computes it (GT-Vision-Lab/VQA, vqaEval.py).

Two layouts. VQA's own files: the questions ``v2_OpenEnded_mscoco_<subtype>_questions.json`` (an object with
``data_subtype`` and ``questions``: image_id, question, question_id) and, beside them or in ``../Annotations``,
the annotations ``v2_mscoco_<subtype>_annotations.json`` (``annotations``: question_id, question_type,
answer_type, ``answers`` [{answer, answer_confidence, answer_id}] x 10, multiple_choice_answer); images are
``COCO_<subtype>_<image_id in 12 digits>.jpg`` in ``--images`` (default: a ``<subtype>`` folder beside the
questions). Or lmms-lab/VQAv2's parquet (its validation split: the same fields, the image inside). The test
splits have no public answers (the paper scores test-dev on the EvalAI server): refused here, by name.

The metric, per question: the reply is read as EvalAI reads a submission (``reply_answer``: what LLaVA's
convert_vqav2_for_submission.py and lmms-eval's vqav2 task submit); then, as vqaEval.py does, when the 10
answers are not all the same, the answers and the reply go through the punctuation and digit/article rules,
and the score is the mean over the 10 answers of min(1, matches among the other 9 / 3). Open questions:
``eval --mode generate`` only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBytes, StrictInt

from spatialgen.errors import SpatialgenError
from spatialgen.untrusted import shown

from ..example import Example, LoadResult, open_answer
from ..prompts import INSTRUCTIONS
from .files import ImageCell, Images, Row, Text, image_rows, read_json, typed
from .spec import Benchmark

# vqaEval.py's tables as it defines them, its "somebody'd" -> "somebodyd" included: the metric is the code.
# Words are lower-cased before the lookup, so the capitalized keys (Im, Ive, Id've) never apply there either.
_CONTRACTIONS = dict(
    item.split("=", 1)
    for item in """
'ow'sat='ow's'at 'ows'at='ow's'at I'dve=I'd've Id've=I'd've Im=I'm Ive=I've aint=ain't arent=aren't
cant=can't couldn'tve=couldn't've couldnt=couldn't couldnt've=couldn't've couldve=could've
didnt=didn't doesnt=doesn't dont=don't hadn'tve=hadn't've hadnt=hadn't hadnt've=hadn't've
hasnt=hasn't havent=haven't he'dve=he'd've hed=he'd hed've=he'd've hes=he's howd=how'd howll=how'll
hows=how's isnt=isn't it'dve=it'd've itd=it'd itd've=it'd've itll=it'll let's=let's maam=ma'am
mightn'tve=mightn't've mightnt=mightn't mightnt've=mightn't've mightve=might've mustnt=mustn't
mustve=must've neednt=needn't notve=not've oclock=o'clock oughtnt=oughtn't ow's'at='ow's'at
shant=shan't she'dve=she'd've she's=she's shed've=she'd've shouldn'tve=shouldn't've
shouldnt=shouldn't shouldnt've=shouldn't've shouldve=should've somebody'd=somebodyd
somebody'dve=somebody'd've somebodyd've=somebody'd've somebodyll=somebody'll somebodys=somebody's
someone'dve=someone'd've someoned=someone'd someoned've=someone'd've someonell=someone'll
someones=someone's something'dve=something'd've somethingd=something'd somethingd've=something'd've
somethingll=something'll thats=that's there'dve=there'd've thered=there'd thered've=there'd've
therere=there're theres=there's they'dve=they'd've theyd=they'd theyd've=they'd've theyll=they'll
theyre=they're theyve=they've twas='twas wasnt=wasn't we'dve=we'd've wed've=we'd've werent=weren't
weve=we've whatll=what'll whatre=what're whats=what's whatve=what've whens=when's whered=where'd
wheres=where's whereve=where've who'dve=who'd've whod=who'd whod've=who'd've wholl=who'll whos=who's
whove=who've whyll=why'll whyre=why're whys=why's wont=won't wouldn'tve=wouldn't've wouldnt=wouldn't
wouldnt've=wouldn't've wouldve=would've y'all'dve=y'all'd've y'alld've=y'all'd've y'allll=y'all'll
yall=y'all yall'd've=y'all'd've yall'll=y'all'll you'dve=you'd've youd=you'd youd've=you'd've
youll=you'll youre=you're youve=you've
""".split()  # noqa: SIM905 (a table reads better as text)
)
_NUMBERS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5"}
_NUMBERS |= {"six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
_ARTICLES = ("a", "an", "the")
_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")  # as written there: in effect, a period not before a digit
_COMMA = re.compile(r"(\d)(,)(\d)")
# vqaEval.py calls periodStrip.sub("", text, re.UNICODE): the flag lands in sub's count, so at most 32 go.
_PERIOD_COUNT = int(re.UNICODE)
_TEST = re.compile(r"test(-dev)?20\d\d")
# VQA's annotation files hold more values than untrusted.MAX_NODES allows one document: 47 a question as
# check_shape counts them (its dict, 6 fields, 10 answers of a dict and 3 fields), about 10 M in val2014's
# (214,354 questions) and 21 M in train2014's (443,757; VQA's README). Its own readers allow this many.
VQA_VALUES = 25_000_000


def punctuation(text: str) -> str:
    """vqaEval.py's processPunctuation: a mark next to a space (or any mark, in a text with a digit,digit) is
    dropped, any other becomes a space; then periods not before a digit go."""
    out = text
    drop = bool(_COMMA.search(text))
    for p in _PUNCT:
        out = out.replace(p, "" if drop or p + " " in text or " " + p in text else " ")
    return _PERIOD.sub("", out, count=_PERIOD_COUNT)


def digits_articles(text: str) -> str:
    """vqaEval.py's processDigitArticle: lower-cased words, number words as digits, articles dropped,
    contractions restored ("dont" -> "don't")."""
    words = [_NUMBERS.get(w, w) for w in text.lower().split()]
    return " ".join(_CONTRACTIONS.get(w, w) for w in words if w not in _ARTICLES)


def _clean(text: str) -> str:
    return text.replace("\n", " ").replace("\t", " ").strip()


def reply_answer(raw: str) -> str:
    """A reply as EvalAI's answer processor writes it into a submission (mmf's EvalAIAnswerProcessor, which
    LLaVA's m4c_evaluator.py and lmms-eval's vqa_eval_metric.py carry): lower-cased, "," and "?" dropped,
    "'s" split off, then the punctuation and digit/article rules."""
    text = raw.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()
    return digits_articles(punctuation(_clean(text)))


def vqa_accuracy(answer: str, references: list[str]) -> float:
    """vqaEval.py's accuracy of one (processed) answer against a question's human answers: if they are not all
    the same, both sides through the punctuation and digit/article rules; then the mean, over each reference
    left out in turn, of min(1, how many of the others equal the answer / 3)."""
    refs = [_clean(r) for r in references]
    ans = _clean(answer)
    if len(set(refs)) > 1:
        refs = [digits_articles(punctuation(r)) for r in refs]
        ans = digits_articles(punctuation(ans))
    if not refs:
        return 0.0
    hits = sum(r == ans for r in refs)
    # leaving out reference i leaves hits - [refs[i] == ans] matches among the others
    return sum(min(1.0, (hits - (r == ans)) / 3) for r in refs) / len(refs)


Id = Annotated[StrictInt, Field(ge=0, lt=10**15)]  # VQA's ids are integers (lmms-lab: int64)


class Answer(BaseModel):
    answer: Annotated[str, Field(max_length=1000)]


class Question(Row):
    """One entry of a questions file's ``questions``."""

    question_id: Id
    image_id: Id
    question: Text


class Annotation(Row):
    """One entry of an annotations file's ``annotations``: the 10 human answers and the most common one."""

    question_id: Id
    answers: Annotated[list[Answer], Field(min_length=1, max_length=10)]
    multiple_choice_answer: Text
    answer_type: str = ""
    question_type: str = ""


class LmmsRow(Annotation):
    """One row of lmms-lab/VQAv2 (its dataset card): the annotation's fields, the question, the image."""

    image_id: Id
    question: Text
    image: ImageCell | StrictBytes


def _example(q: Question | LmmsRow, a: Annotation, image: bytes | str) -> Example:
    answer = open_answer(a.multiple_choice_answer)
    return Example(
        id=str(q.question_id),
        source="vqav2",
        images=[image],
        question=q.question,
        candidates=[answer],
        answer=answer,
        answer_type="open",
        categories={"answer_type": a.answer_type, "question_type": a.question_type},
        references=[x.answer for x in a.answers],
        # LLaVA-1.5's short-answer prompt for VQAv2, as the paper's harness asks it (llava_vqav2_*.jsonl text)
        paper_prompt=f"{q.question}\n{INSTRUCTIONS['open']}",
    )


def annotations_of(questions: Path) -> Path:
    """Where VQA's layout keeps a questions file's annotations: v2_OpenEnded_mscoco_val2014_questions.json ->
    v2_mscoco_val2014_annotations.json, beside it or in ../Annotations."""
    if not questions.name.endswith("_questions.json"):
        raise SpatialgenError(
            f"{shown(questions)}: expected VQA's questions file, named as VQA names it "
            "(v2_OpenEnded_mscoco_val2014_questions.json), or lmms-lab/VQAv2's .parquet"
        )
    name = questions.name.replace("_OpenEnded_", "_").replace("_questions.json", "_annotations.json")
    for folder in (questions.parent, questions.parent.parent / "Annotations"):
        if (folder / name).is_file():
            return folder / name
    if _TEST.search(questions.name):
        raise SpatialgenError(
            f"{shown(questions)}: VQAv2's test questions have no public answers (score them on the EvalAI "
            "server); use the val2014 questions and annotations"
        )
    raise SpatialgenError(f"{shown(questions)}: its answers, {name}, are neither beside it nor in ../Annotations")


def _entries(path: Path, key: str) -> tuple[dict, list]:
    data = read_json(path, max_nodes=VQA_VALUES)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise SpatialgenError(f"{shown(path)}: expected VQA's {key} file (an object with a '{key}' list)")
    return data, data[key]


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """VQAv2 questions with their 10 answers each (as ``references``), from either layout."""
    res = LoadResult()
    if path.suffix == ".parquet":
        for row, data in image_rows(path, LmmsRow, res):
            if not res.add(_example(row, row, data), limit):
                break
        return res
    data, questions = _entries(path, "questions")
    subtype = data.get("data_subtype", "val2014")
    if not isinstance(subtype, str) or not re.fullmatch(r"[A-Za-z0-9-]{1,32}", subtype):
        raise SpatialgenError(f"{shown(path)}: its data_subtype is not a COCO split name")
    ann_path = annotations_of(path)
    # Indexed raw, validated when a question asks for one: a --limit run validates what it uses.
    answers: dict[int, tuple[int, Any]] = {}
    for k, raw in enumerate(_entries(ann_path, "annotations")[1]):
        qid = raw.get("question_id") if isinstance(raw, dict) else None
        if isinstance(qid, int) and not isinstance(qid, bool):
            answers[qid] = (k, raw)
        else:
            res.note("malformed row", f"{shown(ann_path)} annotation {k}: no integer question_id")
    folder = Images(images or path.parent / subtype)
    for k, raw in enumerate(questions):
        q = typed(Question, raw, f"{path} question {k}", res)
        if q is None:
            continue
        if q.question_id not in answers:
            res.note("no answers", f"question {q.question_id} is not in {shown(ann_path.name)}")
            continue
        n, found = answers[q.question_id]
        a = typed(Annotation, found, f"{ann_path} annotation {n}", res)
        if a is None:
            continue
        img = folder.at(f"COCO_{subtype}_{q.image_id:012d}.jpg", res)
        if img is None:
            continue
        if not res.add(_example(q, a, str(img)), limit):
            break
    return res


def official_score(acc: list[dict[str, Any]], preds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """VQA accuracy per condition, overall and per answer type (yes/no, number, other), from each stored raw
    reply and the question's stored answers."""
    cells: dict[tuple[str, str], list[float]] = {}
    for p in preds:
        if not p.get("references"):
            continue
        score = vqa_accuracy(reply_answer(p.get("raw") or p.get("prediction") or ""), p["references"])
        for kind in ("all", p["categories"].get("answer_type") or "?"):
            cells.setdefault((p["condition"], kind), []).append(score)
    return [
        {"condition": c, "answer_type": t, "n": len(v), "vqa_accuracy": sum(v) / len(v)}
        for (c, t), v in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1] != "all", kv[0][1]))
    ]


BENCHMARK = Benchmark(
    kind="vqav2",
    layout="VQAv2 v2_OpenEnded_mscoco_val2014_questions.json (annotations beside it or in ../Annotations; "
    "--images: COCO val2014), or lmms-lab/VQAv2 .parquet",
    load=load,
    images=True,
    groups=("answer_type",),
    score_title="VQAv2 (VQA accuracy over the 10 human answers, as vqaEval.py computes it)",
    score_columns=("condition", "answer_type", "n", "vqa_accuracy"),
    score=official_score,
    row=Question,
)
