"""The folder as the Hub would serve it: load_dataset round trip, typed features, images, card."""

from __future__ import annotations

import io

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import Image as ImageFeature
from datasets import load_dataset
from PIL import Image

from spatialgen.generator.folder import data_files, iter_rows
from spatialgen.generator.render2d import render
from spatialgen.generator.rows2d import features, scene_from_row
from spatialgen.scenes.families import execute


def test_load_dataset_round_trip(rendered):
    ds = load_dataset(str(rendered))
    assert set(ds) <= {"train", "validation", "test"} and "train" in ds
    assert isinstance(ds["train"].features["image"], ImageFeature)
    assert ds["train"].features == features()
    rows = {r["id"]: r for r in iter_rows(rendered, columns=["id", "questions", "split"])}
    total = 0
    for split, d in ds.items():
        for r in d:
            total += 1
            assert rows[r["id"]]["questions"] == r["questions"] and r["split"] == split
            assert isinstance(r["image"], Image.Image) and r["image"].size == (336, 336)
    assert total == len(rows) == 120  # 60 scenes, each with its twin


def test_stored_scene_rerenders_identical_pixels_and_answers(rendered):
    for r in iter_rows(rendered, split="test"):
        scene = scene_from_row(r)
        stored = np.asarray(Image.open(io.BytesIO(r["image"]["bytes"])).convert("RGB"))
        assert (np.asarray(render(scene, r["render"]["antialias"])) == stored).all()
        for q in r["questions"]:
            from spatialgen.scenes.questions import Question

            assert execute(Question.from_dict(q).program, scene) == q["program"]["answer"]


def test_twins_share_split_and_flip_the_probe(rendered):
    pairs = {}
    for r in iter_rows(rendered, columns=["twin_id", "twin_role", "split", "questions"]):
        pairs.setdefault(r["twin_id"], {})[r["twin_role"]] = r
    assert len(pairs) == 60
    for p in pairs.values():
        assert p["original"]["split"] == p["twin"]["split"]
        a, b = p["original"]["questions"][0], p["twin"]["questions"][0]
        assert a["probe"] and b["probe"] and a["text"] == b["text"] and a["answer"] != b["answer"]


def test_card_front_matter_and_statistics(rendered):
    text = (rendered / "README.md").read_text()
    assert text.startswith("---\n") and "\n---\n" in text
    assert "configs:" in text and "dataset_info:" in text and "arXiv:2503.17349" in text
    assert "spatialgen render --n 60 --seed 7 --preset medium --twins" in text
    n_q = sum(len(r["questions"]) for r in iter_rows(rendered, columns=["questions"]))
    assert f"{n_q} questions" in text


def test_parquet_shards_embed_features(rendered):
    meta = pq.read_schema(rendered / data_files(rendered)[0]).metadata
    assert b"huggingface" in meta


@pytest.mark.parametrize("backend", ["2d", "3d"])
def test_the_card_describes_every_column_the_data_has(backend):
    """The card's schema table is derived from the backend's features: every column is listed with its
    type and a note, so a column added to the rows without a word in the card fails here."""
    from spatialgen.generator.backends import BACKENDS
    from spatialgen.generator.card import COLUMNS

    b = BACKENDS[backend]
    missing = [c for c in b.features() if not {**COLUMNS, **b.columns}.get(c)]
    assert not missing, missing
