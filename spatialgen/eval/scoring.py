"""Scoring closed-form answers: by log-likelihood from a cached prefix, or by greedy generation.

Likelihood mode encodes the image and prompt once per batch. A candidate is scored as the whole answer
turn the model would have to write: the candidate followed by the end of turn its chat template emits
(``</s>`` for LLaVA-1.5, ``<|im_end|>`` for Qwen). Without that end, a candidate that is a prefix of another
("1" of "10" under a tokenizer that splits digits) could never lose to it. The first token is scored from
the prefix's last logits, the rest from a copy of the prefix cache holding just the rows they need. A
candidate's score is the sum of its tokens' log-probabilities; the prediction is the highest score.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import torch

from spatialgen.models.interventions import pooled_token_count, shrink_image_runs
from spatialgen.models.loading import VLM

from .conditions import Condition
from .example import Example, load_images, open_answer, pad_to_square
from .prompts import question_text


def _images(vlm: VLM, ex: Example) -> list:
    imgs = load_images(ex)
    if vlm.upscale:
        imgs = [upscaled(im, vlm.upscale, f"{ex.source} example {ex.id}") for im in imgs]
    if vlm.image_mode == "pad":
        fill = tuple(int(x * 255) for x in vlm.processor.image_processor.image_mean)
        imgs = [pad_to_square(im, fill) for im in imgs]
    return imgs


def upscaled(img: Any, factor: float, where: str) -> Any:
    """``img`` resized by ``factor`` with Lanczos, as the paper's vlm_token_norms.py ``resize_image`` does
    (sides truncated to integers); the result is bounded in pixels like any input image."""
    from PIL import Image

    from spatialgen.untrusted import check_pixels

    size = (max(1, int(img.width * factor)), max(1, int(img.height * factor)))
    check_pixels(size, f"{where} upscaled x{factor}")
    return img.resize(size, Image.LANCZOS)


def _parts(vlm: VLM, ex: Example, cond: Condition) -> tuple[str, list]:
    use_image = cond.use_image and bool(ex.images)
    # Text-only sources (stories) always carry their context: it is their input.
    use_context = cond.use_context or not ex.images
    return question_text(ex, use_context, vlm.prompt_style), (_images(vlm, ex) if use_image else [])


def encode(vlm: VLM, examples: list[Example], cond: Condition) -> dict[str, Any]:
    """Prompts and images of a batch through the processor, under a condition, as model inputs."""
    prompts, images, image_ids = [], [], []
    for ex in examples:
        text, imgs = _parts(vlm, ex, cond)
        prompts.append(vlm.prompt(text, len(imgs)))
        images += imgs
        image_ids += [f"{ex.id}#{k}" for k in range(len(imgs))]
    kwargs = {"text": prompts, "padding": True, "return_tensors": "pt"}
    if images:
        kwargs["images"] = images
    batch = vlm.processor(**kwargs)
    out = {k: v.to(vlm.device) for k, v in batch.items() if hasattr(v, "to")}
    # Hooks that treat each image on its own (permute) read which image is which from here.
    vlm.context = {"image_ids": image_ids, "image_grid_thw": out.get("image_grid_thw")}
    keep = pooled_token_count(list(cond.interventions))
    if keep is None and vlm.pool is not None:
        keep = vlm.pool * vlm.pool
    if keep is not None and images:
        image_id = vlm.model.config.image_token_index
        out = shrink_image_runs(out, image_id, keep, vlm.tokenizer.pad_token_id or 0)
    if "pixel_values" in out:
        out["pixel_values"] = out["pixel_values"].to(vlm.dtype)
    return out


def _positions(mask: torch.Tensor) -> torch.Tensor:
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


def _standard_rope(vlm: VLM) -> bool:
    # Models with multi-axis RoPE (Qwen2-VL) compute their own position ids.
    return vlm.family in ("llava", "llava_next", "paligemma", "text")


def forward(vlm: VLM, inputs: dict[str, Any], **kw) -> Any:
    """The model's forward pass on encoded inputs (the condition's interventions are applied by hooks)."""
    if _standard_rope(vlm) and "position_ids" not in kw:
        kw["position_ids"] = _positions(inputs["attention_mask"])
    return vlm.model(**inputs, **kw)


def _out_cache(out):
    return out.cache if "cache" in out else out.past_key_values


@lru_cache(maxsize=4096)
def _tail_ids(tok, anchor: str, candidate: str) -> tuple[int, ...]:
    """Token ids of ``candidate`` as it follows the prompt's last characters (boundary effects included)."""
    sep = "" if anchor[-1:].isspace() else " "
    a = tok(anchor, add_special_tokens=False)["input_ids"]
    full = tok(anchor + sep + candidate, add_special_tokens=False)["input_ids"]
    if full[: len(a)] == a and len(full) > len(a):
        return tuple(full[len(a) :])
    return tuple(tok(sep + candidate, add_special_tokens=False)["input_ids"])


def candidate_ids(vlm: VLM, prompt: str, candidates: list[str]) -> list[tuple[int, ...]]:
    """Token ids of each candidate's full answer turn (candidate + end of turn) after ``prompt``."""
    end = vlm.end_of_turn
    return [_tail_ids(vlm.tokenizer, prompt[-24:], c + end) for c in candidates]


def _select_cache(cache, rows: torch.Tensor):
    """A new DynamicCache with the given batch rows (repeats allowed), leaving ``cache`` untouched."""
    from transformers import DynamicCache

    if hasattr(cache, "layers"):
        kv = [(layer.keys, layer.values) for layer in cache.layers]
    else:  # transformers 4.x
        kv = list(zip(cache.key_cache, cache.value_cache, strict=True))
    new = DynamicCache()
    for i, (k, v) in enumerate(kv):
        new.update(k.index_select(0, rows), v.index_select(0, rows), i)
    return new


@torch.inference_mode()
def score_batch(vlm: VLM, examples: list[Example], cond: Condition) -> list[list[float]]:
    """Log-likelihood of every candidate of every example, from one prefix pass per batch."""
    inputs = encode(vlm, examples, cond)
    # Only the last position's logits are read: asking for all of them costs batch x length x vocab
    # (5 GB in bf16 for 128 LLaVA-1.5 prompts) and caps the batch size on a GPU.
    out = forward(vlm, inputs, use_cache=True, logits_to_keep=1)
    last = torch.log_softmax(out.logits[:, -1].float(), dim=-1).cpu()  # one copy, not a sync per candidate
    prompts = vlm.tokenizer.batch_decode(inputs["input_ids"][:, -8:])
    scores: list[list[float]] = []
    long_rows: list[tuple[int, int, tuple[int, ...]]] = []
    for b, ex in enumerate(examples):
        ids = candidate_ids(vlm, prompts[b], ex.candidates)
        scores.append([float(last[b, c[0]]) for c in ids])
        long_rows += [(b, j, c) for j, c in enumerate(ids) if len(c) > 1]
    # Multi-token answer turns continue from the cached prefix, one row per (example, candidate). The prefix
    # cache is copied per row, so rows go in chunks of the batch's size: at most twice the prefix's memory
    # even for counts with 65 candidates (all at once would copy a 7B model's cache 65 times).
    cache = _out_cache(out) if long_rows else None
    for k in range(0, len(long_rows), len(examples)):
        _continue(vlm, inputs, cache, long_rows[k : k + len(examples)], scores)
    return scores


def _continue(vlm: VLM, inputs, cache, long_rows: list[tuple[int, int, tuple[int, ...]]], scores) -> None:
    """Add the log-probabilities of the answer turns' later tokens to ``scores``, from the prefix cache."""
    rows = torch.tensor([b for b, _, _ in long_rows], device=vlm.device)
    width = max(len(c) for _, _, c in long_rows) - 1
    pad = vlm.tokenizer.pad_token_id or 0
    cont = torch.full((len(long_rows), width), pad, dtype=torch.long, device=vlm.device)
    cmask = torch.zeros_like(cont)
    for r, (_, _, c) in enumerate(long_rows):
        cont[r, : len(c) - 1] = torch.tensor(c[:-1])
        cmask[r, : len(c) - 1] = 1
    prefix_mask = inputs["attention_mask"].index_select(0, rows)
    mask = torch.cat([prefix_mask, cmask], dim=1)
    pos = _positions(mask)[:, -width:]
    kw = {vlm.cache_arg: _select_cache(cache, rows), "attention_mask": mask, "use_cache": True}
    if _standard_rope(vlm):
        kw["position_ids"] = pos
    logp = torch.log_softmax(vlm.model(input_ids=cont, **kw).logits.float(), dim=-1)
    target = torch.zeros_like(cont)
    for r, (_, _, c) in enumerate(long_rows):
        target[r, : len(c) - 1] = torch.tensor(c[1:])
    picked = logp.gather(-1, target[..., None])[..., 0].tolist()  # gathered on the device, copied once
    for r, (b, j, c) in enumerate(long_rows):
        scores[b][j] += sum(picked[r][t] for t in range(len(c) - 1))


@torch.inference_mode()
def brute_force_scores(vlm: VLM, ex: Example, cond: Condition) -> list[float]:
    """Each candidate scored by its own full forward pass over prompt + candidate (no cache): the check."""
    inputs = encode(vlm, [ex], cond)
    prompt = vlm.tokenizer.decode(inputs["input_ids"][0, -8:])
    out = []
    for c in candidate_ids(vlm, prompt, ex.candidates):
        ids = torch.cat([inputs["input_ids"], torch.tensor([c], device=vlm.device)], dim=1)
        mask = torch.ones_like(ids)
        full = {**inputs, "input_ids": ids, "attention_mask": mask}
        logp = torch.log_softmax(forward(vlm, full).logits[0].float(), dim=-1)
        n = inputs["input_ids"].shape[1]
        out.append(sum(float(logp[n - 1 + t, tok]) for t, tok in enumerate(c)))
    return out


def _decode_new(vlm: VLM, seqs: torch.Tensor, n_in: int) -> list[str]:
    return vlm.tokenizer.batch_decode(seqs[:, n_in:], skip_special_tokens=True)


@torch.inference_mode()
def generate_batch(
    vlm: VLM, examples: list[Example], cond: Condition, max_new_tokens: int, sample: tuple[float, int] | None = None
) -> list[str]:
    """Answers of up to ``max_new_tokens`` tokens for a batch (generate mode): greedy, or ``sample`` =
    (temperature, seed) as the paper's harness samples (temperature, one beam, the rest generate's defaults)."""
    inputs = encode(vlm, examples, cond)
    how: dict[str, Any] = {"do_sample": False}
    if sample is not None:
        torch.manual_seed(sample[1])  # every device's generator
        how = {"do_sample": True, "temperature": sample[0]}
    seqs = vlm.model.generate(
        **inputs, max_new_tokens=max_new_tokens, num_beams=1, pad_token_id=vlm.tokenizer.pad_token_id, **how
    )
    return _decode_new(vlm, seqs, inputs["input_ids"].shape[1])


@torch.inference_mode()
def reference_generate(vlm: VLM, ex: Example, cond: Condition, max_new_tokens: int) -> str:
    """The paper code's loop: one question at a time, ``generate`` without a KV cache."""
    inputs = encode(vlm, [ex], cond)
    seqs = vlm.model.generate(
        **inputs,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        use_cache=False,
        pad_token_id=vlm.tokenizer.pad_token_id,
    )
    return _decode_new(vlm, seqs, inputs["input_ids"].shape[1])[0]


_LEAD = re.compile(r"^(the answer is|answer)\s*[:\-]?\s*", re.I)


def normalize(text: str, candidates: list[str]) -> str | None:
    """Strict: the reply's first word (or a leading option letter, '(B)', 'B.') must be a candidate."""
    s = _LEAD.sub("", text.strip()).strip()
    low = s.lower()
    for c in sorted(candidates, key=len, reverse=True):
        cl = c.lower()
        if len(cl) > 1 and re.match(rf"^{re.escape(cl)}\b", low):
            return c
    m = re.match(r"^\(?([A-Za-z0-9]+)\)?[\s.,:;!)]*", s)
    if not m:
        return None
    word = m.group(1)
    for c in candidates:
        if word == c or (len(c) > 1 and word.lower() == c.lower()):
            return c
    return None


def reply_answer(ex: Example, text: str) -> str | None:
    """What a generated reply answers: a candidate (strict, ``normalize``), or an open answer normalized."""
    return open_answer(text) if ex.answer_type == "open" else normalize(text, ex.candidates)
