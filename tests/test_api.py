"""The Python API (``spatialgen.render``, ``evaluate``, ``train``, ``study``) is what the CLI runs: same bytes,
same predictions, and the same one-line errors as exceptions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import spatialgen
from spatialgen.errors import SpatialgenError


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spatialgen", *args], capture_output=True, text=True)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted((folder / "data").iterdir())}


def test_render_from_python_equals_the_cli(tmp_path):
    ticks = []
    run = spatialgen.render(tmp_path / "api", 12, preset="easy", workers=1, on_progress=ticks.append)
    assert run.folder == str(tmp_path / "api") and run.workers == 1 and sum(ticks) == 12
    r = cli("render", "--n", "12", "--preset", "easy", "--workers", "1", "--out", str(tmp_path / "cli"), "-q")
    assert r.returncode == 0, r.stderr
    assert _files(tmp_path / "api") == _files(tmp_path / "cli")


def test_evaluate_from_python_equals_the_cli(rendered, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    text = spatialgen.evaluate("tiny-random", [rendered], tmp_path / "api", limit=8)
    assert "## Overall" in text
    r = cli("eval", "--model", "tiny-random", "--data", str(rendered), "--limit", "8", "--out", str(tmp_path / "cli"),
            "-q")  # fmt: skip
    assert r.returncode == 0, r.stderr

    def rows(folder):
        return [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]

    assert rows(tmp_path / "api") == rows(tmp_path / "cli")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: spatialgen.render(t / "x", 0), "n=: Input should be greater than or equal to 1, got 0"),
        (lambda t: spatialgen.render(t / "x", 5, preset="nope"), "nope"),
        (lambda t: spatialgen.evaluate("tiny-random", [t / "missing"], t / "e"), "missing"),
        (lambda t: spatialgen.evaluate("tiny-random", ["a", "a"], t / "e", mode="vibes"), "mode=: Input should"),
        (lambda t: spatialgen.train(t / "missing", t / "x", recipe="magic"), "recipe=: Input should be"),
        (lambda t: spatialgen.train(t / "missing", t / "x"), "missing"),
        (lambda t: spatialgen.study(t / "missing.yaml", t / "x"), "missing.yaml"),
        (
            lambda t: spatialgen.study(t / "missing.yaml", t / "x", n=0),
            "n=: Input should be greater than or equal to 1",
        ),
    ],
)
def test_errors_are_one_line_exceptions(tmp_path, call, message):
    with pytest.raises(SpatialgenError, match=message) as e:
        call(tmp_path)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "x").exists() and not (tmp_path / "e").exists()


@pytest.mark.slow  # trains / runs a study twice (API and CLI): CI runs it with the slow set
def test_train_from_python_equals_the_cli(rendered, tmp_path):
    pytest.importorskip("torch")
    losses = []
    summary = spatialgen.train(
        rendered, tmp_path / "api", steps=3, batch_size=4, tower_steps=3, on_step=lambda k, loss: losses.append(k)
    )
    assert losses == [1, 2, 3] and summary["steps"] == 3
    r = cli(
        "train",
        "--data",
        str(rendered),
        "--out",
        str(tmp_path / "cli"),
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--tower-steps",
        "3",
        "-q",
    )
    assert r.returncode == 0, r.stderr
    weights = "model.safetensors"
    assert (tmp_path / "api" / weights).read_bytes() == (tmp_path / "cli" / weights).read_bytes()


@pytest.mark.slow  # trains / runs a study twice (API and CLI): CI runs it with the slow set
def test_study_from_python_equals_the_cli(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "s.yaml").write_text(
        "name: t\npreset: easy\nknobs:\n  margin: [10, 30]\nn: 4\nmodels: [tiny-random]\nbatch_size: 8\n"
    )
    steps = []
    summary = spatialgen.study(
        tmp_path / "s.yaml",
        tmp_path / "api",
        cache=tmp_path / "cache",
        workers=1,
        on_step=lambda k, n: steps.append((k, n)),
    )
    assert summary == tmp_path / "api" / "summary.md" and steps[-1] == (4, 4)
    r = cli("study", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "cli"), "--cache", str(tmp_path / "cache"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "api" / "cells.csv").read_text() == (tmp_path / "cli" / "cells.csv").read_text()
