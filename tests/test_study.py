"""Studies end to end on the CPU with tiny-random at small n; the report re-derives from predictions."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spatialgen", *args], capture_output=True, text=True)


STUDY = """
name: t
preset: easy
fixed: {families: {left_right: 1, count: 1}}
knobs:
  margin: [10, 30]
  distractors: [0.0, 0.5]
n: 6
seed: 3
twins: true
models: [tiny-random]
conditions: [norm:text-mean]
controls: true
batch_size: 8
"""


@pytest.fixture(scope="module")
def study_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    (root / "s.yaml").write_text(STUDY)
    r = cli("study", str(root / "s.yaml"), "--out", str(root / "report"), "--cache", str(root / "cache"))
    assert r.returncode == 0, r.stderr
    return root


def test_report_rederives_from_predictions(study_run):
    report = study_run / "report"
    with open(report / "cells.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 * 4  # 2 x 2 cells, 4 conditions (image, no-image, description, norm)
    for r in rows:
        cell = f"margin={r['margin']}_distractors={r['distractors']}"
        preds = [json.loads(x) for x in (report / "evals" / cell / "tiny-random" / "predictions.jsonl").open()]
        mine = [p for p in preds if p["condition"] == r["condition"]]
        assert int(r["n"]) == len(mine) and int(r["correct"]) == sum(p["correct"] for p in mine)
        pairs: dict = {}
        for p in mine:
            if p["probe"]:
                pairs.setdefault(p["twin_id"], []).append(p["correct"])
        assert int(r["twin_pairs"]) == len(pairs) == 6
        assert float(r["twin_consistency"]) == pytest.approx(sum(all(v) for v in pairs.values()) / len(pairs))
    assert len(list(report.glob("*.png"))) == 2  # one per value of the second knob
    text = (report / "summary.md").read_text()
    assert "McNemar" in text and "Largest effects of the knob" in text


def test_rerun_reuses_cells_and_predictions(study_run):
    cache = study_run / "cache"
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*.parquet")}
    preds = {p: p.read_bytes() for p in (study_run / "report").rglob("predictions.jsonl")}
    r = cli("study", str(study_run / "s.yaml"), "--out", str(study_run / "report"), "--cache", str(cache))
    assert r.returncode == 0, r.stderr
    assert "rendering" in r.stderr and "evaluating" not in r.stderr  # status lines go to stderr
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*.parquet")} == before
    assert {p: p.read_bytes() for p in (study_run / "report").rglob("predictions.jsonl")} == preds


def test_cells_are_shared_across_studies(study_run, tmp_path):
    other = STUDY.replace("name: t", "name: other").replace("conditions: [norm:text-mean]", "conditions: []")
    (tmp_path / "o.yaml").write_text(other)
    n_cells = len(list((study_run / "cache").iterdir()))
    r = cli("study", str(tmp_path / "o.yaml"), "--out", str(tmp_path / "rep"), "--cache", str(study_run / "cache"))
    assert r.returncode == 0, r.stderr
    assert len(list((study_run / "cache").iterdir())) == n_cells


def test_example_is_a_valid_study(tmp_path):
    r = cli("study", "--example")
    assert r.returncode == 0
    (tmp_path / "e.yaml").write_text(r.stdout)
    from spatialgen.eval.study import cells, load_study

    s = load_study(tmp_path / "e.yaml", n=5, models=["tiny-random"])
    assert s.n == 5 and s.models == ["tiny-random"] and len(cells(s)) == 4


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("margin: [10, 30]", "margni: [10, 30]"), "unknown knob 'margni'"),
        (("margin: [10, 30]", "margin: []"), "knob 'margin' has no values"),
        (("models: [tiny-random]", "models: [not a model]"), "unknown model 'not a model'"),
        (("models: [tiny-random]", "models: ['random:gpt-9']"), "unknown model 'random:gpt-9'"),
        (("margin: [10, 30]", "margin: [-5]"), "margin_px"),
        (("conditions: [norm:text-mean]", "conditions: [warp]"), "unknown intervention 'warp'"),
        (("n: 6", "n: 0"), "n:"),
    ],
)
def test_invalid_study_is_refused_before_running(tmp_path, edit, message):
    (tmp_path / "s.yaml").write_text(STUDY.replace(*edit))
    r = cli("study", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "rep"), "--cache", str(tmp_path / "c"))
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "rep").exists() and not (tmp_path / "c").exists()


def test_command_line_overrides(tmp_path):
    (tmp_path / "s.yaml").write_text(STUDY.replace("models: [tiny-random]", "models: [llava-hf/llava-1.5-7b-hf]"))
    from spatialgen.eval.study import load_study

    s = load_study(Path(tmp_path / "s.yaml"), n=2, models=["tiny-random"])
    assert (s.n, s.models) == (2, ["tiny-random"])


def test_a_refused_study_writes_nothing(study_run, tmp_path):
    """A different study into the same report folder is refused before its study.yaml is written."""
    report = study_run / "report"
    before = (report / "study.yaml").read_bytes()
    (tmp_path / "d.yaml").write_text(STUDY.replace("n: 6", "n: 7"))
    r = cli("study", str(tmp_path / "d.yaml"), "--out", str(report), "--cache", str(study_run / "cache"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert (report / "study.yaml").read_bytes() == before


def test_a_model_that_cannot_load_is_found_before_rendering(tmp_path):
    (tmp_path / "m.yaml").write_text(STUDY.replace("models: [tiny-random]", "models: [nobody/no-such-model]"))
    r = cli("study", str(tmp_path / "m.yaml"), "--out", str(tmp_path / "rep"), "--cache", str(tmp_path / "cache"))
    assert r.returncode == 2 and "could not be loaded" in r.stderr, r.stderr
    assert not (tmp_path / "cache").exists() and not (tmp_path / "rep").exists()


def test_hops_and_strict_are_knobs():
    from spatialgen.eval.study import apply_knob
    from spatialgen.scenes.config import load_preset

    base = load_preset("medium").config
    assert apply_knob(base, "hops", 2).hops == 2
    assert apply_knob(base, "strict", False).margins.strict is False
    assert apply_knob(base, "strict", False).margins.margin_px == base.margins.margin_px
