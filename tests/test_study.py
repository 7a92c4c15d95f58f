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
    from spatialgen.studies.study import cells, load_study

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
    from spatialgen.studies.study import load_study

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
    from spatialgen.scenes.config import load_preset
    from spatialgen.studies.study import apply_knob

    base = load_preset("medium").config
    assert apply_knob(base, "hops", 2).hops == 2
    assert apply_knob(base, "strict", False).margins.strict is False
    assert apply_knob(base, "strict", False).margins.margin_px == base.margins.margin_px


TRAINED = """
name: trained
preset: easy
fixed: {families: {left_right: 1}}
knobs:
  family: [left_right]
n: 4
seed: 5
twins: true
models: []
conditions: [permute]
controls: false
batch_size: 8
train:
  preset: easy
  fixed: {families: {left_right: 1}}
  n: 24
  steps: 3
  batch_size: 4
  tower_steps: 2
  recipes:
    plain: []
    norm: [norm:paper]
"""


def test_a_study_trains_its_own_models_and_evaluates_them_as_folders(tmp_path):
    """The paper's experiment in miniature: two recipes trained by the study, each evaluated with and without
    permute; a re-run trains nothing again (the model folders are finished) and changes no prediction."""
    from spatialgen.studies.study import load_study, run_study, trained_folders

    (tmp_path / "s.yaml").write_text(TRAINED)
    s = load_study(tmp_path / "s.yaml")
    assert s.model_names == ["trained:plain", "trained:norm"]
    lines: list[str] = []
    run_study(s, tmp_path / "rep", tmp_path / "cache", workers=1, on_status=lines.append)
    folders = trained_folders(s.train, tmp_path / "cache")
    for name, folder in folders.items():
        assert (folder / "train.json").exists() and (folder / "train-summary.json").exists(), name
        spec = json.loads((folder / "train.json").read_text())
        assert spec["steps"] == 3 and spec["captions"] is True  # tiny-init trains on grounding captions
        assert spec["restate"] is True  # and on restated questions
        assert spec["tower_steps"] == 2  # and its tower first names patches (as asked; 400 by default)
    from spatialgen.models.convert import NORM_FILE

    assert (folders["trained:norm"] / NORM_FILE).exists() and not (folders["trained:plain"] / NORM_FILE).exists()
    with open(tmp_path / "rep" / "cells.csv") as f:
        rows = list(csv.DictReader(f))
    assert {(r["model"], r["condition"]) for r in rows} == {
        (m, c) for m in ("trained:plain", "trained:norm") for c in ("image", "permute")
    }
    preds = {p: p.read_bytes() for p in (tmp_path / "rep").rglob("predictions.jsonl")}
    again: list[str] = []
    run_study(s, tmp_path / "rep", tmp_path / "cache", workers=1, on_status=again.append)
    assert not any("training" in m for m in again), again
    assert {p: p.read_bytes() for p in (tmp_path / "rep").rglob("predictions.jsonl")} == preds


def test_paper_example_is_a_valid_study(tmp_path):
    r = cli("study", "--example", "paper")
    assert r.returncode == 0, r.stderr
    (tmp_path / "p.yaml").write_text(r.stdout)
    from spatialgen.studies.study import load_study

    s = load_study(tmp_path / "p.yaml")
    assert s.model_names == ["trained:plain", "trained:norm", "trained:multilayer"]
    assert s.conditions == ["permute"] and s.train.model == "tiny-init"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("plain: []", "plain: [warp]"), "unknown intervention 'warp'"),
        (("plain: []", "plain: ['norm:text-mean']"), "train.recipes.plain: --intervention norm:text-mean"),
        (("  steps: 3", "  steps: 3\n  recipe: half"), "train.recipe: Input should be"),
        (("  steps: 3", "  steps: 3\n  captions: maybe"), "train.captions: Input should be a valid boolean"),
        (("  steps: 3", "  steps: 3\n  restate: maybe"), "train.restate: Input should be a valid boolean"),
        (("  tower_steps: 2", "  tower_steps: -1"), "train.tower_steps: Input should be greater than"),
        (("  n: 24", "  n: 24\n  model: nobody"), "unknown model 'nobody'"),
        (("    plain: []", "    pla in: []"), "recipe name 'pla in'"),
        ((TRAINED[TRAINED.index("train:") :], ""), "name at least one model"),
    ],
)
def test_invalid_train_plan_is_refused_before_running(tmp_path, edit, message):
    from spatialgen.errors import SpatialgenError
    from spatialgen.studies.study import load_study

    (tmp_path / "s.yaml").write_text(TRAINED.replace(*edit))
    with pytest.raises(SpatialgenError, match="") as e:
        load_study(tmp_path / "s.yaml")
    assert message in str(e.value) and "\n" not in str(e.value)


def test_invalid_train_plan_from_the_cli_writes_nothing(tmp_path):
    (tmp_path / "s.yaml").write_text(TRAINED.replace("plain: []", "plain: [warp]"))
    r = cli("study", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "rep"), "--cache", str(tmp_path / "c"))
    assert r.returncode == 2 and "unknown intervention 'warp'" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "rep").exists() and not (tmp_path / "c").exists()


STUDY_3D = """
name: s3d
preset: 3d-draft
fixed:
  width: 128
  height: 96
  min_visible_px: 10
  questions_per_scene: 3
  render: {engine: cycles, samples: 4, denoise: false}
knobs:
  objects: [2, 3]
n: 2
seed: 2
twins: false
models: [tiny-random]
controls: false
batch_size: 8
"""


@pytest.mark.slow  # Blender renders two cells (about 13 s)
def test_a_study_sweeps_a_3d_knob(tmp_path):
    """Studies run on 3D presets too: each cell a Blender render, evaluated and reported like a 2D one."""
    from .test_render3d import BPY

    if BPY is None:
        pytest.skip("no Python with bpy (make test sets up .venv-3d)")
    import os

    (tmp_path / "s.yaml").write_text(STUDY_3D)
    r = subprocess.run(
        [sys.executable, "-m", "spatialgen", "study", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "rep"),
         "--cache", str(tmp_path / "cache"), "--workers", "1"],
        capture_output=True, text=True, env={**os.environ, "SPATIALGEN_BPY_PYTHON": BPY},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "rep" / "cells.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["objects"] for r in rows] == ["2", "3"] and all(int(r["n"]) > 0 for r in rows)


def test_3d_cells_refuse_2d_only_knobs(tmp_path):
    (tmp_path / "s.yaml").write_text(STUDY_3D.replace("objects: [2, 3]", "noise: [0, 10]"))
    r = cli("study", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "rep"), "--cache", str(tmp_path / "c"))
    assert r.returncode == 2 and "knob 'noise' is not a knob of 3D presets" in r.stderr, r.stderr
    assert not (tmp_path / "rep").exists() and not (tmp_path / "c").exists()


def test_a_cell_is_a_dataset_with_its_card(study_run):
    """Cells are rendered as `spatialgen render` renders: each finished folder carries its dataset card."""
    cells = [p for p in (study_run / "cache").iterdir() if (p / "manifest.json").exists()]
    assert cells and all((p / "README.md").read_text().startswith("---\n") for p in cells)


def test_a_cell_evaluation_is_what_eval_writes(study_run):
    """A study evaluates each cell through the same step as `spatialgen eval` (runner.evaluate_into): the
    folder holds run.json, predictions.jsonl and a summary whose overall rows agree with cells.csv."""
    report = study_run / "report"
    with open(report / "cells.csv") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        folder = report / "evals" / f"margin={r['margin']}_distractors={r['distractors']}" / "tiny-random"
        assert {"run.json", "predictions.jsonl", "summary.md", "summary.csv"} <= {p.name for p in folder.iterdir()}
        with open(folder / "summary.csv") as f:
            mine = [s for s in csv.DictReader(f) if s["group"] == "all" and s["condition"] == r["condition"]]
        assert len(mine) == 1 and (mine[0]["n"], mine[0]["correct"]) == (r["n"], r["correct"])
