"""Data flows one way, scenes -> generator -> models -> eval -> training -> studies (docs/DESIGN.md): a check
that fails when an import goes against it, read from the source with ast (lazy imports inside functions count too)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "spatialgen"
# The rooms, lowest first (docs/DESIGN.md): each may import those before it, never one after it.
# spatialgen.api and spatialgen.cli sit on top of all of them.
ROOMS = ("scenes", "generator", "models", "eval", "training", "studies")
FORBIDDEN = {
    room: (*(f"spatialgen.{r}" for r in ROOMS[k + 1 :]), "spatialgen.cli", "spatialgen.api")
    for k, room in enumerate(ROOMS)
}


def imports(path: Path, package: str | None = None, runtime_only: bool = False) -> list[str]:
    """Absolute module names imported by ``path`` (relative imports resolved against its package); with
    ``runtime_only``, not those under ``if TYPE_CHECKING:`` (annotations only: never run)."""
    package = package or ".".join(path.relative_to(PKG.parent).with_suffix("").parts[:-1])
    tree = ast.parse(path.read_text(), str(path))
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
    out = []
    for node in ast.walk(tree):
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
    probe.write_text("def f():\n    from ..generator import run\n    from spatialgen.models import loading as models\n")
    names = imports(probe, package="spatialgen.scenes")
    assert "spatialgen.generator.run" in names and "spatialgen.models.loading" in names


KIND_TESTS = ("isinstance(", "Scene3DConfig)", "SceneConfig)", "Scene3D)", '"camera" in', ".kind ==", 'kind", "2d")')
KIND_TESTS += ('== "2d"', '== "3d"', '!= "2d"', '!= "3d"')  # a branch on a backend's or a kind's name


def test_no_module_tests_a_scenes_kind():
    """2D and 3D differ behind registries (generator/backends.py by config.backend, scenes/domains.py by
    scene.kind): a module that branches on a config's type, a row's keys or a backend's name instead is the
    old two-pipeline house coming back."""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        for k, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if ("isinstance(" in code and any(t in code for t in KIND_TESTS[1:4])) or any(
                t in code for t in KIND_TESTS[4:]
            ):
                bad.append(f"{path.relative_to(PKG.parent)}:{k}: {line.strip()}")
    assert not bad, bad


# A config asked for a capability by probing its fields: ``getattr(cfg, "allow_overlap", True)`` (a default
# for the domains without the field) or ``hasattr(config, ...)``. A capability is a method every domain's
# config has (scenes/domain_config.py: never_overlaps, perceptual_rules), answered by each domain.
PROBE = re.compile(r"\bhasattr\(\s*[\w.]*(cfg|config)\b|\bgetattr\(\s*[\w.]*(cfg|config)[\w.]*\s*,[^,()]+,")


def test_no_module_probes_a_config_for_a_capability():
    """Scene configs only: a transformers model config is probed in models/ by design (families differ in
    what their config holds, and transformers is not ours to give methods)."""
    bad = [
        f"{path.relative_to(PKG.parent)}:{k}: {line.strip()}"
        for path in sorted(PKG.rglob("*.py"))
        if "models" not in path.relative_to(PKG).parts[:1]
        for k, line in enumerate(path.read_text().splitlines(), 1)
        if PROBE.search(line.split("#")[0])
    ]
    assert not bad, bad


def test_the_probe_check_sees_a_probe():
    assert PROBE.search('x = getattr(cfg, "allow_overlap", True)')
    assert PROBE.search('getattr(spec.config.margins, "strict", False)')
    assert PROBE.search('if hasattr(config, "camera"):')
    assert not PROBE.search("pool = getattr(cfg, POOLS[attr])")  # a field named by data, no default: no probe


def import_graph() -> dict[str, set[str]]:
    """Module -> the spatialgen modules it imports at run time (lazy imports included). ``from pkg import
    sub`` depends on pkg.sub, not on pkg; a module's own parent packages are not edges."""
    mods = {}
    for p in PKG.rglob("*.py"):
        name = ".".join(p.relative_to(PKG.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = p
    graph = {}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        names = imports(p, pkg, runtime_only=True)
        deps = set()
        for n in names:
            if n in mods and any(x.startswith(n + ".") and x in mods for x in names):
                continue
            while n and n not in mods:
                n = n.rsplit(".", 1)[0] if "." in n else ""
            if n and n != m and not m.startswith(n + "."):
                deps.add(n)
        graph[m] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    """Modules import one way inside each part too (a lazy import inside a function counts): a cycle is two
    modules that each need the other, which a newcomer cannot read in order."""
    graph = import_graph()
    # The graph sees relative, absolute and lazy imports (families/relation.py: ``from ..domains import``;
    # backends.py imports rows2d inside a function).
    assert "spatialgen.scenes.domains" in graph["spatialgen.scenes.families.relation"]
    assert "spatialgen.generator.rows2d" in graph["spatialgen.generator.backends"]
    found = cycles(graph)
    assert not found, found


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
