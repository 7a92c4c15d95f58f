"""The row columns declared once (spatialgen/generator/columns.py): what a backend writes is what its features
type, and what it reads back rebuilds the scene. Pixel-level round trips are in test_dataset.py and
test_render3d.py; the shards' bytes are pinned in test_golden.py."""

from __future__ import annotations

import pytest

from spatialgen.generator import columns, rows2d, rows3d
from spatialgen.scenes.config import load_preset
from spatialgen.scenes.flat.example import make_example
from spatialgen.scenes.world.scene import Camera, Light


def test_a_2d_row_is_typed_by_its_features_and_reads_back_to_its_scene():
    cfg = load_preset("hard").config
    for i in range(20):
        view = make_example(cfg, 7, i).original
        r = rows2d.row(
            rid="x",
            index=i,
            split="test",
            view=view,
            image=b"",
            ext="png",
            cfg=cfg,
            preset="hard",
            level=3,
            twin_id=None,
            twin_role=None,
        )
        f = rows2d.features()
        assert list(r) == list(f)  # every column written is typed, in the shards' column order
        assert list(r["objects"][0]) == list(f["objects"].feature)
        assert list(r["difficulty"]) == list(f["difficulty"]) and list(r["render"]) == list(f["render"])
        assert rows2d.scene_from_row(r) == view.scene


def test_3d_camera_and_lights_read_back():
    cam = Camera((7.0, -6.5, 5.0), (0.0, 0.0, 0.5), 320, 240, 40.0, 36.0)
    stored = columns.write(rows3d.CAMERA, cam)
    assert len(stored["intrinsics"]) == 9 and len(stored["world_to_camera"]) == 16  # derived, never read back
    assert Camera(**columns.read(rows3d.CAMERA, stored), width=320, height=240) == cam
    light = Light((1.0, 2.0, 3.0), 500.0, 2.5)
    assert Light(**columns.read(rows3d.LIGHT, columns.write(rows3d.LIGHT, light))) == light
    assert list(columns.features(rows3d.CAMERA)) == list(stored)


def test_model_columns_follow_the_model_and_older_rows_take_their_defaults():
    from spatialgen.scenes.flat.scene import Margins

    assert [c.name for c in rows2d.MARGINS] == list(Margins.model_fields)  # a new margin is a new column
    kinds = {c.name: c.kind for c in rows2d.MARGINS}
    assert kinds["margin_px"] == "float64" and kinds["strict"] == "bool"
    assert {c.name: c.kind for c in rows3d.RENDER_3D} == {
        "engine": "string",
        "samples": "int32",
        "denoise": "bool",
        "device": "string",
        "depth": "bool",
    }
    old = {"margin_px": 9.0}  # a row from before the other margins existed
    assert Margins(**columns.read(rows2d.MARGINS, old, missing={"strict": False})) == Margins(margin_px=9, strict=False)


def test_an_unknown_field_type_is_refused_when_declared():
    from pydantic import BaseModel

    class Odd(BaseModel):
        when: complex = 1j

    with pytest.raises(KeyError):
        columns.model_columns(Odd, lambda o: o)
