"""The tower stage of ``spatialgen train --model tiny-init`` (training/tower.py): patch labels from stored scenes,
the head's reading, the stage's place in training (trained first, then held fixed), its sidecar part that
``eval`` loads to the same forward, and an exact resume."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from .test_train import _spec, cli  # noqa: E402

COLORS = ["red", "green", "blue"]
SHAPES = ["circle", "square"]


def test_patch_labels_name_the_object_covering_over_a_quarter_of_each_patch():
    """A stored row's bbox is [x0, y0, x1, y1] in pixels, y downward (scenes/rows2d.py, rows3d.py); CLIP's
    patch tokens are row-major from the top left (transformers models/clip/modeling_clip.py,
    CLIPVisionEmbeddings: ``patch_embeds.flatten(2).transpose(1, 2)`` of the conv's [B, C, H/p, W/p])."""
    from spatialgen.training.tower import patch_labels

    row = {
        "id": "0",
        "width": 64,
        "height": 64,
        "objects": [
            {"color": "green", "shape": "square", "bbox": [8.0, 16.0, 20.0, 24.0]},  # (1, 2) all, (2, 2) half
            {"color": "blue", "shape": "circle", "bbox": [40.0, 40.0, 44.0, 44.0]},  # a quarter of (5, 5): not over
            {"color": "red", "shape": "circle", "bbox": [56.0, 0.0, 61.0, 4.0]},  # 5 x 4 px of (7, 0): 31 %
        ],
    }
    labels = patch_labels(row, 8, COLORS, SHAPES)
    assert labels.shape == (64, 2)
    named = {p: tuple(labels[p].tolist()) for p in range(64) if labels[p, 0] != len(COLORS)}
    assert named == {2 * 8 + 1: (1, 1), 2 * 8 + 2: (1, 1), 0 * 8 + 7: (0, 0)}
    assert (labels[[p for p in range(64) if p not in named]] == torch.tensor([3, 2])).all()
    # two objects in one patch: the larger share names it
    row["objects"].append({"color": "red", "shape": "square", "bbox": [18.0, 16.0, 24.0, 24.0]})  # 3/4 of (2, 2)
    again = patch_labels(row, 8, COLORS, SHAPES)
    assert tuple(again[17].tolist()) == (1, 1) and tuple(again[18].tolist()) == (0, 1)
    from spatialgen.errors import SpatialgenError

    row["objects"].append({"color": "teal", "shape": "circle", "bbox": [0, 0, 9, 9]})
    with pytest.raises(SpatialgenError, match="outside the vocabulary"):
        patch_labels(row, 8, COLORS, SHAPES)


def test_the_reading_is_probabilities_and_places_times_the_chance_an_object_is_there():
    from spatialgen.errors import SpatialgenError
    from spatialgen.models.convert import reading
    from spatialgen.training.tower import new_head

    head = new_head(6, len(COLORS), len(SHAPES))  # logits: 3 colors + none, 2 shapes + none
    assert head.out_features == 7
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.0, 0.0, 30.0, 0.0, 30.0, 0.0, 0.0]))  # blue circle, surely
    f = torch.zeros(2, 16, 6)  # a 4 x 4 grid
    r = reading(head, f, len(COLORS), 12)
    assert r.shape == (2, 16, 12) and (r[..., 8:] == 0).all()  # 3 + 2 + x, y, here = 8 values, then zeros
    assert torch.allclose(r[0, 0, :5], torch.tensor([0.0, 0.0, 1.0, 1.0, 0.0]), atol=1e-6)
    # patch 6 is column 2, row 1 of 4: its centre is at x = 2.5 / 4, y = 1.5 / 4 of the image, in [-1, 1]
    assert torch.allclose(r[1, 6, 5:8], torch.tensor([0.25, -0.25, 1.0]), atol=1e-6)
    with torch.no_grad():
        head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 30.0, 0.0, 0.0, 30.0]))  # nothing there
    assert r.abs().max() > 0 and reading(head, f, len(COLORS), 12).abs().max() < 1e-6
    with pytest.raises(SpatialgenError, match="square grid"):
        reading(head, torch.zeros(1, 15, 6), len(COLORS), 12)
    with pytest.raises(SpatialgenError, match="wider"):
        reading(head, f, len(COLORS), 6)


@pytest.fixture(scope="module")
def staged(rendered):
    """A Trainer after its tower stage, with a snapshot of the weights right after it."""
    from spatialgen.eval.sources import load_source
    from spatialgen.generator.folder import iter_rows
    from spatialgen.training.train import Trainer

    t = Trainer(_spec(rendered, tower_steps=30, interventions=["pool:4", "norm:paper"]))
    examples = load_source(str(rendered), split="train", limit=64).examples
    t.load(examples)
    init = {k: v.clone() for k, v in t.model.state_dict().items()}
    steps = []
    t.name_patches(iter_rows(str(rendered), ["id", "image", "width", "height", "objects"], "train"),
                   lambda k, loss: steps.append(loss))  # fmt: skip
    after = {k: v.clone() for k, v in t.model.state_dict().items()}
    return t, examples, init, after, steps


def test_the_stage_trains_the_tower_then_training_holds_it_fixed(staged):
    t, _, init, after, steps = staged
    assert len(steps) == 30 and sum(steps[-5:]) < sum(steps[:5])
    tower = [k for k in after if ".vision_tower." in k or k.startswith("model.vision_tower")]
    assert tower and any(not torch.equal(init[k], after[k]) for k in tower)
    assert all(torch.equal(init[k], after[k]) for k in after if k not in tower)  # the stage moves only the tower
    assert not any(p.requires_grad for p in t.model.model.vision_tower.parameters())
    assert not any(p.requires_grad for p in t.head.parameters())
    head = {k: v.clone() for k, v in t.head.state_dict().items()}
    for _ in range(3):
        t.train_step()
    now = t.model.state_dict()
    assert all(torch.equal(after[k], now[k]) for k in tower)
    assert all(torch.equal(head[k], v) for k, v in t.head.state_dict().items())
    assert any(not torch.equal(after[k], now[k]) for k in now if "language_model" in k)
    assert any(not torch.equal(after[k], now[k]) for k in now if "multi_modal_projector" in k)
    assert set(t.tower_stats) == {"tower_final_loss", "tower_color_right", "tower_shape_right", "tower_empty_right"}


def test_the_projector_starts_at_the_readings_scale(staged):
    """Its first layer: torch's default Linear init over the reading's values (uniform, bound 1 / sqrt(n)),
    zeros where the reading is padding; not transformers' normal(0, 0.02), which shrinks the reading."""
    from spatialgen.training.tower import reading_width

    after = staged[3]
    w = after["model.multi_modal_projector.linear_1.weight"]
    used = reading_width()
    assert (w[:, used:] == 0).all() and w[:, :used].abs().max() <= used**-0.5
    assert w[:, :used].std() > 0.5 * used**-0.5 / 3**0.5  # a uniform's std is bound / sqrt(3)


def test_the_projector_reads_the_heads_reading_and_eval_loads_the_same_forward(staged, tmp_path):
    """The saved folder (sidecar part + head weights) gives eval the trainer's forward, bit for bit."""
    from spatialgen.eval.scoring import forward
    from spatialgen.models.loading import load_model
    from spatialgen.training.train import batch_inputs

    t, examples, *_ = staged
    seen = {}
    proj = t.model.model.multi_modal_projector
    h = proj.linear_1.register_forward_pre_hook(lambda _m, args: seen.update(x=args[0]))
    t.model.eval()
    with torch.no_grad():
        inputs = batch_inputs(t.vlm, examples[:4])
        ours = forward(t.vlm, inputs).logits
    h.remove()
    width = t.model.config.vision_config.hidden_size
    from spatialgen.scenes.vocab import COLORS as ALL_COLORS
    from spatialgen.scenes.vocab import SHAPES as ALL_SHAPES

    used = len(ALL_COLORS) + len(ALL_SHAPES) + 3  # probabilities, x, y, "an object here"
    x = seen["x"]
    assert x.shape[-1] == width and (x[..., used:] == 0).all() and (x[..., used - 1] >= 0).all()
    t.finish(tmp_path / "m", [])
    meta = json.loads((tmp_path / "m/spatialgen.json").read_text())
    assert (
        meta["patch_head"]["colors"] == list(ALL_COLORS) and (tmp_path / "m/spatialgen_patch_head.safetensors").exists()
    )
    vlm = load_model(str(tmp_path / "m"), "float32", "cpu")
    with torch.no_grad():
        theirs = forward(vlm, batch_inputs(vlm, examples[:4])).logits
    assert torch.equal(ours, theirs)
    t.model.train()


def test_eval_refuses_a_damaged_head_in_one_line(staged, tmp_path, rendered):
    t, *_ = staged
    t.finish(tmp_path / "m", [])
    (tmp_path / "m/spatialgen_patch_head.safetensors").write_bytes(b"not weights")
    r = cli(
        "eval", "--model", str(tmp_path / "m"), "--data", str(rendered), "--limit", "4", "--out", str(tmp_path / "e")
    )
    assert r.returncode == 2 and "patch head" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_run_stopped_after_a_checkpoint_resumes_without_a_second_stage(rendered, tmp_path):
    from spatialgen.eval.sources import load_source
    from spatialgen.generator.folder import iter_rows
    from spatialgen.training.train import train

    spec = _spec(rendered, tower_steps=6, steps=8, save_every=4, interventions=["pool:4"])
    examples = load_source(str(rendered), split="train", limit=48).examples

    def rows():
        return iter_rows(str(rendered), ["id", "image", "width", "height", "objects"], "train")

    train(spec, examples, tmp_path / "a", rows=rows())

    def stop(k, loss):
        if k == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(spec, examples, tmp_path / "b", rows=rows(), on_step=stop)
    staged = []
    train(spec, examples, tmp_path / "b", rows=rows(), on_tower_step=lambda k, loss: staged.append(k))
    assert staged == []  # the checkpoint at step 4 holds the stage's tower and head
    from safetensors.torch import load_file

    for f in ("model.safetensors", "spatialgen_patch_head.safetensors"):
        a, b = load_file(tmp_path / "a" / f), load_file(tmp_path / "b" / f)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), f
    assert (tmp_path / "a/loss.csv").read_text() == (tmp_path / "b/loss.csv").read_text()
    summary = json.loads((tmp_path / "b/train-summary.json").read_text())
    assert (
        summary["tower_final_loss"] == json.loads((tmp_path / "a/train-summary.json").read_text())["tower_final_loss"]
    )


def test_tower_steps_default_and_refusals(rendered, tmp_path, monkeypatch):
    """None: 400 for tiny-init (its tower starts from scratch), 0 otherwise; a stage for any other model,
    or a negative count ends with one line and exit 2."""
    from spatialgen import api
    from spatialgen.training import train as training

    seen = []
    monkeypatch.setattr(training, "train_on_folder", lambda spec, *a: seen.append(spec) or {})
    api.train(rendered, tmp_path / "d")
    api.train(rendered, tmp_path / "d2", tower_steps=0)
    assert [s.tower_steps for s in seen] == [400, 0]
    for args, message in (
        (["--tower-steps", "3", "--model", "random:tiny"], "tiny-init"),
        (["--tower-steps", "-1"], "--tower-steps"),
    ):
        r = cli("train", "--data", str(rendered), "--out", str(tmp_path / "x"), "--steps", "1", *args)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("interventions", [["pool:4"], ["layers:2,4", "norm:paper"]])
def test_the_head_reads_in_training_what_the_stage_taught_it_to_name(rendered, interventions):
    """The stage computes the features itself (training/tower.py ``features``); in the model's forward the head
    reads the projector's input after the sidecar's hooks. Both must be the same tensor, multi-layer
    features (each layer through the post-layernorm) included."""
    from spatialgen.eval.scoring import forward
    from spatialgen.eval.sources import load_source
    from spatialgen.training.tower import features
    from spatialgen.training.train import Trainer

    t = Trainer(_spec(rendered, tower_steps=1, interventions=interventions))
    t.load(load_source(str(rendered), split="train", limit=8).examples)
    seen = []
    t.head.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    with torch.no_grad():
        forward(t.vlm, t.data.batch([0, 1], "cpu"))
        pixels = t.data.pixels[[t.data.image[0], t.data.image[1]]].float()
        assert torch.allclose(seen[0], features(t.model, pixels, t.meta.feature_norm), atol=1e-6)
    assert t.meta.feature_norm == ("layers:2,4" in interventions)


def test_a_stored_tower_trains_as_the_running_one(rendered):
    """Once the tower is fixed, a step reads its stored hidden states instead of running it: the same
    losses, and the model (its state dict: what checkpoints and the saved folder hold) is left as it was."""
    from spatialgen.eval.sources import load_source
    from spatialgen.training.train import Trainer

    examples = load_source(str(rendered), split="train", limit=48).examples
    runs = []
    for store in (False, True):
        t = Trainer(_spec(rendered, tower_steps=1, interventions=["layers:2,4", "pool:2"]))
        t.load(examples)
        if store:
            t.store_tower()
            assert set(t.stored[1]) == {2, 4}
        keys = list(t.model.state_dict())
        runs.append([t.train_step() for _ in range(4)])
        assert list(t.model.state_dict()) == keys and any("vision_tower" in k for k in keys)
    assert runs[0] == pytest.approx(runs[1], rel=1e-6, abs=1e-7)
