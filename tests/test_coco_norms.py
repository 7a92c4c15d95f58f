"""``diagnose norms`` as the paper runs it: on COCO captions, with its image upscaling, and the COCO
diagnostics' stripped system prompt.

Facts and where they come from:
- COCO's captions annotation format (captions_val2017.json): {"images": [{"id", "file_name", "width",
  "height", ...}], "annotations": [{"id", "image_id", "caption"}]}, five captions an image; pycocotools'
  getImgIds() keeps the file's image order, getAnnIds(imgIds=i) its annotation order.
- The paper's diagnostic_tools/vlm_token_norms.py: each image resized by ``--scale`` (default 3.0,
  ``Image.LANCZOS``, sides ``int(w * scale)``) before the processor; each caption tokenized on its own
  (``tokenizer(caption)``, BOS added) and its input embeddings' L2 norms kept.
- attention_utils.build_prompt with strip_system_prompt: ``prompt.replace(SYSTEM_PROMPT_LLaVA15, "")`` on
  the LLaVA v1 conversation, the system text removed and its separator kept.
"""

from __future__ import annotations

import csv
import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image

import spatialgen
from spatialgen.errors import SpatialgenError
from spatialgen.eval.sources import load_source


def _csv(path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture()
def coco(tmp_path):
    (tmp_path / "val2017").mkdir()
    (tmp_path / "annotations").mkdir()
    images, anns = [], []
    for k, (w, h) in enumerate([(40, 30), (32, 48), (50, 50)]):
        name = f"{139 + k:012d}.jpg"
        # a fine pattern, not a flat colour: resampled at another size it reaches the processor differently
        img = Image.frombytes("RGB", (w, h), bytes((x * 37 + k * 11) % 256 for x in range(w * h * 3)))
        img.save(tmp_path / "val2017" / name, "PNG")
        images.append({"id": 139 + k, "file_name": name, "width": w, "height": h})
    caps = {139: ["A woman stands in the kitchen.", "A red stove."], 140: ["Two dogs on a bed."]}
    for i, (img, texts) in enumerate((img, t) for img, ts in caps.items() for t in ts):
        anns.append({"id": 1000 + i, "image_id": img, "caption": texts})
    (tmp_path / "annotations/captions_val2017.json").write_text(json.dumps({"images": images, "annotations": anns}))
    return tmp_path / "annotations/captions_val2017.json"


def test_coco_captions_layout(coco):
    res = load_source(f"coco-captions:{coco}")
    assert [e.id for e in res.examples] == ["139", "140"]
    assert res.examples[0].captions == ["A woman stands in the kitchen.", "A red stove."]
    assert res.examples[0].images[0].endswith("val2017/000000000139.jpg")  # ../val2017 beside annotations/
    assert res.problems == {"image without captions": 1}


def test_eval_refuses_captions(coco, tmp_path):
    with pytest.raises(SpatialgenError, match="coco-captions asks no questions"):
        spatialgen.evaluate("tiny-random", [f"coco-captions:{coco}"], tmp_path / "o")


def test_norms_embed_every_caption_and_upscale_the_images(coco, tmp_path):
    from spatialgen.models import tiny

    spatialgen.diagnose("norms", "tiny-random", f"coco-captions:{coco}", tmp_path / "a")
    rows = _csv(tmp_path / "a/norms.csv")
    tok = tiny.tokenizer()
    want = sum(
        len(tok(c)["input_ids"]) for c in ["A woman stands in the kitchen.", "A red stove.", "Two dogs on a bed."]
    )
    assert sum(r["kind"] == "text" for r in rows) == want  # each caption alone, BOS included
    spatialgen.diagnose("norms", "tiny-random", f"coco-captions:{coco}", tmp_path / "b", upscale=3)
    vision = lambda d: [float(r["norm"]) for r in _csv(d / "norms.csv") if r["kind"] == "vision"]  # noqa: E731
    assert len(vision(tmp_path / "a")) == len(vision(tmp_path / "b"))
    assert vision(tmp_path / "a") != vision(tmp_path / "b")  # the images reach the processor upscaled


def test_upscale_is_lanczos_by_the_factor():
    from spatialgen.eval.scoring import upscaled

    img = Image.new("RGB", (41, 30), (1, 2, 3))
    img.putpixel((3, 4), (250, 0, 0))
    got = upscaled(img, 3, "x")
    assert got.size == (123, 90) and got.tobytes() == img.resize((123, 90), Image.LANCZOS).tobytes()
    assert upscaled(img, 2.5, "x").size == (102, 75)  # int(41 * 2.5), int(30 * 2.5)
    with pytest.raises(SpatialgenError, match="over the limit"):
        upscaled(Image.new("RGB", (4000, 4000)), 3, "big")


def test_strip_system_prompt(coco, tmp_path):
    from spatialgen.models.loading import LLAVA_V1_SYSTEM, load_model

    vlm = load_model("tiny-random", device="cpu", prompt_style="paper")
    full = vlm.prompt("Describe the image.", 1)
    vlm.strip_system = True
    assert (
        vlm.prompt("Describe the image.", 1)
        == full.replace(LLAVA_V1_SYSTEM, "")
        == " USER: <image>\nDescribe the image. ASSISTANT:"
    )
    with pytest.raises(
        SpatialgenError, match=r"strip_system_prompt= strips LLaVA v1's system prompt: add prompt= paper"
    ):
        spatialgen.diagnose(
            "hidden-norms", "tiny-random", f"coco-captions:{coco}", tmp_path / "x", strip_system_prompt=True
        )
    out = spatialgen.diagnose(
        "hidden-norms", "tiny-random", f"coco-captions:{coco}", tmp_path / "h", prompt="paper", strip_system_prompt=True
    )
    rows = _csv(tmp_path / "h/hidden-norms.csv")
    assert rows and all(r["system_mean"] in ("", "nan") for r in rows), rows[0]  # no system tokens are left
    assert out
