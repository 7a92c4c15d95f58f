"""Each diagnostic writes its CSV and PNG with the documented columns and finite values."""

from __future__ import annotations

import csv
import math
import statistics

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

COLUMNS = {
    "norms": ["kind", "norm"],
    "hidden-norms": ["layer", "vision_median", "text_median", "ratio"],
    "position": ["condition", "n", "accuracy", "ci_low", "ci_high", "psi", "psi_ci_low", "psi_ci_high", "mcnemar_p"],
    "balance": ["layer", "head", "vision_mass", "text_mass", "balance"],
    "rope": ["layer", "head", "mass_before", "mass_after", "delta"],
}


@pytest.fixture(scope="module")
def setup(rendered):
    from spatialgen.eval.models import load_model
    from spatialgen.eval.sources import load_source

    return (load_model("tiny-random", "float32", "cpu", attn="eager"), load_source(str(rendered), limit=10).examples)


@pytest.mark.parametrize("kind", list(COLUMNS))
def test_diagnostic_files(setup, tmp_path, kind):
    from spatialgen.eval.diagnose import diagnose

    vlm, examples = setup
    result = diagnose(kind, vlm, examples, tmp_path, batch_size=4, seeds=2)
    with open(tmp_path / f"{kind}.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and list(rows[0]) == COLUMNS[kind]
    for r in rows:
        for k, v in r.items():
            if k not in ("kind", "condition"):
                assert math.isfinite(float(v)), (k, v)
    assert (tmp_path / f"{kind}.png").stat().st_size > 1000
    if kind == "norms":
        v = [float(r["norm"]) for r in rows if r["kind"] == "vision"]
        t = [float(r["norm"]) for r in rows if r["kind"] == "text"]
        assert len(v) == 10 * 16  # 16 vision tokens an image
        # torch.median is the lower middle value, as statistics.median_low
        assert result["ratio"] == pytest.approx(statistics.median_low(v) / statistics.median_low(t), rel=1e-6)
    if kind == "balance":
        assert len(rows) == 2 * 4  # layers x heads of tiny-random
        for r in rows:
            assert 0 <= float(r["balance"]) <= 1 and float(r["vision_mass"]) + float(r["text_mass"]) <= 1 + 1e-5
    if kind == "position":
        assert rows[0]["condition"] == "original order" and len(rows) == 3
        assert all(0 <= float(r["psi"]) <= 1 for r in rows)
    if kind == "hidden-norms":
        assert [int(r["layer"]) for r in rows] == [0, 1, 2]


def test_rope_probe_is_zero_without_a_shift(setup):
    import torch

    from spatialgen.eval.diagnose import _last_query_masses
    from spatialgen.eval.scoring import Condition, _positions, encode

    vlm, examples = setup
    inputs = encode(vlm, examples[:3], Condition())
    pos = _positions(inputs["attention_mask"])
    with torch.no_grad():
        a, _ = _last_query_masses(vlm, inputs, pos)
        b, _ = _last_query_masses(vlm, inputs, pos.clone())
        c, _ = _last_query_masses(vlm, inputs, pos + 1000 * (inputs["input_ids"] == vlm.model.config.image_token_index))
    assert torch.equal(a, b) and not torch.allclose(a, c)
