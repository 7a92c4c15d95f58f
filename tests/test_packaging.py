"""The three top-level folders install as spatialgen.scenes/generator/eval, editable and as a wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK = (
    "import sys, spatialgen.scenes as s, spatialgen.generator as g, spatialgen.eval as e;"
    "from spatialgen.scenes.config import load_preset; load_preset('medium');"
    "print(s.__file__); print(g.__file__); print(e.__file__)"
)


def test_editable_install_imports_all_three(tmp_path):
    out = subprocess.run([sys.executable, "-c", CHECK], cwd=tmp_path, capture_output=True, text=True, check=True)
    files = out.stdout.split()
    assert [Path(f).parent.name for f in files] == ["scenes", "generator", "eval"]


def test_built_wheel_imports_all_three(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("spatialgen-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "spatialgen/scenes/presets/medium.yaml" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = f"import sys; sys.path.insert(0, {str(site)!r}); " + CHECK
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert all(f.startswith(str(site)) for f in out.stdout.split())
