"""3D rendering with Blender on the CPU, tiny images and few samples. Skipped where no Python with bpy is
found (SPATIALGEN_BPY_PYTHON, ./.venv-3d, or this interpreter); `make test` sets up ./.venv-3d."""

from __future__ import annotations

import colorsys
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialgen.errors import SpatialgenError
from spatialgen.scenes.vocab import COLORS
from spatialgen.scenes.world.config import Scene3DConfig
from spatialgen.scenes.world.relations import RELATIONS_3D
from spatialgen.scenes.world.scene import Camera, Light, Margins3D, Obj3D, Scene3D, silhouette_area

from .conftest import folder_digest

ROOT = Path(__file__).resolve().parents[1]


def _bpy() -> str | None:
    from spatialgen.generator.blender import bpy_python

    try:
        return bpy_python()
    except SpatialgenError:
        return None


BPY = _bpy()
needs_bpy = pytest.mark.skipif(BPY is None, reason="no Python with bpy (make test sets up .venv-3d)")
TINY = """kind: 3d
width: 128
height: 96
objects: [2, 4]
min_visible_px: 10
render: {engine: cycles, samples: 4, denoise: false}
"""


def cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    e = {**os.environ, **({"SPATIALGEN_BPY_PYTHON": BPY} if BPY else {}), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "spatialgen", *args], capture_output=True, text=True, env=e, cwd=cwd or ROOT
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("r3d")
    (root / "tiny.yaml").write_text(TINY)
    out = root / "ds"
    r = cli(
        "render",
        "--backend",
        "3d",
        "--config",
        str(root / "tiny.yaml"),
        "--n",
        "4",
        "--twins",
        "--out",
        str(out),
        "--workers",
        "2",
        "-q",
    )
    assert r.returncode == 0, r.stderr
    return root, out


@needs_bpy
def test_end_to_end_and_dataset(tiny):
    from datasets import load_dataset

    _, out = tiny
    ds = load_dataset(str(out))
    rows = [r for split in ds.values() for r in split]
    assert len(rows) == 8 and {r["twin_role"] for r in rows} == {"original", "twin"}
    r = rows[0]
    assert r["image"].size == (128, 96) and len(r["camera"]["intrinsics"]) == 9
    assert len(r["camera"]["world_to_camera"]) == 16 and r["questions"]
    assert (out / "README.md").read_text().count("3D") >= 2


@needs_bpy
def test_masks_agree_with_visibility_counts(tiny):
    from spatialgen.generator.folder import iter_rows
    from spatialgen.generator.rows3d import scene_from_row3d, unrle

    _, out = tiny
    checked_colors = 0
    for r in iter_rows(out):
        scene = scene_from_row3d(r)
        img = np.asarray(Image.open(io.BytesIO(r["image"]["bytes"])).convert("RGB"))
        union = np.zeros((r["height"], r["width"]), dtype=int)
        for o in r["objects"]:
            m = unrle(o["mask_rle"], r["height"], r["width"])
            union += m
            assert int(m.sum()) == o["visible_px"] >= 10
            ys, xs = np.nonzero(m)
            assert o["bbox"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            full = silhouette_area(scene.by_id[o["id"]], scene.camera)
            assert o["visible_frac"] == pytest.approx(min(1.0, o["visible_px"] / full), abs=1e-4)
            if o["material"] == "rubber" and o["color"] in ("red", "green", "blue", "yellow") and m.sum() >= 20:
                med = np.median(img[m], axis=0) / 255
                hue = colorsys.rgb_to_hsv(*med)[0] * 360
                want = colorsys.rgb_to_hsv(*(c / 255 for c in COLORS[o["color"]]))[0] * 360
                assert min(abs(hue - want), 360 - abs(hue - want)) < 30, (o["color"], med)
                checked_colors += 1
        assert union.max() <= 1  # instance masks never overlap
    assert checked_colors >= 1


@needs_bpy
def test_rerender_gives_identical_pixels(tiny, tmp_path):
    _, out = tiny
    for extra in ([], ["--twin"]):
        r = cli("rerender", str(out), "--index", "2", "--out", str(tmp_path / "x.png"), *extra)
        assert r.returncode == 0 and "identical" in r.stdout, r.stdout + r.stderr


@needs_bpy
def test_one_and_two_workers_write_the_same_bytes(tiny, tmp_path):
    root, out = tiny
    r = cli(
        "render",
        "--backend",
        "3d",
        "--config",
        str(root / "tiny.yaml"),
        "--n",
        "4",
        "--twins",
        "--out",
        str(tmp_path / "w1"),
        "--workers",
        "1",
        "-q",
    )
    assert r.returncode == 0, r.stderr
    assert folder_digest(tmp_path / "w1") == folder_digest(out)


@needs_bpy
def test_denoised_rerender_within_one_level(tmp_path):
    """Blender's denoiser (OIDN) is not bit-reproducible: a few pixels move by one 8-bit level."""
    from spatialgen.generator.rerender import find_row, rerender

    (tmp_path / "d.yaml").write_text(TINY.replace("denoise: false", "denoise: true"))
    r = cli(
        "render",
        "--backend",
        "3d",
        "--config",
        str(tmp_path / "d.yaml"),
        "--n",
        "1",
        "--out",
        str(tmp_path / "ds"),
        "-q",
    )
    assert r.returncode == 0, r.stderr
    os.environ.setdefault("SPATIALGEN_BPY_PYTHON", BPY)
    rerender(tmp_path / "ds", 0, tmp_path / "x.png")
    stored = np.asarray(Image.open(io.BytesIO(find_row(tmp_path / "ds", 0, False)["image"]["bytes"])), dtype=int)
    again = np.asarray(Image.open(tmp_path / "x.png"), dtype=int)
    diff = np.abs(stored - again)
    assert diff.max() <= 1 and (diff.any(-1)).mean() < 0.01


@needs_bpy
def test_depth_map(tmp_path):
    from spatialgen.generator.folder import iter_rows
    from spatialgen.generator.rows3d import scene_from_row3d, unrle

    (tmp_path / "t.yaml").write_text(TINY)
    r = cli(
        "render",
        "--backend",
        "3d",
        "--config",
        str(tmp_path / "t.yaml"),
        "--n",
        "2",
        "--depth",
        "--out",
        str(tmp_path / "ds"),
        "-q",
    )
    assert r.returncode == 0, r.stderr
    for row in iter_rows(tmp_path / "ds"):
        depth = np.asarray(Image.open(io.BytesIO(row["depth"]["bytes"]))).astype(float) / 1000
        assert depth.shape == (96, 128) and (depth > 0).all()  # the ground fills the view
        scene = scene_from_row3d(row)
        for o in row["objects"]:
            ob = scene.by_id[o["id"]]
            center = scene.camera.to_camera((ob.x, ob.y, ob.z))[2]
            d = float(np.median(depth[unrle(o["mask_rle"], 96, 128)]))
            assert center - 1.5 * ob.r <= d <= center + 0.05, (o["shape"], center, d)


def _scene(a_xy, b_xy) -> Scene3D:
    cam = Camera((0.0, -9.5, 6.5), (0.0, 0.0, 0.4), 128, 96)
    objs = (
        Obj3D(0, "cube", "red", "rubber", "medium", 0.5, *a_xy, 0.5),
        Obj3D(1, "sphere", "blue", "rubber", "medium", 0.5, *b_xy, 0.5),
    )
    return Scene3D(objs, cam, (Light((4.0, -4.0, 6.0), 400.0),) * 3, Margins3D())


def test_relations_in_the_camera_frame():
    def rel(name, s):
        return RELATIONS_3D[name].holds(s, *s.objects)

    s = _scene((-1.5, 0.0), (1.5, 0.0))
    assert rel("left_of", s) is True and rel("right_of", s) is False
    moved = _scene((2.5, 0.0), (1.5, 0.0))  # the cube moves to the right of the sphere
    assert rel("left_of", moved) is False and rel("right_of", moved) is True
    near = _scene((1.4, 0.0), (1.5, 0.0))  # inside the margin: never asked
    assert rel("left_of", near) is None
    front = _scene((0.0, -2.0), (0.0, 2.0))  # y grows away from the camera
    assert rel("in_front_of", front) is True and rel("behind", front) is False
    assert rel("closer_to_camera", front) is True
    # The camera sees from -y: a camera turned around swaps left and right.
    flipped = Scene3D(s.objects, Camera((0.0, 9.5, 6.5), (0.0, 0.0, 0.4), 128, 96), s.lights, s.margins)
    assert RELATIONS_3D["left_of"].holds(flipped, *flipped.objects) is False


def test_front_behind_is_measured_on_the_ground_plane():
    # CLEVR's render_images.py projects the camera's behind/front vector onto the ground plane (z = 0)
    # before comparing object positions, so height never makes one object "in front of" another.
    cam = Camera((0.0, -9.5, 6.5), (0.0, 0.0, 0.4), 128, 96)
    base = Obj3D(0, "cylinder", "blue", "rubber", "large", 0.7, 0.3, 0.4, 0.7)
    top = Obj3D(1, "cube", "orange", "metal", "small", 0.35, 0.3, 0.4, 1.75, on=0)  # resting on the cylinder
    stacked = Scene3D((base, top), cam, (Light((4.0, -4.0, 6.0), 400.0),) * 3, Margins3D())
    for rel in ("in_front_of", "behind"):
        assert RELATIONS_3D[rel].holds(stacked, top, base) is None  # same ground position: never asked
    # its camera depth does differ by its height: that is "closer to the camera", a question of its own
    assert stacked.cam[1][2] < stacked.cam[0][2] - Margins3D().margin
    assert RELATIONS_3D["closer_to_camera"].holds(stacked, top, base) is True
    assert RELATIONS_3D["on_top_of"].holds(stacked, top, base) is True
    # a camera off to the side: front/behind follows its ground direction, not world y
    side = Camera((-9.5, 0.0, 6.5), (0.0, 0.0, 0.4), 128, 96)
    a = Obj3D(0, "cube", "red", "rubber", "medium", 0.5, -2.0, 0.0, 0.5)
    b = Obj3D(1, "sphere", "blue", "rubber", "medium", 0.5, 2.0, 0.0, 0.5)
    s = Scene3D((a, b), side, (Light((4.0, -4.0, 6.0), 400.0),) * 3, Margins3D())
    assert RELATIONS_3D["in_front_of"].holds(s, a, b) is True


@needs_bpy
def test_left_of_agrees_with_pixels():
    from spatialgen.generator.blender import BlenderWorker
    from spatialgen.generator.rows3d import decode_ids

    w = BlenderWorker(BPY)
    try:
        for a_xy, b_xy in (((-1.5, 0.0), (1.5, 0.0)), ((2.5, 0.5), (0.5, -0.5))):
            s = _scene(a_xy, b_xy)
            ids = decode_ids(w.render(s.to_dict(), "ids"))
            cx = [np.nonzero(ids == k)[1].mean() for k in (0, 1)]
            assert (cx[0] < cx[1]) == RELATIONS_3D["left_of"].holds(s, *s.objects)
        assert os.listdir(w.tmp)  # Blender writes its images into the client's scratch folder...
    finally:
        w.close()
    assert not os.path.exists(w.tmp)  # ...which closing removes (runs used to leave one in /tmp each)


def test_missing_bpy_is_one_line(tmp_path):
    r = cli(
        "render",
        "--backend",
        "3d",
        "--n",
        "2",
        "--out",
        str(tmp_path / "o"),
        env={"SPATIALGEN_BPY_PYTHON": str(tmp_path / "no-python")},
        cwd=tmp_path,
    )
    if "bpy" in sys.modules or sys.executable == BPY:
        pytest.skip("this interpreter has bpy")
    assert r.returncode == 2 and "needs Blender's bpy module" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_bad_engine_name(tmp_path):
    r = cli("render", "--backend", "3d", "--engine", "vray", "--n", "2", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "--engine" in r.stderr and "cycles" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_3d_options_need_the_3d_backend(tmp_path):
    r = cli("render", "--engine", "cycles", "--n", "2", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.startswith("error: --engine: 3D render options; they apply to 3D presets"), (
        r.stderr
    )
    r = cli("render", "--backend", "3d", "--preset", "hard", "--n", "2", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "is a 2D preset" in r.stderr


def test_3d_config_is_never_taken_for_2d():
    from spatialgen.generator.manifest import RunSpec
    from spatialgen.scenes.config import load_preset

    spec = RunSpec(n=1, seed=0, preset="3d", level=2, scenes_per_shard=1, config=load_preset("3d").config)
    assert isinstance(RunSpec.model_validate_json(spec.model_dump_json()).config, Scene3DConfig)


@needs_bpy
def test_3d_dataset_evaluates(tiny, tmp_path):
    pytest.importorskip("torch")
    from spatialgen.eval.sources import load_source

    _, out = tiny
    exs = load_source(str(out), split="all").examples
    assert exs and all(e.answer in e.candidates for e in exs)
    r = cli("eval", "--model", "tiny-random", "--data", str(out), "--split", "all", "--limit", "12",
            "--out", str(tmp_path / "e"), "-q")  # fmt: skip
    assert r.returncode == 0, r.stderr


@needs_bpy
def test_outputs_unchanged(tiny):
    """The 4-scene render's content digest is pinned with the 2D ones (tests/test_golden.py)."""
    from .test_golden import check

    check("3d-tiny", tiny[1], pixels=False)


@needs_bpy
def test_3d_clevr_export_answers_as_stored(tiny, tmp_path):
    """CLEVR's frame for 3D: world coordinates, the camera's horizontal right and the view on the ground plane
    as directions; every exported program, run as CLEVR's engine runs it, gives the stored answer."""
    from spatialgen import api

    from .test_exports import _answer, _load

    dest = tmp_path / "c"
    done = api.export(tiny[1], dest, format="clevr")
    assert json.loads((dest / "metadata.json").read_text())["types"]["Shape"] == [
        "cube",
        "sphere",
        "cylinder",
        "cone",
        "torus",
    ]
    n = 0
    for split in ("train", "validation", "test"):
        if not (dest / "scenes" / f"CLEVR_{split}_scenes.json").exists():
            continue
        scenes = _load(dest, "scenes", split)
        assert all(set(s["directions"]) == {"left", "right", "front", "behind", "above", "below"} for s in scenes)
        assert all("above" not in s["relationships"] for s in scenes)  # CLEVR's own lists skip above/below
        for q in _load(dest, "questions", split):
            assert _answer(q["program"], scenes[q["image_index"]]) == q["answer"], q["question"]
            n += 1
    assert n == done["questions"] > 0
