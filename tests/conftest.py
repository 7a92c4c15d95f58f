from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

# Tests get their own empty Hugging Face caches and never reach the network; set before datasets is imported.
_HF = tempfile.mkdtemp(prefix="spatialgen-test-hf-")
os.environ.update(
    HF_HOME=_HF, HF_DATASETS_CACHE=os.path.join(_HF, "datasets"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1"
)

import pytest

# The real lmms-eval (0.7.3) with what lmms_eval.tasks imports beyond this project's own dependencies: the slow
# tests install it --no-deps once per session (about 16 s here).
LMMS = ("lmms-eval==0.7.3", "loguru", "pytz", "tenacity", "evaluate", "sacrebleu", "portalocker", "tabulate")
LMMS += ("colorama", "lxml")


@pytest.fixture(scope="session")
def lmms_eval_path(tmp_path_factory) -> Path:
    """A folder holding the real lmms-eval package, for PYTHONPATH (skips where it does not install)."""
    import subprocess
    import sys

    target = tmp_path_factory.mktemp("lmms")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), *LMMS],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if r.returncode != 0:
        pytest.skip(f"lmms-eval did not install here: {r.stderr.strip().splitlines()[-1:]}")
    return target


from spatialgen.generator.manifest import RunSpec, default_shard_size
from spatialgen.generator.run import render_run
from spatialgen.scenes.config import load_preset, resolve_config


def make_spec(n: int = 40, preset: str = "medium", twins: bool = False, seed: int = 7, **cfg) -> RunSpec:
    p = load_preset(preset)
    config = resolve_config(preset).model_copy(update=cfg) if cfg else p.config
    return RunSpec(
        n=n, seed=seed, preset=preset, level=p.level, twins=twins, scenes_per_shard=default_shard_size(n), config=config
    )


def folder_digest(folder: Path) -> dict[str, str]:
    """Every file's hash, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> Path:
    """A small finished render of the default preset, with twins, shared by read-only tests."""
    from spatialgen.generator.card import write_card

    out = tmp_path_factory.mktemp("rendered") / "ds"
    render_run(out, make_spec(n=60, twins=True), workers=2, finish=write_card)
    return out
