"""Public benchmarks in their original file layouts, mapped to Example.

Every loader reads line by line (or item by item), counts malformed rows and missing images in
``problems``, and keeps going; a file that is not of its kind at all is one SpatialgenError. Images are
referenced by path and opened only when a batch needs them. Paths come from untrusted files: an image path
that leads outside its benchmark's image folder is a malformed row, never opened. Answer domains come from
the file (a 2DS count is scored among 0..the largest count of its category in the file).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spatialgen.errors import SpatialgenError

from ..example import Example, LoadResult

LETTERS = "ABCDEFGHIJ"
MAX_NUMBER = 1000  # a numeric answer above this is a malformed row: domains stay small


def confined(root: Path, rel: Any) -> Path | None:
    """``root / rel`` if it stays inside ``root`` (no absolute path, no way out through '..' or a link)."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return None
    path = (root / rel).resolve()
    base = root.resolve()
    return path if path == base or base in path.parents else None


def is_image(src: Path | bytes) -> bool:
    """Whether ``src`` opens as an image (its header only: cheap, nothing decoded)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(src) if isinstance(src, bytes) else src):
            return True
    except (OSError, UnidentifiedImageError, ValueError):
        return False


def _image_at(root: Path, rel: Any, res: LoadResult) -> Path | None:
    path = confined(root, rel)
    if path is None:
        res.problems["malformed row"] += 1
    elif not path.is_file():
        res.problems["missing image"] += 1
        path = None
    elif not is_image(path):
        res.problems["not an image"] += 1
        path = None
    return path


def _json_lines(path: Path, res: LoadResult) -> Iterator[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpatialgenError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            res.problems["malformed row"] += 1
            continue
        if isinstance(row, dict):
            yield row
        else:
            res.problems["malformed row"] += 1


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise SpatialgenError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise SpatialgenError(f"{path} is not a UTF-8 JSON file") from None
    except json.JSONDecodeError as e:
        raise SpatialgenError(f"{path} is not valid JSON (line {e.lineno})") from None


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        f = pq.ParquetFile(path)
        for batch in f.iter_batches(batch_size=64):
            yield from batch.to_pylist()
    except (OSError, pa.ArrowException) as e:
        raise SpatialgenError(f"{path} is not a readable parquet file ({type(e).__name__})") from None


def _truth(label: Any) -> str | None:
    s = str(label).strip().lower()
    return {"true": "true", "1": "true", "false": "false", "0": "false"}.get(s)


def _statement(sentence: str) -> str:
    return f'Is the following statement true or false? "{sentence.strip()}"'


def load_nlvr(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """NLVR v1: one example per (sentence, image) pair; the six images of a row share its label."""
    folder = path if path.is_dir() else path.parent
    ann = path if path.is_file() else next(iter(sorted(folder.glob("*.json"))), folder / "dev.json")
    split = ann.stem
    root = images or folder / "images"
    res = LoadResult()
    for row in _json_lines(ann, res):
        label, sid, d = _truth(row.get("label")), row.get("identifier"), row.get("directory")
        if label is None or not sid or d is None or not row.get("sentence"):
            res.problems["malformed row"] += 1
            continue
        folder_d = confined(root, str(d))
        if folder_d is None or not str(sid).replace("-", "").isalnum():
            res.problems["malformed row"] += 1
            continue
        found = sorted(folder_d.glob(f"{split}-{sid}-*.png"))
        if found and not all(is_image(p) for p in found):
            res.problems["not an image"] += 1
            continue
        if not found:
            res.problems["missing image"] += 1
            continue
        for img in found:
            ex = Example(
                id=img.stem,
                source="nlvr",
                images=[str(img)],
                question=_statement(row["sentence"]),
                candidates=["true", "false"],
                answer=label,
                answer_type="true_false",
                categories={"split": split},
            )
            if not res.add(ex, limit):
                return res
    return res


def load_nlvr2(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """NLVR2: two images per example, ``<identifier without its last part>-img0/1.<ext>``."""
    root = images or path.parent / "images"
    res = LoadResult()
    for row in _json_lines(path, res):
        label, ident = _truth(row.get("label")), row.get("identifier")
        if label is None or not ident or not row.get("sentence"):
            res.problems["malformed row"] += 1
            continue
        stem = str(ident).rsplit("-", 1)[0]
        if not stem.replace("-", "").replace("_", "").isalnum():
            res.problems["malformed row"] += 1
            continue
        pair = []
        for k in (0, 1):
            hit = next(
                (
                    root / f"{stem}-img{k}{ext}"
                    for ext in (".png", ".jpg", ".jpeg")
                    if (root / f"{stem}-img{k}{ext}").exists()
                ),
                None,
            )
            if hit is None:
                hit = next(iter(root.rglob(f"{stem}-img{k}.*")), None) if root.exists() else None
            pair.append(hit)
        if None in pair:
            res.problems["missing image"] += 1
            continue
        if not all(is_image(p) for p in pair):
            res.problems["not an image"] += 1
            continue
        q = _statement(row["sentence"]) + " The first image is the left image, the second the right image."
        ex = Example(
            id=ident,
            source="nlvr2",
            images=[str(p) for p in pair],
            question=q,
            candidates=["true", "false"],
            answer=label,
            answer_type="true_false",
            categories={"split": path.stem},
        )
        if not res.add(ex, limit):
            break
    return res


def load_vsr(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    root = images or path.parent / "images"
    res = LoadResult()
    for k, row in enumerate(_json_lines(path, res)):
        label, name, caption = _truth(row.get("label")), row.get("image"), row.get("caption")
        if label is None or not name or not caption:
            res.problems["malformed row"] += 1
            continue
        img = _image_at(root, name, res)
        if img is None:
            continue
        ex = Example(
            id=f"{path.stem}-{k}",
            source="vsr",
            images=[str(img)],
            question=_statement(caption),
            candidates=["true", "false"],
            answer=label,
            answer_type="true_false",
            categories={"split": path.stem, "relation": str(row.get("relation", ""))},
        )
        if not res.add(ex, limit):
            break
    return res


def load_spartqa(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """SpartQA-Human and SpaRTUN: text stories. YN questions are yes/no; FR/CO/FB questions with exactly
    one right candidate are multiple choice; questions with several right answers are counted, not used."""
    data = _json(path)
    stories = data.get("data") if isinstance(data, dict) else data
    if not isinstance(stories, list):
        raise SpatialgenError(f"{path}: expected a 'data' list of stories")
    res = LoadResult()
    source = "spartun" if "spartun" in path.name.lower() else "spartqa"
    for s_idx, story in enumerate(stories):
        try:
            text = " ".join(story["story"]) if isinstance(story["story"], list) else str(story["story"])
            questions = story["questions"]
        except (KeyError, TypeError):
            res.problems["malformed row"] += 1
            continue
        for q in questions:
            try:
                qtype, ans, cands = q["q_type"], q["answer"], q.get("candidate_answers") or []
                qid = f"{story.get('identifier', s_idx)}-{q.get('q_id', len(res.examples))}"
                if qtype == "YN":
                    if len(ans) != 1 or str(ans[0]).lower() not in ("yes", "no"):
                        res.problems["not closed-form"] += 1
                        continue
                    ex = Example(
                        id=qid,
                        source=source,
                        question=q["question"],
                        candidates=["yes", "no"],
                        answer=str(ans[0]).lower(),
                        answer_type="yes_no",
                        context=text,
                        categories={"q_type": qtype},
                    )
                else:
                    if len(ans) != 1 or not cands:
                        res.problems["several answers"] += 1
                        continue
                    right = ans[0] if isinstance(ans[0], int) else cands.index(ans[0])
                    ex = Example(
                        id=qid,
                        source=source,
                        question=q["question"],
                        options=[str(c) for c in cands],
                        candidates=list(LETTERS[: len(cands)]),
                        answer=LETTERS[right],
                        answer_type="multiple_choice",
                        context=text,
                        categories={"q_type": qtype},
                    )
            except (KeyError, TypeError, ValueError, IndexError):
                res.problems["malformed row"] += 1
                continue
            if not res.add(ex, limit):
                return res
    return res


def _2ds_entries(path: Path) -> tuple[list[Any], Path, str]:
    """The entries of a 2DS set and the folder its image paths are relative to: the paper's parquet layout
    (a .parquet file, or a folder with data/*.parquet; ``image_filename`` holds the image bytes) or the
    JSON variant (data.json with images/ beside it)."""
    if path.is_dir():
        files = sorted((path / "data").glob("*.parquet")) or sorted(path.glob("*.parquet"))
        if files:
            return [r for f in files for r in _parquet_rows(f)], path, "parquet"
        path = path / "data.json"
    if path.suffix == ".parquet":
        return list(_parquet_rows(path)), path.parent, "parquet"
    entries = _json(path)
    if not isinstance(entries, list):
        raise SpatialgenError(f"{path}: expected a list of 2DS entries")
    return entries, path.parent, "json"


def _2ds_answer(qa: Any) -> tuple[str, str, str]:
    ans, cat, q = str(qa["answer"]).strip(), str(qa.get("qa_category", "")), str(qa["question"])
    return ans, cat, q


def _2ds_domains(entries: list[Any]) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Per qa_category: the words its answers use, and its largest numeric answer (both read off the file)."""
    words: dict[str, set[str]] = {}
    top: dict[str, int] = {}
    for e in entries:
        for qa in e.get("qa_pairs") or [] if isinstance(e, dict) else []:
            try:
                ans, cat, _ = _2ds_answer(qa)
            except (KeyError, TypeError, AttributeError):
                continue
            if ans.isdigit() and int(ans) <= MAX_NUMBER:
                top[cat] = max(top.get(cat, 0), int(ans))
            elif not ans.isdigit():
                words.setdefault(cat, set()).add(ans.lower())
    return words, top


def _2ds_image(e: dict, root: Path, res: LoadResult) -> bytes | str | None:
    img = e.get("image_filename")
    if isinstance(img, dict):  # the parquet layout: an Image column, bytes inline
        if isinstance(img.get("bytes"), bytes | bytearray):
            if not is_image(bytes(img["bytes"])):
                res.problems["not an image"] += 1
                return None
            return bytes(img["bytes"])
        img = img.get("path")
    path = _image_at(root, img, res)
    return None if path is None else str(path)


def load_2ds(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """The 2DS set: entries with qa_pairs, one Example per pair. Answers are closed-form: yes/no, option
    letters named in the question, counts (0..the category's largest in the file), or a word from the
    vocabulary its qa_category uses in the file. ``test_category`` is kept for the report."""
    entries, root, _ = _2ds_entries(path)
    root = images or root
    words, top = _2ds_domains(entries)
    res = LoadResult()
    for n, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("qa_pairs"), list):
            res.problems["malformed row"] += 1
            continue
        image = _2ds_image(e, root, res)
        if image is None:
            continue
        for k, qa in enumerate(e["qa_pairs"]):
            try:
                ans, cat, q = _2ds_answer(qa)
            except (KeyError, TypeError, AttributeError):
                res.problems["malformed row"] += 1
                continue
            low = ans.lower()
            if low in ("yes", "no"):
                cands, atype = ["yes", "no"], "yes_no"
            elif len(ans) == 1 and ans in LETTERS and f"({ans})" in q:
                cands, atype = [c for c in LETTERS if f"({c})" in q], "multiple_choice"
            elif low.isdigit():
                if int(low) > MAX_NUMBER:
                    res.problems["malformed row"] += 1
                    continue
                cands, atype, low = [str(i) for i in range(top[cat] + 1)], "number", str(int(low))
            else:
                cands, atype = sorted(words.get(cat, {low})), "word"
            ex = Example(
                id=f"{e.get('entry_id', n)}/{k}",
                source="2ds",
                images=[image],
                question=q,
                candidates=cands,
                answer=low if atype != "multiple_choice" else ans,
                answer_type=atype,
                categories={"family": cat, "test_category": str(e.get("test_category"))},
            )
            if not res.add(ex, limit):
                return res
    return res


CVBENCH_INSTRUCTION = ' \nPlease answer based on the choices given above. For example, "A", "B", "C", "D", or "E".'


def load_cvbench(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """CV-Bench rows (nyu-visionx/CV-Bench): question, choices, answer "(A)", task, type, source, prompt, and
    image bytes or a filename. ``source`` (ADE20K, COCO, Omni3D) is kept for the official combined score."""
    res = LoadResult()
    rows: Any = _parquet_rows(path) if path.suffix == ".parquet" else _json_lines(path, res)
    root = images or path.parent
    for k, row in enumerate(rows):
        try:
            choices, ans = [str(c) for c in row["choices"]], str(row["answer"]).strip("() ")
            letter_idx = LETTERS.index(ans)
            assert letter_idx < len(choices) and len(choices) <= len(LETTERS)
            question = str(row["question"])
        except (KeyError, TypeError, ValueError, AssertionError):
            res.problems["malformed row"] += 1
            continue
        image = row.get("image")
        if isinstance(image, dict):
            image = image.get("bytes") or image.get("path")
        if image is None:
            image = row.get("filename")
        if isinstance(image, str):
            p = _image_at(root, image, res)
            if p is None:
                continue
            image = str(p)
        if not isinstance(image, bytes | str):
            res.problems["missing image"] += 1
            continue
        if isinstance(image, bytes) and not is_image(image):
            res.problems["not an image"] += 1
            continue
        prompt = row.get("prompt")
        ex = Example(
            id=str(row.get("idx", k)),
            source="cvbench",
            images=[image],
            question=question,
            options=choices,
            candidates=list(LETTERS[: len(choices)]),
            answer=ans,
            answer_type="multiple_choice",
            categories={
                "task": str(row.get("task", "")),
                "type": str(row.get("type", "")),
                "cv_source": str(row.get("source", "")),
            },
            paper_prompt=(str(prompt) + CVBENCH_INSTRUCTION) if isinstance(prompt, str) else None,
        )
        if not res.add(ex, limit):
            break
    return res


def load_whatsup(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """What's Up: the first caption is the right one; options are shuffled per item with a fixed seed so
    the right letter is not always A."""
    data = _json(path)
    if not isinstance(data, list):
        raise SpatialgenError(f"{path}: expected a list of items")
    root = images or path.parent
    res = LoadResult()
    for k, item in enumerate(data):
        try:
            caps = [str(c) for c in item["caption_options"]]
            assert 2 <= len(caps) <= len(LETTERS)
            rel = item["image_path"]
        except (KeyError, TypeError, AssertionError):
            res.problems["malformed row"] += 1
            continue
        img = _image_at(root, rel, res)
        if img is None:
            continue
        order = list(range(len(caps)))
        random.Random(f"whatsup-{k}").shuffle(order)
        ex = Example(
            id=f"{path.stem}-{k}",
            source="whatsup",
            images=[str(img)],
            question="Which caption describes the image?",
            options=[caps[i] for i in order],
            candidates=list(LETTERS[: len(caps)]),
            answer=LETTERS[order.index(0)],
            answer_type="multiple_choice",
            categories={"split": path.stem},
        )
        if not res.add(ex, limit):
            break
    return res
