"""Each diagnostic writes its CSV and PNG; the paper's measures are checked against independent computations.

The definitions follow the paper's code (user074/beyond-semantics, diagnostic_tools/): attention_utils.py
(CMB over decode steps: heads averaged, BOS zeroed and renormalized, layers averaged, system prompt masked),
position_utils.py (RoPE probe: post-RoPE q/k of one forward, only vision keys rotated by one position).
"""

from __future__ import annotations

import csv
import math
import statistics

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

COLUMNS = {
    "norms": ["kind", "norm"],
    "hidden-norms": ["layer", "system_mean", "system_sd", "user_mean", "user_sd", "vision_mean", "vision_sd"],
    "balance": ["image", "step", "vision_share"],
    "rope": ["layer", "head", "alpha_v", "delta_alpha_v", "delta_g_v"],
    "position": ["condition", "n", "accuracy", "ci_low", "ci_high", "psi", "psi_ci_low", "psi_ci_high", "mcnemar_p"],
    "balance-lastq": ["layer", "head", "vision_mass", "text_mass", "balance"],
    "rope-shift": ["layer", "head", "mass_before", "mass_after", "delta"],
}


@pytest.fixture(scope="module")
def setup(rendered):
    from spatialgen.eval.sources import load_source
    from spatialgen.models.loading import load_model

    vlm = load_model("tiny-random", "float32", "cpu", attn="eager", prompt_style="paper")
    return vlm, load_source(str(rendered), limit=14).examples


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("kind", list(COLUMNS))
def test_diagnostic_files(setup, tmp_path, kind):
    from spatialgen.eval.diagnose import diagnose, distinct_images, work

    vlm, examples = setup
    ticks = []
    result = diagnose(kind, vlm, examples, tmp_path, batch_size=4, seeds=2, max_new_tokens=5, tick=ticks.append)
    assert sum(ticks) == work(kind, examples, seeds=2)  # the progress bar ends full
    rows = _rows(tmp_path / f"{kind}.csv")
    assert rows and list(rows[0]) == COLUMNS[kind]
    for r in rows:
        for k, v in r.items():
            if k not in ("kind", "condition", "image"):
                assert math.isfinite(float(v)), (k, v)
    assert (tmp_path / f"{kind}.png").stat().st_size > 1000
    images = distinct_images(examples)
    assert 1 < len(images) < len(examples)  # several questions share an image; the paper's measures see each once
    if kind == "norms":
        v = [float(r["norm"]) for r in rows if r["kind"] == "vision"]
        t = [float(r["norm"]) for r in rows if r["kind"] == "text"]
        assert len(v) == len(images) * 16  # 16 vision tokens an image
        assert len(t) == sum(len(vlm.tokenizer(e.context)["input_ids"]) for e in images)  # captions, BOS included
        # torch.median is the lower middle value, as statistics.median_low
        assert result["ratio"] == pytest.approx(statistics.median_low(v) / statistics.median_low(t), rel=1e-6)
    if kind == "balance":
        assert len({r["image"] for r in rows}) == len(images)
        assert all(0 <= float(r["vision_share"]) <= 1 for r in rows)
        assert result["cmb"] == pytest.approx(sum(float(r["vision_share"]) for r in rows) / len(rows))
    if kind == "hidden-norms":
        assert [int(r["layer"]) for r in rows] == [0, 1, 2]  # embeddings + 2 layers
    if kind == "rope":
        assert len(rows) == 2 * 4  # layers x heads of tiny-random
        assert all(0 <= float(r["alpha_v"]) <= 1 for r in rows)
    if kind == "position":
        assert rows[0]["condition"] == "original order" and len(rows) == 3


def test_diagnostics_run_on_the_asked_cpu_threads_then_restore_them(setup, tmp_path):
    """As eval's: a sum split across threads rounds by the split, so the count is an option (default 1, the
    same bytes on any core count), set while the diagnostic runs and restored after."""
    from spatialgen.errors import SpatialgenError
    from spatialgen.eval.diagnose import diagnose

    vlm, examples = setup
    before, seen = torch.get_num_threads(), []
    n = 2 if before != 2 else 3
    diagnose("norms", vlm, examples[:4], tmp_path / "n", tick=lambda k: seen.append(torch.get_num_threads()), threads=n)
    diagnose("norms", vlm, examples[:4], tmp_path / "one", tick=lambda k: seen.append(-torch.get_num_threads()))
    assert set(seen) == {n, -1} and torch.get_num_threads() == before
    with pytest.raises(SpatialgenError, match="--threads"):
        diagnose("norms", vlm, examples[:4], tmp_path / "z", threads=0)
    assert not (tmp_path / "z").exists()


def test_token_groups_mask_bos_and_system_prompt(setup):
    from spatialgen.eval.conditions import Condition
    from spatialgen.eval.diagnose import token_groups
    from spatialgen.eval.scoring import encode
    from spatialgen.models.loading import LLAVA_V1_SYSTEM

    vlm, examples = setup
    inputs = encode(vlm, examples[:1], Condition())
    ids, mask = inputs["input_ids"][0], inputs["attention_mask"][0]
    g = token_groups(vlm, ids, mask)
    n_sys = len(vlm.tokenizer(LLAVA_V1_SYSTEM, add_special_tokens=False)["input_ids"])
    assert ids[0] == vlm.tokenizer.bos_token_id and not g["user"][0] and not g["system"][0]
    assert int(g["system"].sum()) == n_sys and g["system"][1 : 1 + n_sys].all()
    assert int(g["vision"].sum()) == 16
    assert not (g["user"] & (g["system"] | g["vision"])).any()


def test_cmb_steps_equal_a_full_forward(setup):
    """The attention generate() reports at each decode step equals the rows of one forward over the whole
    generated sequence; CMB computed from those rows matches the diagnostic's."""
    from spatialgen.eval.conditions import Condition
    from spatialgen.eval.diagnose import _step_rows, distinct_images, token_groups
    from spatialgen.eval.scoring import encode

    vlm, examples = setup
    ex = distinct_images(examples)[0]
    inputs = encode(vlm, [ex], Condition())
    n = inputs["input_ids"].shape[1]
    with torch.no_grad():
        gen = vlm.model.generate(**inputs, max_new_tokens=4, do_sample=False, output_attentions=True,
                                 return_dict_in_generate=True, pad_token_id=vlm.tokenizer.pad_token_id)  # fmt: skip
        seq = gen.sequences
        full = vlm.model(
            input_ids=seq, attention_mask=torch.ones_like(seq), pixel_values=inputs["pixel_values"],
            output_attentions=True,
        )  # fmt: skip
    g = token_groups(vlm, inputs["input_ids"][0], inputs["attention_mask"][0])
    for s, att in enumerate(gen.attentions):
        row, _ = _step_rows(att)
        q = n - 1 + s
        ref = torch.stack([a[0, :, q, : q + 1].float().mean(0) for a in full.attentions])  # [L, K]
        ref[:, 0] = 0
        ref = (ref / ref.sum(-1, keepdim=True)).mean(0)
        assert torch.allclose(row, ref, atol=1e-5)
        vis, txt = float(ref[:n][g["vision"]].sum()), float(ref[:n][g["user"]].sum())
        assert 0 < vis / (vis + txt) < 1


def test_rope_rotation_equals_transformers_rope_one_position_later():
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    from spatialgen.eval.diagnose import rotate_keys
    from spatialgen.models import tiny

    cfg = tiny.config().text_config
    rope = LlamaRotaryEmbedding(cfg)
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    k = torch.randn(1, 2, 5, head_dim)
    pos = torch.tensor([[3, 4, 9, 10, 17]])
    cos0, sin0 = rope(k, pos)
    cos1, sin1 = rope(k, pos + 1)
    _, k0 = apply_rotary_pos_emb(k, k, cos0, sin0)
    _, k1 = apply_rotary_pos_emb(k, k, cos1, sin1)
    assert torch.allclose(rotate_keys(k0, 1.0, rope.inv_freq), k1, atol=1e-5)


def test_rope_capture_reproduces_the_models_attention(setup):
    """The probe's recomputed post-RoPE q.k softmax equals the attention the model itself computed."""
    from spatialgen.eval.conditions import Condition
    from spatialgen.eval.diagnose import _capture_qk, _decoder, distinct_images, rope_probe
    from spatialgen.eval.scoring import encode, forward

    vlm, examples = setup
    inputs = encode(vlm, distinct_images(examples)[:1], Condition())
    dec = _decoder(vlm)
    cap, handles = _capture_qk(dec)
    with torch.no_grad():
        att = forward(vlm, inputs, output_attentions=True).attentions
    for h in handles:
        h.remove()
    t = inputs["input_ids"].shape[1] - 1
    vision = inputs["input_ids"][0] == vlm.model.config.image_token_index
    for li, a in enumerate(att):
        q, k = cap[li]
        logits = torch.einsum("hd,hkd->hk", q[:, t], k[:, : t + 1]) / math.sqrt(q.shape[-1])
        assert torch.allclose(logits.softmax(-1), a[0, :, t, : t + 1].float(), atol=1e-5)
        still = rope_probe(q[:, t], k[:, :t], vision[:t], dec.rotary_emb.inv_freq, delta=0.0 + 1e-9)
        assert still["delta_alpha_v"].abs().max() < 1e-6


def test_rope_shift_probe_is_zero_without_a_shift(setup):
    from spatialgen.eval.conditions import Condition
    from spatialgen.eval.diagnose import _last_query_masses
    from spatialgen.eval.scoring import _positions, encode

    vlm, examples = setup
    inputs = encode(vlm, examples[:3], Condition())
    pos = _positions(inputs["attention_mask"])
    with torch.no_grad():
        a, _ = _last_query_masses(vlm, inputs, pos)
        b, _ = _last_query_masses(vlm, inputs, pos.clone())
        c, _ = _last_query_masses(vlm, inputs, pos + 1000 * (inputs["input_ids"] == vlm.model.config.image_token_index))
    assert torch.equal(a, b) and not torch.allclose(a, c)
