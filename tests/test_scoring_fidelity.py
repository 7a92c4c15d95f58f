"""Scoring that holds on real tokenizers and answer domains that come from the data.

Facts these tests lean on, and where they come from:
- LLaMA's tokenizer splits every number into single digits (Touvron et al. 2023, "LLaMA", section 2.1), and
  SentencePiece puts a word-boundary piece before them: " 10" is "▁", "1", "0" in LLaVA-1.5's tokenizer.
  The tiny tokenizer (models/tiny.py) is built to do the same, and the first test pins that.
- LLaVA-1.5's conversation ends an assistant turn with "</s>" (LLaVA ``conv_llava_v1``: sep2 = "</s>").
"""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from spatialgen.errors import SpatialgenError  # noqa: E402
from spatialgen.eval.conditions import Condition  # noqa: E402
from spatialgen.eval.example import Example  # noqa: E402
from spatialgen.eval.scoring import brute_force_scores, candidate_ids, encode, score_batch  # noqa: E402

COUNTS = [str(k) for k in range(31)]


@pytest.fixture()
def vlm():
    from spatialgen.models.loading import load_model

    return load_model("tiny-random", dtype="float32", device="cpu")


def _count_example(rendered_row_image: bytes, answer: str = "10") -> Example:
    return Example(
        id="x/q0",
        source="test",
        images=[rendered_row_image],
        question="How many circles are there?",
        candidates=COUNTS,
        answer=answer,
        answer_type="number",
    )


@pytest.fixture(scope="module")
def image(rendered) -> bytes:
    from spatialgen.generator.folder import iter_rows

    return next(iter_rows(rendered, columns=["image"]))["image"]["bytes"]


def test_tiny_tokenizer_splits_digits_like_llama():
    from spatialgen.models import tiny

    tok = tiny.tokenizer()
    ids = tok("ASSISTANT: 10</s>", add_special_tokens=False)["input_ids"]
    assert tok.convert_ids_to_tokens(ids)[-4:] == ["▁", "1", "0", "</s>"]


def test_candidates_end_with_the_end_of_turn(vlm, image):
    assert vlm.end_of_turn == "</s>"  # read off the chat template, not assumed
    prompt = vlm.prompt("How many?", 1)
    one, ten = candidate_ids(vlm, prompt, ["1", "10"])
    eos = vlm.tokenizer.eos_token_id
    assert one[-1] == eos and ten[-1] == eos
    assert ten[: len(one) - 1] == one[:-1] and ten[: len(one)] != one  # "1" is no longer a prefix of "10"


def _bigram_model(vlm, chain: list[int], strength: float = 4.0) -> None:
    """Make the language model a bigram table: zero every block's output so the last hidden state is the
    token's own embedding, then point lm_head so that token chain[i] predicts chain[i + 1]."""
    lm = vlm.model.get_decoder()
    with torch.no_grad():
        for layer in lm.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        emb = vlm.model.get_input_embeddings().weight
        head = vlm.model.get_output_embeddings().weight
        head.zero_()
        for a, b in itertools.pairwise(chain):
            head[b] += strength * emb[a] / emb[a].norm()


def test_a_two_digit_count_can_win_over_its_prefix(vlm, image):
    """The model says " 10</s>". Summing log-probs without the end of turn, "1" scores at least as high as
    "10" (it is a prefix), so every count of 10 or more was scored wrong; with it, "10" wins."""
    ex = _count_example(image)
    prompt_ids = encode(vlm, [ex], Condition())["input_ids"][0].tolist()
    tok = vlm.tokenizer
    piece = {t: tok.convert_tokens_to_ids(t) for t in ("▁", "1", "0")}
    _bigram_model(vlm, [prompt_ids[-1], piece["▁"], piece["1"], piece["0"], tok.eos_token_id])
    (scores,) = score_batch(vlm, [ex], Condition())
    best = COUNTS[max(range(len(scores)), key=scores.__getitem__)]
    assert best == "10"
    assert scores == pytest.approx(brute_force_scores(vlm, ex, Condition()), abs=1e-4)
    # Without the end of turn the prefix would tie or win: the first two tokens of "1" and "10" are shared.
    one, ten = candidate_ids(vlm, tok.decode(prompt_ids[-8:]), ["1", "10"])
    assert one[:2] == ten[:2]


def test_counts_in_many_object_scenes_are_candidates():
    """Configs allow up to 64 objects: the stored domain reaches the config's maximum."""
    from spatialgen.scenes.config import resolve_config
    from spatialgen.scenes.flat.example import make_example

    cfg = resolve_config("hard").model_copy(update={"objects": (30, 30)})
    digest = cfg.digest()
    seen = 0
    for i in range(12):
        for q in make_example(cfg, 3, i, digest=digest).original.questions:
            assert q.answer in q.candidates
            if q.answer_type == "number":
                assert q.candidates == tuple(str(k) for k in range(31))
                seen += 1
            if q.answer_type == "word":
                assert q.candidates == tuple(getattr(cfg, q.program.relation + "s"))
    assert seen


def test_generated_examples_read_their_domain_and_split(rendered):
    from spatialgen.eval.sources import load_source

    test = load_source(str(rendered)).examples
    train = load_source(str(rendered), split="train", limit=50).examples
    assert test and {e.categories["split"] for e in test} == {"test"}
    assert len(train) == 50 and {e.categories["split"] for e in train} == {"train"}
    for e in test:
        assert e.answer in e.candidates
    with pytest.raises(SpatialgenError, match="--split must be one of"):
        load_source(str(rendered), split="dev")


def test_an_answer_outside_its_domain_is_an_error():
    from spatialgen.eval.sources.generated import question_candidates

    q = {"qid": "q0", "answer": "12", "candidates": ["0", "1"]}
    with pytest.raises(SpatialgenError, match="not among its candidates"):
        question_candidates(q, "row 1")
    with pytest.raises(SpatialgenError, match="stores no answer domain"):
        question_candidates({"qid": "q0", "answer": "1"}, "row 1")


def test_word_domains_are_stored_with_the_config(rendered):
    from spatialgen.generator.folder import iter_rows
    from spatialgen.scenes.config import resolve_config

    cfg = resolve_config("medium")
    words = [
        q for r in iter_rows(rendered, columns=["questions"]) for q in r["questions"] if q["answer_type"] == "word"
    ]
    assert words
    for q in words:
        assert q["candidates"] == list(getattr(cfg, q["program"]["relation"] + "s"))


def test_card_documents_the_domain(rendered):
    assert "candidates (the answer domain" in (rendered / "README.md").read_text()
