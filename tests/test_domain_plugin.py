"""A third scene domain from one new folder: tests/fixtures/toy_domain/toyline (dots on a line) registers its
Domain, its config (kind, knobs, presets) and its renderer backend on import, and spatialgen finds it
through SPATIALGEN_DOMAINS. Nothing of spatialgen is edited: every step runs the installed commands in a
fresh process (so the plug-in's registrations never leak into the other tests' registries)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).parent / "fixtures" / "toy_domain"
SPATIALGEN = Path(__file__).resolve().parents[1] / "spatialgen"


def cli(*args: str, plugin: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SPATIALGEN_DOMAINS", "PYTHONPATH")}
    env |= {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
    if plugin:
        path = os.pathsep.join(filter(None, [str(PLUGIN_DIR), os.environ.get("PYTHONPATH")]))
        env |= {"PYTHONPATH": path, "SPATIALGEN_DOMAINS": "toyline"}
    return subprocess.run([sys.executable, "-m", "spatialgen", *args], capture_output=True, text=True, env=env)


def test_the_plugin_lives_outside_the_package():
    """The toy names no file of spatialgen it changes: its folder is its own, and the package never names it."""
    assert not any("toyline" in p.read_text() for p in SPATIALGEN.rglob("*.py"))
    assert sorted(p.name for p in (PLUGIN_DIR / "toyline").iterdir() if p.name != "__pycache__") == [
        "__init__.py",
        "presets",
    ]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("toy") / "line"
    r = cli("render", "--preset", "line", "--n", "24", "--twins", "--workers", "2", "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    return out


def test_presets_lists_it_only_when_it_is_loaded():
    assert "line 1  line" in cli("presets").stdout
    assert "line" not in cli("presets", plugin=False).stdout.split()


def test_it_renders_deterministically_with_any_worker_count(rendered, tmp_path):
    manifest = json.loads((rendered / "manifest.json").read_text())
    assert manifest["spec"]["config"]["kind"] == "line" and manifest["spec"]["config"]["margins"] == {"margin": 12.0}
    again = tmp_path / "again"
    assert (
        cli(
            "render", "--preset", "line", "--n", "24", "--twins", "--workers", "1", "--out", str(again), "-q"
        ).returncode
        == 0
    )
    shards = sorted(p.relative_to(rendered) for p in (rendered / "data").rglob("*.parquet"))
    assert shards and all((rendered / s).read_bytes() == (again / s).read_bytes() for s in shards)


def test_it_loads_as_a_dataset_and_as_eval_examples(rendered):
    import datasets

    ds = datasets.load_dataset(str(rendered))
    row = ds["train"][0]
    assert row["objects"] and row["questions"] and row["description"].startswith("From left to right")
    # Every stored left/right answer agrees with the stored x positions (the plug-in's own geometry).
    for split in ds.values():
        for r in split:
            xs = {o["id"]: o["x"] for o in r["objects"]}
            for q in r["questions"]:
                p = q["program"]
                if p["relation"] in ("left_of", "right_of"):
                    a, b = p["objects"][:2]
                    left = xs[a] < xs[b]
                    assert q["answer"] == ("yes" if left == (p["relation"] == "left_of") else "no")
    r = cli(
        "eval",
        "--model",
        "tiny-random",
        "--data",
        str(rendered),
        "--split",
        "all",
        "--limit",
        "6",
        "--out",
        str(rendered.parent / "ev"),
        "-q",
    )
    assert r.returncode == 0, r.stderr
    preds = (rendered.parent / "ev" / "predictions.jsonl").read_text().splitlines()
    assert len(preds) == 6


def test_its_card_and_rerender_use_its_own_wording_and_renderer(rendered):
    card = (rendered / "README.md").read_text()
    assert "toy scenes of dots on a line" in card and "Pixel x along the line" in card
    assert "| left_of | left_right | A is left of B on the line |" in card
    r = cli("rerender", str(rendered), "--index", "2", "--out", str(rendered.parent / "r.png"))
    assert r.returncode == 0 and "identical" in r.stdout, r.stdout + r.stderr


def test_a_study_sweeps_its_own_knob_and_refuses_one_it_lacks(tmp_path):
    study = tmp_path / "s.yaml"
    study.write_text("name: toy\npreset: line\nknobs:\n  margin: [6, 30]\nn: 8\nmodels: [tiny-random]\nbatch_size: 4\n")
    r = cli("study", str(study), "--out", str(tmp_path / "rep"), "--cache", str(tmp_path / "cache"))
    assert r.returncode == 0, r.stderr
    with (tmp_path / "rep" / "cells.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["margin"] for r in rows} == {"6", "30"} and all(int(r["n"]) > 0 for r in rows)
    study.write_text(study.read_text().replace("margin: [6, 30]", "noise: [0, 4]"))
    r = cli("study", str(study), "--out", str(tmp_path / "rep2"), "--cache", str(tmp_path / "cache"))
    assert r.returncode == 2 and "knob 'noise' is not a knob of LINE presets; theirs: margin" in r.stderr, r.stderr


def test_a_plugin_that_cannot_be_imported_is_one_line():
    env = {**os.environ, "SPATIALGEN_DOMAINS": "no_such_domain_module"}
    r = subprocess.run([sys.executable, "-m", "spatialgen", "presets"], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and r.stderr.startswith("error: SPATIALGEN_DOMAINS: cannot import"), r.stderr
