"""The utils module of the lmms-eval task that ``spatialgen export --format lmms-eval`` writes (copied there as
``utils.py``; it imports nothing of spatialgen, so the task runs wherever lmms-eval does).

lmms-eval's task schema (EvolvingLMMs-Lab/lmms-eval, lmms_eval/api/task.py ``TaskConfig`` and the shipped
tasks such as tasks/pope): ``process_docs`` receives each split as a ``datasets.Dataset`` and returns the docs;
``doc_to_visual(doc)`` returns a list of PIL images; ``doc_to_text(doc, lmms_eval_specific_kwargs)`` the
prompt; ``process_results(doc, results)`` gets the model's replies and returns ``{metric: value}``, and each
metric's ``aggregation`` reduces those values over the docs.

A spatialgen row is an image with several questions: ``process_docs`` makes one doc per question. The prompt
is ``spatialgen eval``'s default one (the question, options as "A. x" lines, an answer instruction), and a
reply is read as spatialgen's rule judge reads it: the first yes/no, option letter, number or word.
"""

from __future__ import annotations

import io
import re
from typing import Any

INSTRUCTIONS = {
    "yes_no": "Answer with yes or no.",
    "multiple_choice": "Answer with the option's letter.",
    "number": "Answer with a number.",
    "word": "Answer with one word.",
}
ANSWER_TYPES = tuple(INSTRUCTIONS)
_WORD = re.compile(r"[A-Za-z]+|-?\d+")


def spatialgen_process_docs(dataset: Any) -> Any:
    """One doc per question: image (undecoded until asked for), question, options, answer, family."""
    from datasets import Image

    rows = dataset.cast_column("image", Image(decode=False))
    keep = [c for c in rows.column_names if c not in ("id", "image", "questions")]

    def flatten(batch):
        out = {k: [] for k in ("id", "qid", "image", "question", "options", "candidates", "answer", "answer_type")}
        out["family"] = []
        for rid, image, questions in zip(batch["id"], batch["image"], batch["questions"], strict=True):
            for q in questions:
                out["id"].append(rid)
                out["qid"].append(q["qid"])
                out["image"].append(image)
                out["question"].append(q["text"])
                out["options"].append(list(q["options"]))
                out["candidates"].append(list(q["candidates"]))
                out["answer"].append(q["answer"])
                out["answer_type"].append(q["answer_type"])
                out["family"].append(q["family"])
        return out

    docs = rows.map(flatten, batched=True, batch_size=64, remove_columns=[*keep, "id", "image", "questions"])
    return docs.cast_column("image", Image(decode=False))


def spatialgen_doc_to_visual(doc: dict[str, Any]) -> list[Any]:
    """The doc's image, decoded, as RGB."""
    from PIL import Image

    image = doc["image"]
    if isinstance(image, dict):  # undecoded: {"bytes", "path"}
        image = Image.open(io.BytesIO(image["bytes"]))
    return [image.convert("RGB")]


def spatialgen_doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, str] | None = None) -> str:
    """``spatialgen eval``'s default prompt, between the task's pre_prompt and post_prompt."""
    kwargs = lmms_eval_specific_kwargs or {}
    parts = [doc["question"]]
    parts += [f"{letter}. {option}" for letter, option in zip(doc["candidates"], doc["options"], strict=False)]
    parts.append(INSTRUCTIONS.get(doc["answer_type"], ""))
    return kwargs.get("pre_prompt", "") + "\n".join(p for p in parts if p) + kwargs.get("post_prompt", "")


def read_reply(answer_type: str, reply: str, candidates: list[str]) -> str | None:
    """The candidate a reply names: its first yes/no, number, option letter or candidate word; None if that
    first one is no candidate (a count the question does not allow) or the reply has none."""
    by = {c.lower(): c for c in candidates}
    for w in _WORD.findall(reply):
        if answer_type == "yes_no" and w.lower() not in ("yes", "no"):
            continue
        if answer_type == "number":
            if not w.lstrip("-").isdigit():
                continue
            w = str(int(w))
        if answer_type == "multiple_choice" and not (len(w) == 1 and w.isupper() and w.lower() in by):
            continue  # "I think B": a capital letter that is no option's is a word, not an answer
        if answer_type == "word" and w.lower() not in by:
            continue
        return by.get(w.lower())
    return None


def spatialgen_process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """Each metric's value for one doc: right or not, with its answer type (the per-type metrics pick theirs)."""
    said = read_reply(doc["answer_type"], results[0] if results else "", list(doc["candidates"]))
    right = float(said == doc["answer"])
    scored = {"score": right, "answer_type": doc["answer_type"], "family": doc["family"]}
    return {"accuracy": scored, **{f"{t}_accuracy": scored for t in ANSWER_TYPES}}


def _mean(results: list[dict[str, Any]], answer_type: str | None = None) -> float:
    picked = [r["score"] for r in results if answer_type in (None, r["answer_type"])]
    return sum(picked) / len(picked) if picked else float("nan")


def spatialgen_accuracy(results: list[dict[str, Any]]) -> float:
    """Accuracy over every question."""
    return _mean(results)


def spatialgen_yes_no_accuracy(results: list[dict[str, Any]]) -> float:
    """Accuracy over the yes/no questions (NaN where there are none)."""
    return _mean(results, "yes_no")


def spatialgen_multiple_choice_accuracy(results: list[dict[str, Any]]) -> float:
    """Accuracy over the multiple-choice questions."""
    return _mean(results, "multiple_choice")


def spatialgen_number_accuracy(results: list[dict[str, Any]]) -> float:
    """Accuracy over the counting questions."""
    return _mean(results, "number")


def spatialgen_word_accuracy(results: list[dict[str, Any]]) -> float:
    """Accuracy over the one-word (attribute) questions."""
    return _mean(results, "word")
