"""The text-only rows: a plain causal LM (``--model text:MODEL``; the paper's Vicuna baselines) scored on each
question's text with the same prompt protocol, no image.

Facts: LLaVA-1.5's LLM is Vicuna v1.5, a LlamaForCausalLM whose tokenizer ships no chat template; it is
trained on the conversation LLaVA v1 uses ("A chat between a curious human and an artificial intelligence
assistant. ... USER: ... ASSISTANT:"); the paper's evaluation/eval/*_text.py ask the question without an image.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import spatialgen
from spatialgen.errors import SpatialgenError


def _preds(out) -> list[dict]:
    return [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]


def test_text_lm_answers_without_the_image(rendered, tmp_path):
    from spatialgen.models.loading import LLAVA_V1_SYSTEM, load_model

    vlm = load_model("text:tiny-random", device="cpu")
    assert vlm.text_only and vlm.prompt("Is it red?", 0) == f"{LLAVA_V1_SYSTEM} USER: Is it red? ASSISTANT:"
    assert vlm.end_of_turn == "</s>"
    summary = spatialgen.evaluate("text:tiny-random", [rendered], tmp_path / "o", controls=True, limit=8)
    preds = _preds(tmp_path / "o")
    assert {p["condition"] for p in preds} == {"no-image", "description"} and len(preds) == 16
    assert all(p["prediction"] in p["scores"] for p in preds)
    assert "text:tiny-random" in summary
    # the description condition reads the scene's description: its scores differ from the question alone
    by = {(p["id"], p["condition"]): p["scores"] for p in preds}
    assert any(by[(i, "no-image")] != by[(i, "description")] for i, _ in by)


def test_a_saved_causal_lm_folder_loads_as_the_in_process_one(rendered, tmp_path):
    from spatialgen.models import tiny

    model, tok = tiny.build_text()
    model.save_pretrained(tmp_path / "lm")  # safetensors, as from_pretrained's use_safetensors asks
    tok.save_pretrained(tmp_path / "lm")
    spatialgen.evaluate(f"text:{tmp_path / 'lm'}", [rendered], tmp_path / "a", limit=6)
    spatialgen.evaluate("text:tiny-random", [rendered], tmp_path / "b", limit=6)
    a, b = _preds(tmp_path / "a"), _preds(tmp_path / "b")
    assert [p["prediction"] for p in a] == [p["prediction"] for p in b]
    for pa, pb in zip(a, b, strict=True):
        assert pa["scores"] == pytest.approx(pb["scores"], abs=1e-5)
    spatialgen.evaluate("text:tiny-random", [rendered], tmp_path / "g", limit=4, mode="generate", max_new_tokens=3)
    assert all(p["raw"] is not None for p in _preds(tmp_path / "g"))


def test_text_lm_refusals_are_one_line(rendered, tmp_path):
    with pytest.raises(SpatialgenError, match=r"interventions= acts on vision tokens; 'text:tiny-random' has none"):
        spatialgen.evaluate("text:tiny-random", [rendered], tmp_path / "x", interventions=["permute"])
    with pytest.raises(SpatialgenError, match="could not be loaded"):
        spatialgen.evaluate(f"text:{tmp_path / 'nothing'}", [rendered], tmp_path / "y", limit=2)
