"""``spatialgen export``: CLEVR's files, a VLMEvalKit TSV and an lmms-eval task, each checked against the real
format's documented facts (named per test); CLEVR's own engine and the real lmms-eval package where present.

CLEVR's code is not shipped here: set SPATIALGEN_CLEVR_CODE to a checkout of facebookresearch/clevr-dataset-gen
to run its question engine and question generator on an export (skipped otherwise)."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from spatialgen import api
from spatialgen.errors import SpatialgenError
from spatialgen.exports import lmms_task_utils

CLEVR_CODE = os.environ.get("SPATIALGEN_CLEVR_CODE")
SPLITS = ("train", "validation", "test")


@pytest.fixture(scope="module")
def chains(tmp_path_factory) -> Path:
    """A hard 2D render with two-hop compositional questions (overlap, look-alikes, every family)."""
    root = tmp_path_factory.mktemp("chains")
    (root / "hops.yaml").write_text("hops: 2\n")
    out = root / "ds"
    api.render(out, 60, preset="hard", config=root / "hops.yaml", workers=1)
    return out


@pytest.fixture(scope="module")
def clevr(chains, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("clevr") / "c"
    api.export(chains, dest, format="clevr")
    return dest


def _load(dest: Path, kind: str, split: str) -> list[dict]:
    return json.loads((dest / kind / f"CLEVR_{split}_{kind}.json").read_text())[kind]


def _stored(folder: Path) -> dict[tuple[str, str], dict]:
    from spatialgen.generator.folder import iter_rows

    return {(r["id"], q["qid"]): q for r in iter_rows(folder, columns=["id", "questions"]) for q in r["questions"]}


def test_clevr_layout_is_the_one_clevrs_scripts_read(clevr, chains):
    # render_images.py / collect_scenes.py: {"info", "scenes"}; per scene split, image_index, image_filename,
    # objects (3d_coords, pixel_coords, rotation, color, shape, size, material), directions, relationships;
    # generate_questions.py reads the image index as int(name.split("_")[-1]) and needs metadata "CLEVR-v1.0".
    meta = json.loads((clevr / "metadata.json").read_text())
    assert meta["dataset"] == "CLEVR-v1.0"
    functions = {f["name"] for f in meta["functions"]}
    for split in SPLITS:
        scenes = _load(clevr, "scenes", split)
        for k, s in enumerate(scenes):
            assert s["image_index"] == k and s["split"] == split
            assert int(Path(s["image_filename"]).stem.split("_")[-1]) == k
            assert (clevr / "images" / split / s["image_filename"]).read_bytes()[:4] == b"\x89PNG"
            for o in s["objects"]:
                assert {"3d_coords", "pixel_coords", "rotation", "color", "shape", "size", "material"} <= set(o)
                for attr, values in (
                    ("color", "Color"),
                    ("shape", "Shape"),
                    ("size", "Size"),
                    ("material", "Material"),
                ):
                    assert o[attr] in meta["types"][values]
            for name, lists in s["relationships"].items():
                assert name in meta["types"]["Relation"] and len(lists) == len(s["objects"])
                assert all(j != i and lists[i] == sorted(lists[i]) for i in range(len(lists)) for j in lists[i])
        for q in _load(clevr, "questions", split):
            assert q["image_filename"] == scenes[q["image_index"]]["image_filename"]
            for k, node in enumerate(q["program"]):  # inputs index earlier nodes; every function CLEVR's
                assert node["type"] == node["function"] in functions and all(i < k for i in node["inputs"])
    # question_engine.py's filters match `value == attr or value in attr`: no value may sit inside another
    for values in (v for v in meta["types"].values() if v):
        assert not [(a, b) for a in values for b in values if a != b and a in b]


def test_clevr_left_out_only_what_clevr_cannot_express(clevr, chains):
    asked = _stored(chains)
    exported = [q for s in SPLITS for q in _load(clevr, "questions", s)]
    info = json.loads((clevr / "questions" / "CLEVR_test_questions.json").read_text())["info"]
    left = sum(
        sum(json.loads((clevr / "questions" / f"CLEVR_{s}_questions.json").read_text())["info"]["left_out"].values())
        for s in SPLITS
    )
    assert len(exported) + left == len(asked) and "left_out" in info
    families = {asked[q["spatialgen_id"], q["spatialgen_qid"]]["family"] for q in exported}
    assert {"left_right", "above_below", "near_far", "count", "exist", "relate_count"} <= families
    unexpressible = {"closer", "extreme", "size", "overlap", "occlusion", "between_exist"}
    assert not families & unexpressible
    for q in exported:  # answers are the canonical ones: yes/no, a number, a word
        assert q["answer"] == asked[q["spatialgen_id"], q["spatialgen_qid"]]["program"]["answer"]


def _answer(nodes: list[dict], scene: dict):
    """CLEVR's programs run as question_engine.py's handlers define them (read from its source: scene -> every
    index; filter_X keeps objects whose X matches; unique -> the one index or invalid; relate -> the scene's
    relationships[value][input]; union/intersect; count -> len; exist -> non-empty; query_X -> the value;
    equal_X -> ==; greater_than / less_than). Independent of spatialgen's own executor."""
    out = []
    for n in nodes:
        ins, v = [out[i] for i in n["inputs"]], n["value_inputs"]
        t = n["type"]
        if t == "scene":
            r = list(range(len(scene["objects"])))
        elif t.startswith("filter_"):
            r = [i for i in ins[0] if scene["objects"][i][t[7:]] == v[0]]
        elif t == "unique":
            r = ins[0][0] if len(ins[0]) == 1 else None
        elif t == "relate":
            r = scene["relationships"][v[0]][ins[0]]
        elif t in ("union", "intersect"):
            r = sorted(set(ins[0]) | set(ins[1])) if t == "union" else sorted(set(ins[0]) & set(ins[1]))
        elif t == "count":
            r = len(ins[0])
        elif t == "exist":
            r = bool(ins[0])
        elif t.startswith("query_"):
            r = scene["objects"][ins[0]][t[6:]]
        elif t.startswith("equal_"):
            r = ins[0] == ins[1]
        else:
            r = ins[0] > ins[1] if t == "greater_than" else ins[0] < ins[1]
        if r is None:
            return None
        out.append(r)
    a = out[-1]
    return ("yes" if a else "no") if isinstance(a, bool) else str(a)


def test_clevr_programs_answer_as_spatialgen_does(clevr):
    n = 0
    for split in SPLITS:
        scenes = _load(clevr, "scenes", split)
        for q in _load(clevr, "questions", split):
            assert _answer(q["program"], scenes[q["image_index"]]) == q["answer"], q["question"]
            n += 1
    assert n > 200


@pytest.mark.skipif(not CLEVR_CODE, reason="set SPATIALGEN_CLEVR_CODE to a clevr-dataset-gen checkout")
def test_clevrs_own_engine_and_generator_read_the_export(clevr, tmp_path):
    code = Path(CLEVR_CODE) / "question_generation"
    sys.path.insert(0, str(code))
    try:
        import question_engine  # CLEVR's own
    finally:
        sys.path.remove(str(code))
    meta = json.loads((clevr / "metadata.json").read_text())
    for split in SPLITS:
        scenes = _load(clevr, "scenes", split)
        for q in _load(clevr, "questions", split):
            # the engine reads "side_inputs" where the release writes "value_inputs" (generate_questions.py)
            nodes = [
                {
                    "type": f["type"],
                    "inputs": f["inputs"],
                    **({"side_inputs": f["value_inputs"]} if f["value_inputs"] else {}),
                }
                for f in q["program"]
            ]
            a = question_engine.answer_question({"nodes": nodes}, meta, scenes[q["image_index"]], cache_outputs=False)
            assert ("yes" if a is True else "no" if a is False else str(a)) == q["answer"], q["question"]
    out = tmp_path / "generated.json"
    r = subprocess.run(
        [sys.executable, "generate_questions.py",
         "--input_scene_file", str(clevr / "scenes" / "CLEVR_test_scenes.json"),
         "--output_questions_file", str(out), "--metadata_file", str(clevr / "metadata.json"),
         "--templates_per_image", "2", "--instances_per_template", "1"],
        cwd=code, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(out.read_text())["questions"]


def test_vlmevalkit_tsv_reads_as_a_custom_mcq_dataset(chains, tmp_path):
    import pandas as pd

    dest = tmp_path / "v"
    done = api.export(chains, dest, format="vlmevalkit", name="SpatialGenHard")
    asked = _stored(chains)
    n = 0
    for split in SPLITS:
        # smp/file.py: load_tsv is pd.read_csv(f, sep="\t"); build_dataset: question + A + B + image -> CustomMCQ
        data = pd.read_csv(dest / f"SpatialGenHard_{split}.tsv", sep="\t", dtype={"id": str})  # id: ours, to look up
        assert {"question", "A", "B", "image", "index", "answer", "category"} <= set(data.columns)
        # image_base.py: an image of at most 64 characters is the index of the row holding the base64
        image_map = {str(i): str(im) for i, im in zip(data["index"], data["image"], strict=True)}
        for k, v in image_map.items():
            if len(v) <= 64:
                assert len(image_map[v]) > 64
                image_map[k] = image_map[v]
        for _, row in data.iterrows():
            Image.open(io.BytesIO(base64.b64decode(image_map[str(row["index"])]))).verify()
            options = {c: str(row[c]) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c in row and not pd.isna(row[c])}
            q = asked[str(row["id"]), row["qid"]]
            assert row["answer"] in options and row["category"] == q["family"]
            right = q["options"][ord(q["answer"]) - 65] if q["options"] else q["answer"]
            assert options[row["answer"]] == right
            n += 1
    assert n == done["questions"] == len(asked)


def test_lmms_task_utils_score_replies_and_flatten_the_dataset(chains):
    from datasets import load_dataset

    u = lmms_task_utils
    assert u.read_reply("yes_no", "Yes, it is.", ["yes", "no"]) == "yes"
    assert u.read_reply("multiple_choice", "I think the answer is B.", ["A", "B", "C"]) == "B"
    assert u.read_reply("number", "There are 03 squares", [str(i) for i in range(5)]) == "3"
    assert u.read_reply("number", "9", [str(i) for i in range(5)]) is None
    assert u.read_reply("word", "It is red.", ["red", "blue"]) == "red"
    docs = u.spatialgen_process_docs(load_dataset(str(chains), split="test"))
    assert len(docs) == _test_questions(chains)
    res = [u.spatialgen_process_results(d, [d["answer"]]) for d in docs]
    assert u.spatialgen_accuracy([r["accuracy"] for r in res]) == 1.0
    d = docs[0]
    assert u.spatialgen_doc_to_visual(d)[0].mode == "RGB" and d["question"] in u.spatialgen_doc_to_text(d, {})


def _test_questions(folder: Path) -> int:
    from spatialgen.generator.folder import iter_rows

    return sum(len(r["questions"]) for r in iter_rows(folder, columns=["questions"], split="test"))


def test_export_refuses_a_used_folder_and_leaves_nothing_on_failure(chains, tmp_path, monkeypatch):
    used = tmp_path / "used"
    used.mkdir()
    (used / "mine.txt").write_text("keep")
    with pytest.raises(SpatialgenError, match="not an empty folder"):
        api.export(chains, used, format="clevr")
    assert [p.name for p in used.iterdir()] == ["mine.txt"]
    from spatialgen.exports import clevr

    def broken(*a, **k):
        (tmp_path / "new" / "scenes").mkdir()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(clevr, "write", broken)
    with pytest.raises(SpatialgenError, match="No space left"):
        api.export(chains, tmp_path / "new", format="clevr")
    assert not (tmp_path / "new").exists()


def test_lmms_eval_task_runs_in_the_real_package(chains, tmp_path):
    dest = tmp_path / "task"
    api.export(chains, dest, format="lmms-eval", name="sg_hard")
    assert "!function utils.spatialgen_process_docs" in (dest / "sg_hard.yaml").read_text()
    try:
        import lmms_eval  # noqa: F401
    except ImportError:
        pytest.skip("lmms-eval is not installed here (the slow set installs it: test_lmms_eval_slow)")
    _run_lmms(dest, chains, {})


@pytest.mark.slow
def test_lmms_eval_slow(chains, tmp_path, lmms_eval_path):
    """The real lmms-eval (0.7.3, its import-time dependencies beside it, no others) loads the exported task
    with its TaskManager, builds the docs from the dataset folder and scores replies through the task."""
    dest = tmp_path / "task"
    api.export(chains, dest, format="lmms-eval", name="sg_hard")
    _run_lmms(dest, chains, {"PYTHONPATH": str(lmms_eval_path)})


def _run_lmms(dest: Path, chains: Path, env: dict) -> None:
    script = """
import json, sys
from lmms_eval.tasks import TaskManager, get_task_dict
task = get_task_dict(["sg_hard"], TaskManager(include_path=sys.argv[1]))["sg_hard"]
docs = list(task.test_docs())
agg = task.aggregation()
def score(reply):
    res = [task.process_results(d, [reply(d)]) for d in docs]
    return agg["accuracy"]([r["accuracy"] for r in res])
text = task.config.doc_to_text(docs[0], task.lmms_eval_specific_kwargs)
right, wrong = score(lambda d: d["answer"]), score(lambda d: "zzz")
print(json.dumps({"n": len(docs), "right": right, "wrong": wrong, "text": text}))
"""
    r = subprocess.run(
        [sys.executable, "-c", script, str(dest)], capture_output=True, text=True, timeout=600,
        env={**os.environ, **env, "HF_DATASETS_CACHE": str(dest.parent / "cache"), "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["n"] == _test_questions(chains) and got["right"] == 1.0 and got["wrong"] == 0.0
    assert got["text"].split("\n")[-1] in lmms_task_utils.INSTRUCTIONS.values()
