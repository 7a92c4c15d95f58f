"""``spatialgen train`` on the CPU: the loss falls, a kill -9 resumes to the same weights, and eval loads the
trained folder (its built-in interventions included) exactly as it loads converted checkpoints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spatialgen", *args], capture_output=True, text=True)


def _spec(rendered: Path, **kw):
    from spatialgen.training.train import TrainSpec, manifest_hash

    base = dict(model="tiny-init", data=str(rendered), data_manifest=manifest_hash(rendered), steps=8, batch_size=8,
                save_every=4, lr=2e-3)  # fmt: skip
    return TrainSpec(**{**base, **kw})


@pytest.fixture(scope="module")
def examples(rendered):
    from spatialgen.eval.sources import load_source

    return load_source(str(rendered), split="train", limit=96).examples


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def test_loss_falls_and_eval_loads_the_model(rendered, examples, tmp_path):
    from spatialgen.training.train import train

    losses = []
    summary = train(_spec(rendered, steps=16, interventions=["norm:paper"]), examples, tmp_path / "m",
                    on_step=lambda k, loss: losses.append(loss), validation=examples[:16])  # fmt: skip
    assert len(losses) == 16 and sum(losses[-4:]) < 0.8 * sum(losses[:4])
    assert 0 <= summary["validation_accuracy"] <= 1
    m = tmp_path / "m"
    for f in ("config.json", "model.safetensors", "spatialgen.json", "spatialgen_projector_norm.safetensors",
              "train.json", "loss.csv", "loss.png"):  # fmt: skip
        assert (m / f).exists(), f
    assert not (m / "checkpoint.pt").exists()
    meta = json.loads((m / "spatialgen.json").read_text())
    assert meta["layout"] == "normalized" and meta["projector_norm"]
    from safetensors.torch import load_file

    gain = load_file(m / "spatialgen_projector_norm.safetensors")["weight"]
    assert not torch.allclose(gain, torch.ones_like(gain))  # the gain was trained, not left at 1
    r = cli("eval", "--model", str(m), "--data", str(rendered), "--limit", "12", "--out", str(tmp_path / "e"), "-q")
    assert r.returncode == 0, r.stderr
    # tiny-init normalizes by its training images (median: the rendered background, 240 of 255 in every
    # channel of the default preset), not CLIP's ImageNet mean; the folder's processor carries it to eval.
    from transformers import AutoProcessor

    ip = AutoProcessor.from_pretrained(m).image_processor
    assert ip.image_mean == pytest.approx([240 / 255] * 3, abs=0.01)
    assert all(0.001 <= s < 0.5 for s in ip.image_std)


def test_training_runs_on_the_specs_cpu_threads_then_restores_them(rendered, examples, tmp_path):
    """On the CPU a sum split across threads rounds by the split, so the thread count is part of the spec
    (train.json) and a folder trained on one count is not resumed on another."""
    from spatialgen.errors import SpatialgenError
    from spatialgen.training.train import check_out, train

    before = torch.get_num_threads()
    n = before + 1
    seen = []
    train(_spec(rendered, steps=2, threads=n), examples, tmp_path / "t",
          on_step=lambda k, loss: seen.append(torch.get_num_threads()))  # fmt: skip
    assert seen == [n, n] and torch.get_num_threads() == before
    assert json.loads((tmp_path / "t/train.json").read_text())["threads"] == n
    with pytest.raises(SpatialgenError):
        check_out(tmp_path / "t", _spec(rendered, steps=2, threads=1))


KILL_AT_6 = """
import os, signal, sys
from pathlib import Path
from spatialgen.eval.sources import load_source
from spatialgen.training.train import TrainSpec, train
spec = TrainSpec.model_validate_json(sys.argv[1])
ex = load_source(spec.data, split="train", limit=96).examples
def on_step(k, loss):
    if k == 6 and os.environ.get("KILL"):
        os.kill(os.getpid(), signal.SIGKILL)  # after the checkpoint at step 4
train(spec, ex, Path(sys.argv[2]), on_step=on_step)
"""


@pytest.mark.slow  # a real process killed mid-run (about 30 s); the in-process resume test below stays quick
def test_kill_9_resumes_to_the_same_weights(rendered, tmp_path):
    spec = _spec(rendered, interventions=["pool:2"])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    straight = subprocess.run([sys.executable, "-c", KILL_AT_6, spec.model_dump_json(), str(tmp_path / "a")],
                              env=env, capture_output=True, text=True)  # fmt: skip
    assert straight.returncode == 0, straight.stderr
    killed = subprocess.run([sys.executable, "-c", KILL_AT_6, spec.model_dump_json(), str(tmp_path / "b")],
                            env={**env, "KILL": "1"}, capture_output=True, text=True)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL and (tmp_path / "b/checkpoint.pt").exists()
    resumed = subprocess.run([sys.executable, "-c", KILL_AT_6, spec.model_dump_json(), str(tmp_path / "b")],
                             env=env, capture_output=True, text=True)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "a/loss.csv").read_text() == (tmp_path / "b/loss.csv").read_text()


def test_projector_recipe_trains_only_the_projector(rendered, examples, tmp_path):
    from spatialgen.models import tiny
    from spatialgen.training.train import build, train

    train(_spec(rendered, recipe="projector", steps=4, interventions=["layers:2,4"]), examples, tmp_path / "p")
    from spatialgen.models.interventions import parse
    from spatialgen.training.train import _sidecar

    start, _ = build("tiny-init", _sidecar(parse("layers:2,4"), "x"), 0)
    from transformers import LlavaForConditionalGeneration

    after = LlavaForConditionalGeneration.from_pretrained(tmp_path / "p").state_dict()
    init = start.state_dict()
    changed = {k for k in after if k in init and after[k].shape == init[k].shape and not torch.equal(after[k], init[k])}
    assert changed and all("multi_modal_projector" in k for k in changed), changed
    assert json.loads((tmp_path / "p/config.json").read_text())["vision_feature_layer"] == [2, 4]
    assert tiny.ARCHS["tiny-init"]["vision"]["num_hidden_layers"] >= 4


def test_one_feature_layer_zero_trains_and_loads(rendered, examples, tmp_path):
    """`layers:0` alone (the patch embeddings): Llava's config holds it counted from the end, as transformers
    reads a lone 0 as "capture no hidden states" (select_hidden_states, utils/output_capturing.py)."""
    from transformers import LlavaForConditionalGeneration

    from spatialgen.eval.scoring import forward
    from spatialgen.models import tiny
    from spatialgen.models.loading import load_model
    from spatialgen.training.train import batch_inputs, train

    train(_spec(rendered, steps=2, interventions=["layers:0"]), examples, tmp_path / "l0")
    depth = tiny.ARCHS["tiny-init"]["vision"]["num_hidden_layers"]
    assert json.loads((tmp_path / "l0/config.json").read_text())["vision_feature_layer"] == -(depth + 1)
    vlm = load_model(str(tmp_path / "l0"))
    assert isinstance(vlm.model, LlavaForConditionalGeneration)
    with torch.no_grad():
        inputs = batch_inputs(vlm, examples[:2])
        embeddings = vlm.model.model.vision_tower(inputs["pixel_values"], output_hidden_states=True).hidden_states[0]
        assert torch.isfinite(forward(vlm, inputs).logits).all()
    features = vlm.model.model.get_image_features(inputs["pixel_values"]).pooler_output
    assert torch.allclose(features[0], vlm.model.model.multi_modal_projector(embeddings[:, 1:])[0], atol=1e-5)


def test_train_cli_bad_input_and_refusals(rendered, tmp_path):
    for args, message in (
        (["--recipe", "magic"], "--recipe: Input should be"),
        (["--steps", "0"], "--steps"),
        (["--intervention", "permute"], "train builds in"),
        (["--intervention", "shuffle"], "unknown intervention"),
    ):
        r = cli("train", "--data", str(rendered), "--out", str(tmp_path / "x"), *args)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not (tmp_path / "x").exists()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy/f").write_text("x")
    r = cli("train", "--data", str(rendered), "--out", str(tmp_path / "busy"))
    assert r.returncode == 2 and "not empty" in r.stderr


def test_lora_recipe_merges_into_plain_weights(rendered, examples, tmp_path):
    pytest.importorskip("peft")
    from transformers import LlavaForConditionalGeneration

    from spatialgen.training.train import train

    train(_spec(rendered, recipe="lora", steps=3), examples, tmp_path / "l")
    keys = LlavaForConditionalGeneration.from_pretrained(tmp_path / "l").state_dict().keys()
    assert not any("lora_" in k for k in keys)  # merged: eval loads an ordinary llava-hf folder
    r = cli("eval", "--model", str(tmp_path / "l"), "--data", str(rendered), "--limit", "6", "--out",
            str(tmp_path / "e"), "-q")  # fmt: skip
    assert r.returncode == 0, r.stderr


def test_bf16_mixed_precision_and_small_checkpoints(rendered, examples, tmp_path):
    """The GPU path (bf16 autocast, frozen weights stored in bf16, trainable ones float32) run on the CPU's
    autocast: the loss is finite and falls, the checkpoint holds only the projector (and the gain), a resume
    continues from it, and the saved folder is bf16 and loads in eval."""
    from spatialgen.training.train import CHECKPOINT, Trainer, train

    spec = _spec(rendered, recipe="projector", steps=12, precision="bf16", interventions=["norm:paper"], lr=5e-3)
    t = Trainer(spec, "cpu")
    dtypes = {n: p.dtype for n, p in t.model.named_parameters()}
    assert all(d == torch.float32 for n, d in dtypes.items() if "multi_modal_projector" in n)
    assert all(d == torch.bfloat16 for n, d in dtypes.items() if "language_model" in n or "vision_tower" in n)
    t.load(examples)
    losses = [t.train_step() for _ in range(12)]
    assert all(loss == loss and loss < 1e4 for loss in losses) and sum(losses[-3:]) < sum(losses[:3])
    (tmp_path / "c").mkdir()
    t.save_checkpoint(tmp_path / "c")
    saved = torch.load(tmp_path / "c" / CHECKPOINT, weights_only=False)
    assert saved["model"] and all("multi_modal_projector" in k for k in saved["model"]) and saved["gain"] is not None

    out = tmp_path / "m"
    train(spec.model_copy(update={"steps": 4, "save_every": 2}), examples, out)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["text_config"].get("dtype", cfg.get("dtype")) == "bfloat16", cfg
    from spatialgen.eval.conditions import Condition
    from spatialgen.eval.scoring import score_batch
    from spatialgen.models.loading import load_model

    vlm = load_model(str(out), "float32", "cpu")  # as eval loads it: the sidecar's gain included
    scores = score_batch(vlm, examples[:4], Condition())
    assert all(len(s) == len(e.candidates) and all(x == x for x in s) for s, e in zip(scores, examples, strict=False))


def test_projector_checkpoint_resumes_to_the_same_weights(rendered, examples, tmp_path):
    """A trainable-only checkpoint rebuilds the frozen rest from the model name and seed: stopping after the
    checkpoint at step 4 and resuming gives the weights of an uninterrupted run."""
    from spatialgen.training.train import Trainer

    spec = _spec(rendered, recipe="projector", steps=8)
    whole = Trainer(spec, "cpu")
    whole.load(examples)
    for _ in range(8):
        whole.train_step()
    first = Trainer(spec, "cpu")
    first.load(examples)
    for _ in range(4):
        first.train_step()
    first.save_checkpoint(tmp_path)
    again = Trainer(spec, "cpu")
    again.resume(tmp_path)
    again.load(examples)
    while again.step < 8:
        again.train_step()
    a, b = whole.model.state_dict(), again.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_random_architectures_train_for_timing(examples):
    """``random:ARCH`` (what bench/train_throughput.py times at 7B) builds on the device in the frozen dtype,
    and a multi-layer intervention gets a projector that takes k layers."""
    from spatialgen.models import tiny
    from spatialgen.models.interventions import parse
    from spatialgen.training.train import Trainer, TrainSpec, _sidecar, build

    m, _ = build("random:tiny", _sidecar(parse("layers:1,2"), "x"), 0, "cpu", torch.bfloat16)
    width = tiny.ARCHS["tiny"]["vision"]["hidden_size"]
    assert m.model.multi_modal_projector.linear_1.in_features == 2 * width
    assert m.model.multi_modal_projector.linear_1.weight.dtype == torch.bfloat16
    t = Trainer(TrainSpec(model="random:tiny", data="-", data_manifest="-", recipe="projector", steps=2,
                          batch_size=4, precision="bf16"), "cpu")  # fmt: skip
    t.load(examples[:8])
    assert t.train_step() > 0


def test_each_image_is_preprocessed_once_and_gives_the_full_paths_ids(rendered, examples):
    """A scene's questions share an image: Encoded processes it once and tokenizes the other questions
    without it; every example's ids, labels and pixels must equal what the full processor path gives."""
    from spatialgen.training.train import Encoded, Trainer, batch_inputs

    t = Trainer(_spec(rendered))
    images = {ex.images[0] for ex in examples}
    assert len(images) < len(examples)  # the fixture shares images, or this test shows nothing
    enc = Encoded(t.vlm, examples, chunk=16)
    assert len(enc.pixels) == len(images)
    for k in range(0, len(examples), 16):
        part = examples[k : k + 16]
        full = batch_inputs(t.vlm, part)
        for r, ex in enumerate(part):
            keep = full["attention_mask"][r] == 1
            assert torch.equal(enc.ids[k + r], full["input_ids"][r][keep]), ex.id
            assert torch.equal(enc.labels[k + r], full["labels"][r][keep]), ex.id
            assert torch.equal(enc.pixels[enc.image[k + r]], full["pixel_values"][r].to(torch.float16)), ex.id


@pytest.mark.slow  # renders 20,000 one-object scenes and trains 200 steps: about two minutes on 2 cores
def test_tiny_init_learns_to_read_an_objects_color(tmp_path):
    """The project's own model reads its image: "What color is the X?" about one-object `easy` scenes (ten
    colors, chance 10 %) is answered on held-out scenes after 200 steps. With CLIP's ImageNet mean instead of
    the training images' own (fit_normalization) it stays at chance (bench/probes/tiny_init_probe.py)."""
    from spatialgen.eval.sources import load_source
    from spatialgen.generator.manifest import RunSpec, default_shard_size
    from spatialgen.generator.run import render_run
    from spatialgen.scenes.config import load_preset
    from spatialgen.training.train import TrainSpec, manifest_hash, train

    p = load_preset("easy")
    cfg = p.config.model_copy(update={"objects": (1, 1), "families": {"attribute": 1.0}})
    n = 20000
    spec = RunSpec(n=n, seed=0, preset="easy", level=p.level, scenes_per_shard=default_shard_size(n), config=cfg)
    data = tmp_path / "one"
    render_run(data, spec, workers=2)

    def colors(split: str, n: int):
        exs = load_source(str(data), split=split).examples
        return [e for e in exs if e.question.startswith("What color") and e.answer_type == "word"][:n]

    train_set, val = colors("train", 3000), colors("validation", 300)
    assert len(train_set) > 2500 and len(val) == 300
    ts = TrainSpec(model="tiny-init", data=str(data), data_manifest=manifest_hash(data), steps=200, batch_size=32,
                   lr=2e-3, save_every=200)  # fmt: skip
    summary = train(ts, train_set, tmp_path / "m", validation=val)
    assert summary["validation_accuracy"] >= 0.8, summary


def test_a_caption_names_each_object_then_the_halves_its_box_centre_is_in():
    """training/captions.py: a row as the render folder stores it (bbox [x0, y0, x1, y1] in pixels, y downward;
    rows.py / rows2d.py / rows3d.py), objects in a seeded shuffled order."""
    from spatialgen.training.captions import caption_examples

    row = {
        "id": "00000007",
        "image": {"bytes": b"png"},
        "width": 100,
        "height": 80,
        "objects": [
            {"color": "red", "shape": "circle", "bbox": [10.0, 50.0, 30.0, 70.0]},  # centre (20, 60)
            {"color": "blue", "shape": "square", "bbox": [60.0, 5.0, 90.0, 25.0]},  # centre (75, 15)
            {"color": "gray", "shape": "star", "bbox": [40.0, 30.0, 56.0, 46.0]},  # centre (48, 38)
        ],
    }
    (ex,) = caption_examples([row], seed=0)
    parts = ex.answer.split(", ")
    assert sorted(parts) == ["blue square right top", "gray star left top", "red circle left bottom"]
    assert ex.candidates == [ex.answer] and ex.id == "00000007/caption" and ex.images == [b"png"]
    again = [caption_examples([row], seed=s)[0].answer for s in range(8)]
    assert caption_examples([row], seed=0)[0].answer == ex.answer  # the seed decides the order
    assert len(set(again)) > 1  # and the order is not fixed: no word position stands for a place
    assert caption_examples([{**row, "objects": []}], seed=0) == []
    # the other order asks each place right after the color word, objects in the same order
    (other,) = caption_examples([row], seed=0, order="color-place-shape")
    assert [p.split()[0] for p in other.answer.split(", ")] == [p.split()[0] for p in parts]
    assert sorted(other.answer.split(", ")) == ["blue right top square", "gray left top star", "red left bottom circle"]
    with pytest.raises(ValueError, match="caption order"):
        caption_examples([row], seed=0, order="shape-first")


def test_tiny_init_trains_on_captions_and_restated_questions_by_default(rendered, tmp_path):
    """spatialgen.train: captions and restated questions on for tiny-init unless turned off; each choice is
    part of the spec."""
    from spatialgen import api

    for flag, expect in ((None, True), (False, False)):
        out = tmp_path / f"m{flag}"
        api.train(rendered, out, steps=1, batch_size=4, save_every=1, captions=flag, restate=not flag)
        spec = json.loads((out / "train.json").read_text())
        assert spec["captions"] is expect and spec["restate"] is (not flag)
        assert spec["loss_average"] == "example"  # tiny-init's default (train.example_loss)
    api.train(rendered, tmp_path / "tok", steps=1, batch_size=4, save_every=1, loss_average="token")
    assert json.loads((tmp_path / "tok/train.json").read_text())["loss_average"] == "token"
    from spatialgen.training.train import loss_average_for

    assert loss_average_for("llava-hf/llava-1.5-7b-hf", None) == "token"  # LLaVA's own, for pretrained models


def test_example_loss_is_each_examples_mean_over_its_answer_turn_then_the_batchs(rendered):
    """``--loss-average example``: recomputed here from the full forward's logits (every position, as
    transformers' own loss reads them), one example at a time; a batch mixing captions and questions, so the
    token mean differs from it."""
    from spatialgen.eval.scoring import forward
    from spatialgen.training.train import Trainer, example_loss, folder_examples

    spec = _spec(rendered, captions=True, captions_per_scene=1, restate=True, interventions=["pool:2"])
    examples, _ = folder_examples(spec)
    t = Trainer(spec)
    t.load(examples)
    rows = [0, 1, len(examples) - 1, len(examples) - 2]  # questions first, captions last
    batch = t.data.batch(rows, t.dev)
    labels = batch["labels"]
    answers = (labels != -100).sum(1).tolist()
    assert min(answers) < max(answers)
    with torch.no_grad():
        got = example_loss(t.vlm, batch)
        full = forward(t.vlm, {k: v for k, v in batch.items() if k != "labels"}).logits
        token = forward(t.vlm, batch).loss
    per = []
    for r in range(len(rows)):
        cols = [c for c in range(1, labels.shape[1]) if labels[r, c] != -100]
        ces = [torch.nn.functional.cross_entropy(full[r, c - 1], labels[r, c]) for c in cols]
        per.append(sum(ces) / len(ces))
    assert float(got) == pytest.approx(float(sum(per) / len(per)), rel=1e-5)
    assert float(got) != pytest.approx(float(token), rel=1e-3)


def test_train_on_folder_adds_captions_of_each_training_scene_only_when_asked(rendered, monkeypatch):
    """What train_on_folder hands the trainer: the train split's questions, plus (captions) captions_per_scene
    captions of each training scene with objects, each copy in its own object order; validation holds
    questions only."""
    from spatialgen.generator.folder import iter_rows
    from spatialgen.training import train as training

    seen = {}
    monkeypatch.setattr(
        training, "train", lambda spec, ex, out, device, on_step, val, *rest: seen.update(ex=ex, val=val)
    )
    scenes = sum(1 for r in iter_rows(rendered, ["objects"], "train") if r["objects"])
    for captions in (False, True):
        training.train_on_folder(_spec(rendered, captions=captions, captions_per_scene=3), Path("unused"))
        caps = [e for e in seen["ex"] if "/caption" in e.id]
        assert len(caps) == (3 * scenes if captions else 0) and len({e.id for e in caps}) == len(caps)
        assert not any("/caption" in e.id for e in seen["val"])
    by_scene = {}
    for e in caps:
        by_scene.setdefault(e.id.split("/")[0], set()).add(e.answer)
    assert all(len(v) <= 3 for v in by_scene.values()) and max(len(v) for v in by_scene.values()) == 3


def test_train_on_folder_adds_restated_questions_only_when_asked(rendered, monkeypatch):
    """With restate, the split's questions are followed by a restatement of each yes/no question of a family with
    an inverse wording (left/right, near/far, ...); validation is scored as generated."""
    from spatialgen.training import train as training
    from spatialgen.training.restate import inverses

    seen = {}
    monkeypatch.setattr(
        training, "train", lambda spec, ex, out, device, on_step, val, *rest: seen.update(ex=ex, val=val)
    )
    training.train_on_folder(_spec(rendered, restate=False), Path("unused"))
    plain, val = seen["ex"], seen["val"]
    training.train_on_folder(_spec(rendered, restate=True), Path("unused"))
    paired = {*inverses(), *inverses().values()}
    asked = [e for e in plain if e.categories.get("relation") in paired and e.answer_type == "yes_no"]
    assert asked and len(asked) < len(plain)  # other families too, or this shows less than it says
    assert seen["ex"][: len(plain)] == plain and seen["val"] == val
    assert [e.id for e in seen["ex"][len(plain) :]] == [f"{e.id}/restated" for e in asked]
