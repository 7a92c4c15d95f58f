"""Behaviour pinned across refactors: fixed 2D renders (and the 3D one in test_render3d.py) must keep the
content digests recorded here.

The digest covers what a user reads back, not how a file library lays it out: every row's fields (canonical
JSON) and every image's decoded pixels, in shard and row order. A parquet writer's metadata may change with
a pyarrow release; the scenes, questions, answers and pixels may not. If a change is meant to alter outputs
(a new field, a new rule), re-record with ``SPATIALGEN_GOLDEN=print pytest tests/test_golden.py -s`` and
say why in the commit.
"""

from __future__ import annotations

import hashlib
import io
import json
import os

import pyarrow.parquet as pq
import pytest
from PIL import Image

from spatialgen.generator.run import render_run

from .conftest import make_spec

# (preset, scenes, twins, config overrides) -> digest, recorded on main before the one-engine redesign.
CASES_2D = {
    "easy-twins": ("easy", 12, True, {}),
    "medium-twins": ("medium", 12, True, {}),
    "hard-hops2": ("hard", 12, False, {"hops": 2}),
    "expert": ("expert", 12, False, {}),
}
GOLDEN = {
    "easy-twins": "45893dccd37d6364a16210f5395ff3df5039fadec1deb868525c664c842753eb",
    "medium-twins": "9ea89e690e09a8a2bb20de9152a2bf7da96c6691cb48d603b4e073145c854ae7",
    "hard-hops2": "ea6365b39f584e0b37b96617fdde54e6dffced18b3c5a3a2a091ba740bda5585",  # 2026-12-07: wording only (#37)
    "expert": "3c985883e0c8b6addc7f1970d236bb1e60c7ed934597b06cbebe7d325feb8765",
    "3d-tiny": "ec71e4454684c603473c405071c0148b65c0f2216e9b4414947669ec4bcc78f2",
}


def _value(v, pixels: bool = True):
    if isinstance(v, bytes) and not pixels:
        return "<bytes>"
    if isinstance(v, bytes):
        try:
            im = Image.open(io.BytesIO(v))
            im.load()
        except OSError:
            return {"bytes": hashlib.sha256(v).hexdigest()}
        return {"pixels": hashlib.sha256(im.tobytes()).hexdigest(), "size": im.size, "mode": im.mode}
    if isinstance(v, dict):
        return {k: _value(x, pixels) for k, x in sorted(v.items())}
    if isinstance(v, list):
        return [_value(x, pixels) for x in v]
    return v


def content_digest(folder, pixels: bool = True) -> str:
    """sha256 over every row in order; ``pixels=False`` leaves out the image bytes (3D: Cycles' pixels may
    differ in the last bit between CPU kernels; the scenes, questions and answers may not)."""
    h = hashlib.sha256()
    for path in sorted((folder / "data").glob("*.parquet")):
        h.update(path.name.encode())
        for row in pq.read_table(path).to_pylist():
            h.update(json.dumps(_value(row, pixels), sort_keys=True, default=str).encode())
    return h.hexdigest()


def check(name: str, folder, pixels: bool = True) -> None:
    got = content_digest(folder, pixels)
    if os.environ.get("SPATIALGEN_GOLDEN") == "print":
        print(f'\n    "{name}": "{got}",')
        return
    assert got == GOLDEN[name], f"{name}: outputs changed (digest {got})"


@pytest.mark.parametrize("name", list(CASES_2D))
def test_2d_outputs_unchanged(name, tmp_path):
    preset, n, twins, cfg = CASES_2D[name]
    render_run(tmp_path / name, make_spec(n=n, preset=preset, twins=twins, seed=3, **cfg), workers=1)
    check(name, tmp_path / name)
