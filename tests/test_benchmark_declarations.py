"""Benchmarks are declarations: the README's "Adding a benchmark" file, dropped into the package, is found
and read with nothing else edited; every shipped declaration is complete."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from PIL import Image

README = Path(__file__).resolve().parents[1] / "docs" / "evaluation.md"  # its "Adding a benchmark"


def _readme_example() -> str:
    text = README.read_text()
    m = re.search(r"```python\n(# spatialgen/eval/benchmarks/mybench\.py\n.*?)```", text, re.S)
    assert m, "docs/evaluation.md lost its 'Adding a benchmark' example"
    return m.group(1)


def test_the_readme_benchmark_is_one_file(tmp_path, monkeypatch):
    import spatialgen.eval.benchmarks as pkg

    (tmp_path / "mybench.py").write_text(_readme_example())
    monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(tmp_path)])
    found = pkg._discover()
    sys.modules.pop("spatialgen.eval.benchmarks.mybench", None)
    assert "mybench" in found and found["mybench"].images and found["mybench"].groups == ("relation",)
    assert set(pkg.BENCHMARKS) < set(found)  # the shipped ones, plus the new one

    Image.new("RGB", (8, 8), (200, 10, 10)).save(tmp_path / "a.png")
    rows = [
        {"image": "a.png", "question": "Is the cup left of the plate?", "label": True, "relation": "left of"},
        {"image": "../../etc/passwd", "question": "?", "label": False},  # leaves the image folder
        {"image": "missing.png", "question": "?", "label": False},
    ]
    data = tmp_path / "my.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    res = found["mybench"].load(data, tmp_path, None)
    assert [e.answer for e in res.examples] == ["yes"] and res.examples[0].categories == {"relation": "left of"}
    assert res.problems == {"malformed row": 2, "missing image": 1}


def test_shipped_declarations_are_complete():
    from spatialgen.eval.benchmarks import BENCHMARKS
    from spatialgen.eval.report import GROUP_KEYS
    from spatialgen.eval.sources import KINDS

    assert set(BENCHMARKS) == {
        "2ds",
        "nlvr",
        "nlvr2",
        "vsr",
        "spartqa",
        "spartun",
        "cvbench",
        "whatsup",
        "pope",
        "mmvp",
        "gqa",
        "vqav2",
        "coco-captions",
    }
    assert set(KINDS) == set(BENCHMARKS)
    for kind, b in BENCHMARKS.items():
        assert b.kind == kind and b.layout and callable(b.load), kind
        assert set(b.groups) <= set(GROUP_KEYS), kind
        assert (b.score is None) == (b.score_title is None), kind
