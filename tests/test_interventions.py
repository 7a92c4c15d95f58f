"""Interventions on tiny-random: each checked on the tensors it produces."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from spatialgen.eval.conditions import Condition  # noqa: E402
from spatialgen.eval.scoring import encode, forward  # noqa: E402
from spatialgen.eval.sources import load_source  # noqa: E402
from spatialgen.models import interventions as iv  # noqa: E402


@pytest.fixture(scope="module")
def vlm():
    from spatialgen.models.loading import load_model

    return load_model("tiny-random", dtype="float32", device="cpu")


@pytest.fixture(scope="module")
def examples(rendered):
    return load_source(str(rendered), limit=3).examples


def projected(vlm, examples, *interventions):
    """Run the model under a condition and capture what the projector hands the language model."""
    seen = {}

    def grab(_m, _inp, out):
        seen["out"] = out.detach().clone()

    cond = Condition("c", interventions=tuple(iv.parse_all(interventions)))
    with iv.applied(vlm, cond):  # interventions' hooks first, then ours sees their result
        h = iv.projector(vlm.model).register_forward_hook(grab)
        try:
            with torch.no_grad():
                logits = forward(vlm, encode(vlm, examples, cond)).logits
        finally:
            h.remove()
    assert torch.isfinite(logits).all()
    return seen["out"]


def test_norm_text_mean_hits_the_target(vlm, examples):
    target = iv.text_mean_norm(vlm.model)
    base = projected(vlm, examples).norm(dim=-1)
    assert (base - target).abs().max() > 1e-2  # not already there
    normed = projected(vlm, examples, "norm:text-mean").norm(dim=-1)
    assert (normed - target).abs().max() < 1e-3


def test_norm_value(vlm, examples):
    assert (projected(vlm, examples, "norm:value=7.5").norm(dim=-1) - 7.5).abs().max() < 1e-3


def test_norm_paper_matches_direct_computation(vlm, examples):
    base = projected(vlm, examples)
    x = base / torch.sqrt(base.pow(2).mean(-1, keepdim=True) + 1e-6)
    n = x.norm(dim=-1, keepdim=True)
    direct = 0.83 * torch.where(n > 1.22, x * 1.22 / n, x)
    assert torch.allclose(projected(vlm, examples, "norm:paper"), direct, atol=1e-5)


def test_gemma_style_scaled_embeddings_count(vlm):
    emb = vlm.model.get_input_embeddings()
    plain = iv.text_mean_norm(vlm.model)
    emb.embed_scale = torch.tensor(8.0)
    try:
        assert iv.text_mean_norm(vlm.model) == pytest.approx(8 * plain, rel=1e-5)
    finally:
        del emb.embed_scale


def test_permute_only_reorders(vlm, examples):
    base, perm = projected(vlm, examples), projected(vlm, examples, "permute:3")
    assert not torch.equal(base, perm)
    for b, p in zip(base, perm, strict=True):
        key = lambda t: t[torch.argsort(t[:, 0])]  # noqa: E731
        assert torch.equal(key(b), key(p))
    assert torch.equal(perm, projected(vlm, examples, "permute:3"))  # seeded


def test_pool_yields_k_by_k_tokens(vlm, examples):
    base = projected(vlm, examples)
    pooled = projected(vlm, examples, "pool:2")
    assert base.shape[1] == 16 and pooled.shape[1] == 4
    grid = base.reshape(base.shape[0], 4, 4, -1)
    assert torch.allclose(pooled[:, 0], grid[:, :2, :2].mean(dim=(1, 2)), atol=1e-6)


def test_layers_takes_the_named_layer(vlm, examples):
    inputs = encode(vlm, examples, Condition())
    with torch.no_grad():
        hs = iv.vision_tower(vlm.model)(inputs["pixel_values"], output_hidden_states=True).hidden_states
    for spec, want in (("layers:1", hs[1]), ("layers:0,2", (hs[0] + hs[2]) / 2)):
        seen = {}
        with iv.applied(vlm, Condition("c", interventions=tuple(iv.parse(spec)))):
            h = iv.projector(vlm.model).register_forward_pre_hook(lambda _m, a, seen=seen: seen.__setitem__("in", a[0]))
            try:
                with torch.no_grad():
                    forward(vlm, inputs)
            finally:
                h.remove()
        assert torch.allclose(seen["in"], want[:, 1:], atol=1e-5), spec


def test_hooks_are_removed_after_the_condition(vlm, examples):
    before = projected(vlm, examples)
    projected(vlm, examples, "norm:text-mean+permute:1+pool:2")
    assert torch.equal(projected(vlm, examples), before)


def test_norm_paper_on_a_vanilla_model_is_a_fixed_rescale(vlm, examples):
    """Gain 1: every token's RMS becomes 1, its L2 norm sqrt(hidden) > 1.22, so the clip always applies and
    norm:paper equals norm:value=0.83*1.22 (README, "Fidelity to the paper")."""
    assert torch.allclose(
        projected(vlm, examples, "norm:paper"), projected(vlm, examples, f"norm:value={0.83 * 1.22}"), atol=1e-5
    )


def test_permute_draws_one_permutation_per_question(vlm, rendered):
    """The paper draws a fresh permutation for every question; ours comes from (seed, example id, image)."""
    exs = load_source(str(rendered), limit=4).examples
    assert len({e.images[0] for e in exs}) == 1  # one image, several questions
    perm = projected(vlm, exs, "permute:3")
    orders = [tuple(torch.argsort(p[:, 0]).tolist()) for p in perm]
    assert len(set(orders)) == len(exs)
    alone = projected(vlm, exs[2:3], "permute:3")  # the same question gets the same order in any batch
    assert torch.equal(alone[0], perm[2])
    assert not torch.equal(projected(vlm, exs[2:3], "permute:4")[0], perm[2])


def test_permute_on_merged_tokens_moves_tokens_not_channels():
    """Qwen2-VL's merger returns [all images' tokens, hidden]: each image's rows are reordered among
    themselves, and every row stays intact."""
    v = torch.arange(10 * 6, dtype=torch.float32).reshape(10, 6)
    out = iv.permute_tokens(v, ["a#0", "b#0"], seed=1, sizes=[4, 6])
    assert out.shape == v.shape and not torch.equal(out, v)
    rows = {tuple(r.tolist()) for r in v}
    assert all(tuple(r.tolist()) in rows for r in out)  # channels untouched
    assert {tuple(r.tolist()) for r in out[:4]} == {tuple(r.tolist()) for r in v[:4]}  # image a stays in a
    with pytest.raises(iv.SpatialgenError, match="which image"):
        iv.permute_tokens(v, ["a#0"], seed=1, sizes=[4, 6])


@pytest.mark.parametrize(
    ("spec", "message"),
    [("layers:999", "hidden states 0..3"), ("pool:1000", "4 x 4 tokens")],
)
def test_arguments_the_model_cannot_take_are_refused(vlm, examples, spec, message):
    with (
        pytest.raises(iv.SpatialgenError, match=message),
        iv.applied(vlm, Condition("c", interventions=tuple(iv.parse(spec)))),
    ):
        pass


@pytest.mark.parametrize("spec", ["norm:value=inf", "norm:value=nan", "norm:value=-1", "pool:0", "layers:"])
def test_bad_arguments_are_refused(spec):
    with pytest.raises(iv.SpatialgenError, match="bad argument"):
        iv.parse(spec)
