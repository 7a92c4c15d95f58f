"""Data flows one way, scenes -> generator -> eval (docs/DESIGN.md): a check that fails when an import goes
against it, read from the source with ast (lazy imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "spatialgen"
# What each part may not import.
# What each part may not import (spatialgen.api and spatialgen.cli sit on top of all three).
FORBIDDEN = {
    "scenes": ("spatialgen.generator", "spatialgen.eval", "spatialgen.cli", "spatialgen.api"),
    "generator": ("spatialgen.eval", "spatialgen.cli", "spatialgen.api"),
    "eval": ("spatialgen.cli", "spatialgen.api"),
}


def imports(path: Path, package: str | None = None) -> list[str]:
    """Absolute module names imported by ``path`` (relative imports resolved against its package)."""
    package = package or ".".join(path.relative_to(PKG.parent).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            out += [mod] + [f"{mod}.{a.name}" for a in node.names]
    return out


@pytest.mark.parametrize("part", list(FORBIDDEN))
def test_imports_flow_one_way(part):
    bad = [
        f"{path.relative_to(PKG.parent)} imports {name}"
        for path in sorted((PKG / part).rglob("*.py"))
        for name in imports(path)
        if name.startswith(FORBIDDEN[part])
    ]
    assert not bad, bad


def test_the_check_sees_relative_and_lazy_imports(tmp_path):
    """The checker itself: a relative import two levels up and one inside a function are both found."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ..generator import run\n    from spatialgen.eval import models\n")
    names = imports(probe, package="spatialgen.scenes")
    assert "spatialgen.generator.run" in names and "spatialgen.eval.models" in names


KIND_TESTS = ("isinstance(", "Scene3DConfig)", "SceneConfig)", "Scene3D)", '"camera" in', ".kind ==", 'kind", "2d")')


def test_no_module_tests_a_scenes_kind():
    """2D and 3D differ behind registries (generator/backends.py by config.backend, scenes/domains.py by
    scene.kind): a module that branches on a config's type or a row's keys instead is the old two-pipeline
    house coming back."""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        for k, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if ("isinstance(" in code and any(t in code for t in KIND_TESTS[1:4])) or any(
                t in code for t in KIND_TESTS[4:]
            ):
                bad.append(f"{path.relative_to(PKG.parent)}:{k}: {line.strip()}")
    assert not bad, bad
