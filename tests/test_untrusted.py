"""Property-based: untrusted files never crash, run code or escape (spatialgen/untrusted.py and its users).

The property, for every loader and for the commands' file arguments: a correct result, or one
SpatialgenError (the CLI: exit 2 and one line), never another exception, and nothing written outside the
folder the user named. tests/test_bad_inputs.py holds the catalogue of named cases; this file throws
arbitrary bytes, nested structures, huge numbers and links at the same doors.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spatialgen.cli import main
from spatialgen.errors import SpatialgenError
from spatialgen.eval.benchmarks import BENCHMARKS
from spatialgen.untrusted import (
    MAX_DEPTH,
    MAX_DIGITS,
    MAX_PIXELS,
    check_pixels,
    open_image,
    parse_json,
    parse_yaml,
    shown,
)

QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# JSON values as a crafted file holds them: any scalar (huge integers, floats, odd text) nested in lists
# and objects, with the keys the real loaders read, so rows get past the first field and into the rest.
KEYS = st.sampled_from(
    ["image", "caption", "label", "relation", "identifier", "directory", "sentence", "question", "choices",
     "answer", "filename", "prompt", "idx", "story", "questions", "q_type", "candidate_answers", "q_id", "data",
     "qa_pairs", "image_filename", "entry_id", "qa_category", "image_path", "caption_options", "bytes", "path"]
)  # fmt: skip
SCALARS = st.none() | st.booleans() | st.integers(min_value=-(10**60), max_value=10**60) | st.floats() | st.text()
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(), inner, max_size=6),
    max_leaves=30,
)


def _loads(kind: str, path: Path) -> None:
    """The property at the loader: a LoadResult whose examples are well-formed, or one SpatialgenError."""
    try:
        res = BENCHMARKS[kind].load(path, None, None)
    except SpatialgenError as e:
        assert "\n" not in str(e)
        return
    for ex in res.examples:
        assert ex.answer in ex.candidates and len(ex.candidates) >= 2, ex


@pytest.mark.parametrize("kind", sorted(BENCHMARKS))
@QUICK
@given(doc=JSON, as_lines=st.booleans())
def test_every_loader_takes_any_json(tmp_path, kind, doc, as_lines):
    f = tmp_path / ("data.jsonl" if as_lines else "data.json")
    text = json.dumps(doc, allow_nan=True)
    f.write_text("\n".join([text, text]) if as_lines else text)
    _loads(kind, f)


@pytest.mark.parametrize("kind", sorted(BENCHMARKS))
@QUICK
@given(blob=st.binary(max_size=300))
def test_every_loader_takes_any_bytes(tmp_path, kind, blob):
    for suffix in (".json", ".jsonl", ".parquet"):
        f = tmp_path / f"data{suffix}"
        f.write_bytes(blob)
        _loads(kind, f)


def _accepted(parse, text: str) -> bool:
    try:
        parse(text, "f")
    except SpatialgenError as e:
        assert "refused" in str(e) and "\n" not in str(e)
        return False
    return True


@QUICK
@given(depth=st.integers(1, 200_000), digits=st.integers(1, 6000))
def test_json_and_yaml_are_bounded(depth, digits):
    """Nesting past MAX_DEPTH and integers past MAX_DIGITS are refused in one line, below them read."""
    for parse in (parse_json, parse_yaml):
        assert _accepted(parse, "[" * depth + "]" * depth) == (depth <= MAX_DEPTH)
        assert _accepted(parse, "[1" + "0" * digits + "]") == (digits + 1 <= MAX_DIGITS)


@QUICK
@given(blob=st.binary(max_size=400))
def test_any_bytes_are_an_image_or_one_error(blob):
    try:
        img = open_image(blob, "x")
    except SpatialgenError as e:
        assert str(e).startswith("x ")
    else:
        assert img.mode == "RGB" and img.size[0] * img.size[1] <= MAX_PIXELS


def test_a_bomb_is_refused_before_it_is_decoded():
    from tests.test_bad_inputs import bomb_png

    with pytest.raises(SpatialgenError, match="over the limit"):
        open_image(bomb_png(), "bomb.png")
    check_pixels((8000, 8000), "ok")  # the documented limit itself passes


def test_yaml_aliases_cannot_expand_without_bound():
    """A "billion laughs" document: 9 levels of 10 aliases each, 10^9 values once walked."""
    doc = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    doc += "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    with pytest.raises(SpatialgenError, match="values; refused"):
        parse_yaml(doc, "laughs.yaml")


def test_paths_in_messages_stay_on_one_line():
    assert shown("a\nb\x1b[31m") == "a\\nb\\x1b[31m"
    assert shown("plain/path é") == "plain/path é"


def test_a_link_out_of_a_benchmark_folder_is_never_read(tmp_path):
    from PIL import Image

    root = tmp_path / "vsr"
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "secret.png")
    (root / "images/a.png").symlink_to(tmp_path / "secret.png")
    (root / "images/b.png").symlink_to(Path("..") / ".." / "secret.png")
    rows = [{"image": n, "caption": "A is left of B.", "label": 1} for n in ("a.png", "b.png", "../../secret.png")]
    (root / "v.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    res = BENCHMARKS["vsr"].load(root / "v.jsonl", None, None)
    assert res.examples == [] and res.problems["malformed row"] == 3


class _RunsCode:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))

    marker = ""


def test_a_crafted_checkpoint_runs_no_code(tmp_path):
    torch = pytest.importorskip("torch")
    from spatialgen.training.train import read_checkpoint

    evil = _RunsCode()
    _RunsCode.marker = str(tmp_path / "ran")
    torch.save({"step": 0, "model": evil, "optimizer": {}, "schedule": {}, "losses": []}, tmp_path / "c.pt")
    with pytest.raises(SpatialgenError, match="refused, not loaded"):
        read_checkpoint(tmp_path / "c.pt", "cpu")
    assert not (tmp_path / "ran").exists()
    (tmp_path / "g.pt").write_bytes(b"PK\x03\x04 a damaged zip")
    with pytest.raises(SpatialgenError, match="not a readable checkpoint"):
        read_checkpoint(tmp_path / "g.pt", "cpu")


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf", "x", "1e400"])
def test_hub_timeout_from_the_environment(tmp_path, capsys, monkeypatch, value):
    assert main(["render", "--n", "2", "--out", str(tmp_path / "ds"), "-q"]) == 0
    monkeypatch.setenv("SPATIALGEN_HUB_TIMEOUT", value)
    monkeypatch.setenv("HF_TOKEN", "hf_fake")
    capsys.readouterr()
    assert main(["push", str(tmp_path / "ds"), "--repo-id", "alice/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "SPATIALGEN_HUB_TIMEOUT" in err[0]


SCENE_KEYS = st.sampled_from(
    ["objects", "families", "min_separation_px", "size_scale", "margins", "hops", "noise", "clutter", "sizes"]
)
CONFIG = st.dictionaries(SCENE_KEYS, JSON, max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cfg=CONFIG, as_json=st.booleans())
def test_render_takes_any_config_file(tmp_path_factory, capsys, cfg, as_json):
    """The command's file argument: exit 0 with a finished folder, or exit 2, one line, no folder left."""
    w = tmp_path_factory.mktemp("cfg")
    f = w / ("c.json" if as_json else "c.yaml")
    f.write_text(json.dumps(cfg, allow_nan=True))  # JSON is YAML too
    capsys.readouterr()
    rc = main(["render", "--n", "1", "--workers", "1", "--config", str(f), "--out", str(w / "out"), "-q"])
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    if rc == 0:
        assert (w / "out/manifest.json").exists()
    else:
        assert rc == 2 and len(err) == 1 and err[0].startswith("error: "), err
        assert not (w / "out").exists()
    assert sorted(p.name for p in w.iterdir()) == sorted([f.name] + (["out"] if rc == 0 else []))
