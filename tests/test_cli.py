"""The CLI end to end, and every bad input: one line on stderr, exit code 2, nothing written or damaged."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import folder_digest


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spatialgen", *args], capture_output=True, text=True, cwd=cwd)


def test_render_preview_export_end_to_end(tmp_path):
    out = tmp_path / "ds"
    r = cli("render", "--n", "30", "--out", str(out), "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "30 scenes" in r.stderr
    assert (out / "README.md").exists() and (out / "preview.png").exists()
    r = cli("preview", str(out), "--dest", str(tmp_path / "sheet.png"), "--count", "4")
    assert r.returncode == 0 and (tmp_path / "sheet.png").stat().st_size > 1000
    r = cli("export-2ds", str(out), "--dest", str(tmp_path / "2ds"), "--format", "json")
    assert r.returncode == 0, r.stderr
    entries = json.loads((tmp_path / "2ds" / "data.json").read_text())
    assert len(entries) == 30
    e = entries[0]
    assert set(e) == {"entry_id", "image_filename", "test_category", "qa_pairs", "objects"}
    assert set(e["qa_pairs"][0]) == {"question", "answer", "qa_category"}
    assert (tmp_path / "2ds" / e["image_filename"]).exists()
    r = cli("presets")
    assert r.returncode == 0 and r.stdout.count("\n") >= 4


def test_progress_bar_reports_rate(tmp_path):
    env = {**os.environ, "COLUMNS": "120", "FORCE_COLOR": "0", "TERM": "xterm"}
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from rich.console import Console; import spatialgen.cli as c; "
            "import sys; sys.exit(c.main(['render','--n','20','--out',sys.argv[1]]))",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    # The bar itself (the summary line also says "scenes/s", so that alone would prove nothing).
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", r.stderr)
    assert re.search(r"rendering .* 20/20 scenes [\d.]+/s .* eta", plain), plain[-500:]


BAD = [
    (["--preset", "nope"], "unknown preset 'nope'"),
    (["--n", "0"], "--n: Input should be greater than or equal to 1"),
    (["--n", "-5"], "--n: Input should be greater than or equal to 1"),
    (["--workers", "0"], "--workers: Input should be greater than or equal to 1, got 0"),
    (["--format", "gif"], "--format: Input should be 'png' or 'jpeg', got 'gif'"),
    (["--image-size", "-3"], "--image-size: Input should be greater than or equal to 32"),
    (["--n", "ten"], "integer"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_arguments(tmp_path, args, message):
    r = cli("render", "--out", str(tmp_path / "o"), *args)
    assert r.returncode == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "o").exists()


CONFIGS = [
    ("sizes.yaml", "sizes: {small: -4}\n", "sizes: Value error, size 'small' must be positive"),
    ("keys.yaml", "objectz: [1, 2]\n", "objectz: unknown key"),
    ("broken.yaml", "objects: [1, 2\nsizes: {\n", "is not valid YAML at line"),
    ("crowded.yaml", "objects: [40, 60]\n", "would fill"),
    ("huge.yaml", "sizes: {large: 400}\n", "does not fit"),
    ("order.json", '{"objects": [5, 2]}', "objects: Value error, need 1 <= min <= max"),
    ("list.yaml", "- 1\n- 2\n", "must hold a mapping"),
]


@pytest.mark.parametrize(("name", "text", "message"), CONFIGS)
def test_bad_configs(tmp_path, name, text, message):
    cfg = tmp_path / name
    cfg.write_text(text)
    r = cli("render", "--out", str(tmp_path / "o"), "--n", "5", "--config", str(cfg))
    assert r.returncode == 2
    assert message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_missing_config_file(tmp_path):
    r = cli("render", "--out", str(tmp_path / "o"), "--config", str(tmp_path / "none.yaml"))
    assert r.returncode == 2 and "cannot read config" in r.stderr


def test_mismatched_folder_is_refused_and_left_intact(rendered, tmp_path):
    before = folder_digest(rendered)
    r = cli("render", "--out", str(rendered), "--n", "61", "--twins", "--seed", "7")
    assert r.returncode == 2
    assert "holds a different run" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert folder_digest(rendered) == before


def test_foreign_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    r = cli("render", "--out", str(tmp_path), "--n", "5")
    assert r.returncode == 2 and "is not empty and holds no spatialgen run" in r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_unwritable_folder(tmp_path):
    # Under a regular file: no one, root included, can create a folder there.
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    r = cli("render", "--out", str(blocker / "o"), "--n", "5")
    assert r.returncode == 2 and "cannot write to" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    if os.geteuid() != 0:  # a read-only folder stops everyone but root
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        r = cli("render", "--out", str(ro / "o"), "--n", "5")
        assert r.returncode == 2 and "cannot write" in r.stderr


def test_output_path_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = cli("render", "--out", str(f), "--n", "5")
    assert r.returncode == 2 and "is not a folder" in r.stderr
    assert f.read_text() == "x"


def test_preview_of_non_render(tmp_path):
    r = cli("preview", str(tmp_path))
    assert r.returncode == 2 and "not a spatialgen render folder" in r.stderr


def test_every_option_has_help_and_brackets_survive():
    import typer

    from spatialgen.cli import app

    cmd = typer.main.get_command(app)
    for name, c in cmd.commands.items():
        for p in c.params:
            assert getattr(p, "help", None), f"{name} {p.name} has no help text"
    r = subprocess.run([sys.executable, "-m", "spatialgen", "render", "--help"], capture_output=True, text=True,
                       env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    assert "[default: medium, or 3d with --backend 3d]" in " ".join(r.stdout.split())  # not eaten as Rich markup


@pytest.mark.parametrize(("rate", "text"), [(0.4, "2.5 s/scene"), (3.25, "3.2/s"), (921.4, "921/s")])
def test_rate_never_reads_zero(rate, text):
    from spatialgen.cli import rate_text

    assert rate_text(rate) == text


def test_rerender_tolerances():
    import numpy as np

    from spatialgen.generator.manifest import RunSpec
    from spatialgen.generator.rerender import compare
    from spatialgen.scenes.config import load_preset, resolve_config

    a = np.zeros((10, 10, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 1
    spec2d = RunSpec(n=1, seed=0, preset="medium", level=2, scenes_per_shard=1, config=resolve_config("medium"))
    assert compare(a, a, spec2d).same
    assert not compare(a, b, spec2d).same  # 2D PNG: exact
    cfg3d = load_preset("3d-draft").config
    spec3d = RunSpec(n=1, seed=0, preset="3d-draft", level=1, scenes_per_shard=1, config=cfg3d)
    assert cfg3d.render.denoise
    big_a, big_b = np.zeros((200, 200, 3), np.uint8), np.zeros((200, 200, 3), np.uint8)
    big_b[0, :10, 0] = 1  # 0.025 % of pixels, one level: the denoiser's noise
    assert compare(big_a, big_b, spec3d).same
    big_b[0, 0, 0] = 3
    assert not compare(big_a, big_b, spec3d).same


def test_rerender_exits_1_on_a_real_difference(tmp_path):
    out = tmp_path / "ds"
    assert cli("render", "--n", "6", "--out", str(out), "-q").returncode == 0
    code = (
        "import sys, dataclasses; from spatialgen.generator import backends as b; from PIL import ImageOps; "
        "d = b.BACKENDS['2d']; b.BACKENDS['2d'] = dataclasses.replace("
        "d, render_row=lambda row: ImageOps.invert(d.render_row(row))); "
        "from spatialgen.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    args = ["rerender", str(out), "--index", "1", "--out", str(tmp_path / "x.png")]
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert r.returncode == 1 and "DIFFERENT" in r.stdout, r.stdout + r.stderr
    r = cli(*args)
    assert r.returncode == 0 and "identical" in r.stdout


def test_card_front_matter_is_what_the_hub_reads(rendered, tmp_path):
    import shutil

    import yaml

    meta_text = (rendered / "README.md").read_text().split("---\n")[1]
    assert "&id" not in meta_text and "*id" not in meta_text  # no YAML anchors
    meta = yaml.safe_load(meta_text)
    assert [c["config_name"] for c in meta["configs"]] == ["default"]
    info = meta["dataset_info"]
    parquet = list((rendered / "data").glob("*.parquet"))
    assert info["download_size"] == sum(p.stat().st_size for p in parquet)
    assert all(s["num_bytes"] > 0 for s in info["splits"]) and info["dataset_size"] > 0
    assert meta["license"] == "cc-by-4.0"
    copy = tmp_path / "copy"
    shutil.copytree(rendered, copy)
    r = cli("card", str(copy), "--license", "mit")
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load((copy / "README.md").read_text().split("---\n")[1])["license"] == "mit"
    assert cli("card", str(copy)).returncode == 0  # regenerating keeps the chosen license
    assert yaml.safe_load((copy / "README.md").read_text().split("---\n")[1])["license"] == "mit"
    r = cli("card", str(copy), "--license", "Not A License!")
    assert r.returncode == 2 and "--license must be" in r.stderr


@pytest.mark.parametrize("command", ["render", "eval", "export-2ds", "study", "train"])
def test_a_second_writer_is_refused(rendered, tmp_path, command):
    """Another process holds the output folder (as a concurrent run would): refused in one line, untouched."""
    from spatialgen.lock import folder_lock

    out = tmp_path / "busy"
    out.mkdir()
    (tmp_path / "s.yaml").write_text("knobs: {margin: [10]}\nmodels: [tiny-random]\nn: 2\ncontrols: false\n")
    args = {
        "render": ["render", "--n", "3", "--out", str(out), "-q"],
        "eval": ["eval", "--model", "tiny-random", "--data", str(rendered), "--limit", "2", "--out", str(out), "-q"],
        "export-2ds": ["export-2ds", str(rendered), "--dest", str(out)],
        "study": ["study", str(tmp_path / "s.yaml"), "--out", str(out), "--cache", str(tmp_path / "cells")],
        "train": ["train", "--data", str(rendered), "--out", str(out), "--steps", "1", "-q"],
    }[command]
    with folder_lock(out):
        r = cli(*args)
    assert r.returncode == 2 and "being written by another spatialgen process" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not any(out.iterdir())
