"""The built wheel, installed into a fresh venv outside the checkout, runs the README's offline commands.

The fresh venv holds only the wheel; its dependencies come from the test venv's site-packages on
PYTHONPATH (PYTHONPATH does not run .pth files, so the checkout's editable install cannot leak in). The
slow variant installs ``wheel[eval]`` with pip as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDY = """
name: wheel
preset: easy
fixed: {families: {left_right: 1}}
knobs: {margin: [10, 30]}
n: 4
seed: 1
models: [tiny-random]
controls: false
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return next(dist.glob("spatialgen-*.whl"))


def test_wheel_holds_every_package_and_the_presets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for pkg in ROOT.joinpath("spatialgen").rglob("__init__.py"):
        assert pkg.relative_to(ROOT).as_posix() in names
    assert "spatialgen/scenes/presets/medium.yaml" in names
    assert "spatialgen/eval/benchmarks/cvbench.py" in names


@pytest.fixture(scope="module")
def fresh(wheel, tmp_path_factory) -> tuple[Path, dict]:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"], "HF_HUB_OFFLINE": "1"}
    return venv, env


def _run(fresh, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    venv, env = fresh
    return subprocess.run([str(venv / "bin/spatialgen"), *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_installed_wheel_runs_render_eval_diagnose_and_study(fresh, tmp_path):
    venv, env = fresh
    where = subprocess.run(
        [str(venv / "bin/python"), "-c", "import spatialgen.eval.sources as s; print(s.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(venv))
    r = _run(fresh, tmp_path, "render", "--n", "12", "--out", "ds", "-q")
    assert r.returncode == 0, r.stderr
    for args in (  # the README's other offline commands
        ["presets"],
        ["preview", "ds", "--dest", "sheet.png"],
        ["card", "ds", "--license", "mit"],
        ["rerender", "ds", "--index", "1", "--out", "again.png"],
        ["export-2ds", "ds", "--dest", "2ds"],
        ["study", "--example"],
    ):
        r = _run(fresh, tmp_path, *args)
        assert r.returncode == 0, (args, r.stderr)
    r = _run(fresh, tmp_path, "eval", "--model", "tiny-random", "--data", "ds", "--split", "all", "--limit", "8",
             "--out", "res", "-q")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "res/summary.md").exists()
    r = _run(fresh, tmp_path, "diagnose", "norms", "--model", "tiny-random", "--data", "ds", "--split", "all",
             "--limit", "4", "--out", "diag")  # fmt: skip
    assert r.returncode == 0, r.stderr
    (tmp_path / "s.yaml").write_text(STUDY)
    r = _run(fresh, tmp_path, "study", "s.yaml", "--out", "report", "--cache", "cells", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "report/summary.md").exists()


@pytest.mark.slow
def test_pip_install_wheel_with_the_eval_extra(wheel, tmp_path):
    """As a user installs it: pip resolves the dependencies (torch pinned to the CPU build on disk)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, os.environ.get("SPATIALGEN_TORCH", "torch==2.13.0")], check=True)
    subprocess.run([*pip, f"{wheel}[eval]"], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([str(venv / "bin/spatialgen"), "render", "--n", "8", "--out", "ds", "-q"], cwd=tmp_path,
                       env=env, capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    args = ["eval", "--model", "tiny-random", "--data", "ds", "--split", "all", "--out", "res", "-q"]
    r = subprocess.run([str(venv / "bin/spatialgen"), *args], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
