"""The paper's evaluation protocol: its prompt, its image padding, its benchmark files and aggregate scores.

Facts and where they come from:
- LLaVA ``conv_llava_v1`` (the paper's ``conv_mode: llava_v1``): system "A chat between a curious human and
  an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the
  human's questions.", roles USER/ASSISTANT, separators " " and "</s>".
- The paper's CV-Bench evaluation sends the row's ``prompt`` plus ' \\nPlease answer based on the choices
  given above. For example, "A", "B", "C", "D", or "E".' (evaluation/eval/eval_cv_bench.py).
- CV-Bench (nyu-visionx/CV-Bench) rows: idx, type, task, image, question, choices, answer "(A)", prompt,
  filename, source in {ADE20K, COCO, Omni3D}; its README's official score: 2D = mean(ADE20K, COCO)
  accuracies, 3D = Omni3D accuracy, combined = mean(2D, 3D).
- The paper's 2DS set is read with ``load_dataset("parquet", data_files=...)``; ``image_filename`` is an
  Image column (PIL after decoding) and results are reported by ``test_category``.
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

from spatialgen.errors import SpatialgenError
from spatialgen.eval.sources import load_source


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spatialgen", *args], capture_output=True, text=True)


def _png(path: Path, size=(60, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (10, 120, 200)).save(path)


CV_ROWS = [
    ("ADE20K", "2D", "Count", "(B)"),
    ("ADE20K", "2D", "Relation", "(A)"),
    ("COCO", "2D", "Relation", "(B)"),
    ("COCO", "2D", "Count", "(A)"),
    ("Omni3D", "3D", "Depth", "(A)"),
    ("Omni3D", "3D", "Distance", "(B)"),
]


@pytest.fixture()
def cvbench(tmp_path) -> Path:
    lines = []
    for k, (src, typ, task, ans) in enumerate(CV_ROWS):
        name = f"img/{typ}/{task.lower()}/{src.lower()}_{k}.png"
        _png(tmp_path / name)
        q = "Which object is closer to the camera?"
        prompt = f"{q} Select from the following choices.\n(A) the lamp\n(B) the chair"
        lines.append(
            json.dumps(
                {
                    "idx": k,
                    "type": typ,
                    "task": task,
                    "question": q,
                    "choices": ["the lamp", "the chair"],
                    "answer": ans,
                    "prompt": prompt,
                    "filename": name,
                    "source": src,
                }
            )
        )
    (tmp_path / "test.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "test.jsonl"


def test_paper_prompt_is_llava_v1(cvbench):
    from spatialgen.eval.prompts import question_text
    from spatialgen.models.loading import load_model

    vlm = load_model("tiny-random", "float32", "cpu", prompt_style="paper")
    ex = load_source(f"cvbench:{cvbench}").examples[0]
    text = question_text(ex, False, "paper")
    assert text.endswith('Please answer based on the choices given above. For example, "A", "B", "C", "D", or "E".')
    assert text.startswith("Which object is closer to the camera? Select from the following choices.\n(A) the lamp")
    assert vlm.prompt("Is it red?", 1) == (
        "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, "
        "detailed, and polite answers to the human's questions. USER: <image>\nIs it red? ASSISTANT:"
    )
    assert vlm.end_of_turn == "</s>"
    plain = ex.model_copy(update={"paper_prompt": None})
    assert question_text(plain, False, "paper") == "Which object is closer to the camera?\n(A) the lamp\n(B) the chair"


def test_cvbench_keeps_source_and_reports_the_official_score(cvbench, tmp_path):
    r = cli("eval", "--model", "tiny-random", "--data", f"cvbench:{cvbench}", "--out", str(tmp_path / "o"), "-q",
            "--prompt", "paper")  # fmt: skip
    assert r.returncode == 0, r.stderr
    preds = [json.loads(x) for x in (tmp_path / "o/predictions.jsonl").read_text().splitlines()]
    acc = {}
    for src in ("ADE20K", "COCO", "Omni3D"):
        mine = [p["correct"] for p in preds if p["categories"]["cv_source"] == src]
        acc[src] = sum(mine) / len(mine)
    two, three = (acc["ADE20K"] + acc["COCO"]) / 2, acc["Omni3D"]
    summary = (tmp_path / "o/summary.md").read_text()
    assert "CV-Bench combined score" in summary and "## By cv_source" in summary
    line = next(x for x in summary.splitlines() if x.startswith("| image |") and x.count("|") == 5)
    assert [float(v) for v in line.strip("| ").split("|")[1:]] == pytest.approx(
        [two, three, (two + three) / 2], abs=1e-3
    )
    assert "Prompt: paper" in summary
    assert json.loads((tmp_path / "o/run.json").read_text())["prompt"] == "paper"


def test_pad_mode_is_recorded_and_changes_the_pixels(cvbench, tmp_path):
    from spatialgen.eval.conditions import Condition
    from spatialgen.eval.scoring import encode
    from spatialgen.models.loading import load_model

    ex = load_source(f"cvbench:{cvbench}").examples[:1]
    crop = encode(load_model("tiny-random", "float32", "cpu"), ex, Condition())["pixel_values"]
    pad = encode(load_model("tiny-random", "float32", "cpu", image_mode="pad"), ex, Condition())["pixel_values"]
    assert crop.shape == pad.shape and not (crop - pad).abs().max() < 1e-6
    r = cli("eval", "--model", "tiny-random", "--data", f"cvbench:{cvbench}", "--out", str(tmp_path / "o"), "-q",
            "--image-mode", "pad")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "o/run.json").read_text())["image_mode"] == "pad"
    assert "images: pad" in (tmp_path / "o/summary.md").read_text()


def test_2ds_parquet_reads_as_the_papers_loader_does(rendered, tmp_path):
    from datasets import load_dataset

    r = cli("export-2ds", str(rendered), "--dest", str(tmp_path / "2ds"), "--split", "test")
    assert r.returncode == 0, r.stderr
    (f,) = sorted((tmp_path / "2ds/data").glob("*.parquet"))
    ds = load_dataset("parquet", data_files=str(f))["train"]  # the paper's call
    entry = ds[0]
    assert isinstance(entry["image_filename"], Image.Image)
    assert set(entry) == {"entry_id", "image_filename", "test_category", "qa_pairs", "objects"}
    assert set(entry["qa_pairs"][0]) == {"question", "answer", "qa_category"}
    r = cli("eval", "--model", "tiny-random", "--data", f"2ds:{tmp_path / '2ds'}", "--out", str(tmp_path / "o"), "-q")
    assert r.returncode == 0, r.stderr
    assert "## By test_category" in (tmp_path / "o/summary.md").read_text()


def test_2ds_numeric_domains_come_from_the_file_and_stay_bounded(tmp_path):
    _png(tmp_path / "images/a.png")
    qa = [
        {"question": "How many circles?", "answer": "12", "qa_category": "count"},
        {"question": "How many squares?", "answer": "3", "qa_category": "count"},
        {"question": "How many stars?", "answer": "999999999", "qa_category": "count"},
    ]
    entries = [
        {"entry_id": "e0", "image_filename": "images/a.png", "test_category": "t", "qa_pairs": qa, "objects": []}
    ]
    (tmp_path / "data.json").write_text(json.dumps(entries))
    res = load_source(f"2ds:{tmp_path / 'data.json'}")
    assert [e.answer for e in res.examples] == ["12", "3"] and res.problems == {"malformed row": 1}
    assert res.examples[0].candidates == [str(k) for k in range(13)]


def test_2ds_image_paths_cannot_leave_the_folder(tmp_path):
    _png(tmp_path / "outside.png")
    inner = tmp_path / "set"
    _png(inner / "images/a.png")
    qa = [{"question": "Is it red?", "answer": "yes", "qa_category": "c"}]
    entries = [
        {"entry_id": "e0", "image_filename": "../outside.png", "test_category": "t", "qa_pairs": qa},
        {"entry_id": "e1", "image_filename": "/etc/passwd", "test_category": "t", "qa_pairs": qa},
        {"entry_id": "e2", "image_filename": "images/a.png", "test_category": "t", "qa_pairs": qa},
    ]
    (inner / "data.json").write_text(json.dumps(entries))
    res = load_source(f"2ds:{inner / 'data.json'}")
    assert [e.id for e in res.examples] == ["e2/0"] and res.problems == {"malformed row": 2}


def test_vsr_and_whatsup_paths_are_confined(tmp_path):
    _png(tmp_path / "coco/a.jpg")
    _png(tmp_path / "secret.jpg")
    rows = [
        {"image": "a.jpg", "caption": "The cat is left of the dog.", "label": 1, "relation": "left of"},
        {"image": "../secret.jpg", "caption": "x", "label": 0, "relation": "r"},
    ]
    (tmp_path / "v.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    res = load_source(f"vsr:{tmp_path / 'v.jsonl'}", images=tmp_path / "coco")
    assert len(res.examples) == 1 and res.problems == {"malformed row": 1}
    items = [{"image_path": "../secret.jpg", "caption_options": ["a", "b"]}]
    (tmp_path / "coco/w.json").write_text(json.dumps(items))
    res = load_source(f"whatsup:{tmp_path / 'coco/w.json'}")
    assert not res.examples and res.problems == {"malformed row": 1}


@pytest.mark.parametrize("kind", ["2ds", "whatsup", "spartqa", "vsr", "cvbench"])
def test_a_file_of_the_wrong_kind_is_one_line(rendered, tmp_path, kind):
    parquet = next((rendered / "data").glob("*.parquet"))
    wrong = tmp_path / "data.json"
    wrong.write_bytes(parquet.read_bytes())  # a parquet file under a JSON name
    if kind == "cvbench":
        wrong = tmp_path / "x.parquet"
        wrong.write_bytes(b"PAR1 not really parquet")
    r = cli("eval", "--model", "tiny-random", "--data", f"{kind}:{wrong}", "--out", str(tmp_path / "o"))
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_nothing_is_written_when_the_model_cannot_load(rendered, tmp_path):
    r = cli("eval", "--model", str(tmp_path / "no-model"), "--data", str(rendered), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "could not be loaded" in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()


def test_paper_prompt_refused_for_other_families():
    from spatialgen.models.loading import _check_style

    with pytest.raises(SpatialgenError, match="--prompt must be"):
        _check_style(None, "lmms")
    with pytest.raises(SpatialgenError, match="--image-mode must be"):
        _check_style("stretch", "default")


def test_image_bytes_stay_bytes():
    from spatialgen.eval.example import pad_to_square

    img = Image.new("RGB", (40, 10), (255, 0, 0))
    sq = pad_to_square(img, (1, 2, 3))
    assert sq.size == (40, 40) and sq.getpixel((0, 0)) == (1, 2, 3) and sq.getpixel((20, 20)) == (255, 0, 0)
    buf = io.BytesIO()
    sq.save(buf, format="PNG")
    assert buf.getvalue()
