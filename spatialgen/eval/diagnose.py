"""Diagnostics of how a VLM treats its vision tokens. Each writes ``KIND.csv`` and ``KIND.png``.

The paper's measures, as its code defines them (user074/beyond-semantics, ``diagnostic_tools/``), on each
distinct image of the data, with its caption prompt "Describe the image." in the model's conversation
(``--prompt paper`` gives LLaVA v1's, whose system prompt the masked measures leave out):

- ``norms``: L2 norms of the projected vision tokens (the LLM's input) and of the input embeddings of
  caption text (each COCO caption with ``--data coco-captions:...``, else our scene descriptions stand in;
  BOS included, as the paper's tokenizer call adds it), as two distributions; the ratio of their medians is
  a summary of ours. ``--upscale 3`` resizes each image first, as the paper's vlm_token_norms.py does.
- ``hidden-norms``: per language-model layer, each image's mean hidden-state L2 norm over its system-prompt,
  user-text (BOS and system prompt excluded) and vision tokens; then mean and spread over images.
- ``balance``: Cross-Modality Balance (CMB) over the decode steps of a greedily generated caption: at each
  step, attention averaged over heads, BOS zeroed and renormalized, averaged over layers; CMB is its mass
  on vision tokens over its mass on vision + user text (system prompt excluded). Also per layer x head.
- ``rope``: the RoPE probe. One forward over prompt + EOS captures every layer's post-RoPE queries and keys;
  the EOS query's attention over earlier keys is recomputed with only the vision keys rotated by one more
  position, layer by layer (nothing propagates): the signed change of vision attention mass (delta_alpha_v)
  and the attention-weighted change of vision logits (delta_g_v, the gain), per layer x head.

Measures of ours, under their own names:

- ``position``: the Position Sensitivity Index (PSI) on the questions. p = softmax over the candidates'
  scores with the vision tokens in order and permuted (a fresh permutation per question and seed); PSI =
  mean total-variation distance (0: order ignored); also the accuracy change, Wilson intervals, McNemar.
- ``balance-lastq``: of the last prompt token's attention on the user turn of a question, the share on
  vision tokens, per layer x head (one query, no generation).
- ``rope-shift``: the change in that last query's vision attention mass when the vision tokens' position
  ids are shifted by one in a full forward (the shift propagates through the layers).
"""

from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path

import torch

from spatialgen.errors import SpatialgenError
from spatialgen.models.interventions import Spec, projector
from spatialgen.models.loading import LLAVA_V1_SYSTEM, VLM, cpu_threads
from spatialgen.requests import DIAGNOSTICS

from .conditions import Condition
from .example import Example
from .scoring import _positions, encode, forward, score_batch
from .stats import mcnemar_exact, wilson

KINDS = DIAGNOSTICS  # declared with the request (spatialgen/requests.py)
NEEDS_EAGER = ("balance", "balance-lastq", "rope-shift")
CAPTION_PROMPT = "Describe the image."


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _batches(examples: list, size: int):
    for k in range(0, len(examples), size):
        yield examples[k : k + size]


def _image_mask(vlm: VLM, inputs) -> torch.Tensor:
    return inputs["input_ids"] == vlm.model.config.image_token_index


def distinct_images(examples: list[Example]) -> list[Example]:
    """One caption example per distinct first image (generated data asks several questions per image)."""
    seen, out = set(), []
    for ex in examples:
        im = ex.images[0]
        key = hashlib.blake2b(im if isinstance(im, bytes) else im.encode(), digest_size=16).digest()
        if key not in seen:
            seen.add(key)
            out.append(
                ex.model_copy(
                    update={"question": CAPTION_PROMPT, "options": [], "answer_type": "caption", "paper_prompt": None}
                )
            )
    return out


def token_groups(vlm: VLM, ids: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Boolean masks over one prompt row: vision, system prompt, user text (BOS, system and padding out)."""
    valid = mask == 1
    vision = ids == vlm.model.config.image_token_index
    start = int(valid.float().argmax())
    bos = torch.zeros_like(valid)
    if vlm.tokenizer.bos_token_id is not None and int(ids[start]) == vlm.tokenizer.bos_token_id:
        bos[start] = True
    system = torch.zeros_like(valid)
    if vlm.prompt_style == "paper":
        sys_ids = vlm.tokenizer(LLAVA_V1_SYSTEM, add_special_tokens=False)["input_ids"]
        a = start + int(bos[start])
        if ids[a : a + len(sys_ids)].tolist() == sys_ids:
            system[a : a + len(sys_ids)] = True
    return {"vision": vision & valid, "system": system, "user": valid & ~vision & ~bos & ~system}


@torch.inference_mode()
def norms(vlm: VLM, examples: list[Example], out: Path, batch_size: int, tick=lambda k: None) -> dict:
    """Vision-token norms (projector output) against the text embeddings' norms over distinct images: the
    paper's norm gap."""
    vision, text = [], []
    seen: dict = {}
    h = projector(vlm.model).register_forward_hook(lambda _m, _i, o: seen.__setitem__("v", o))
    emb = vlm.model.get_input_embeddings()
    try:
        for batch in _batches(distinct_images(examples), batch_size):
            tick(len(batch))
            forward(vlm, encode(vlm, batch, Condition()), logits_to_keep=1)
            vision += seen["v"].float().norm(dim=-1).flatten().tolist()
            for ex in batch:
                for caption in ex.captions or [ex.context or ex.question]:  # COCO: each of its captions
                    ids = vlm.tokenizer(caption, return_tensors="pt")["input_ids"].to(vlm.device)
                    # The embedding module's output: Gemma-style scaled embeddings come out already scaled.
                    text += emb(ids).float().norm(dim=-1).flatten().tolist()
    finally:
        h.remove()
    med_v, med_t = float(torch.tensor(vision).median()), float(torch.tensor(text).median())
    _write_csv(
        out / "norms.csv", [{"kind": "vision", "norm": v} for v in vision] + [{"kind": "text", "norm": t} for t in text]
    )
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3))
    logs = [[math.log10(max(x, 1e-12)) for x in d] for d in (text, vision)]
    ax.violinplot(logs, orientation="horizontal", showmedians=True)
    ax.set_yticks([1, 2], [f"text (median {med_t:.3g})", f"vision (median {med_v:.3g})"])
    ax.set_xlabel("log10 L2 norm")
    ax.set_title(f"token norm distributions; median ratio {med_v / med_t:.2f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "norms.png", dpi=120)
    plt.close(fig)
    return {"vision_median": med_v, "text_median": med_t, "ratio": med_v / med_t}


@torch.inference_mode()
def hidden_norms(vlm: VLM, examples: list[Example], out: Path, batch_size: int, tick=lambda k: None) -> dict:
    """Hidden-state norms per LLM layer at the system, user and image positions."""
    per_image: dict[str, list[list[float]]] = {"system": [], "user": [], "vision": []}  # [image][layer]
    for batch in _batches(distinct_images(examples), batch_size):
        tick(len(batch))
        inputs = encode(vlm, batch, Condition())
        hs = forward(vlm, inputs, output_hidden_states=True, logits_to_keep=1).hidden_states
        n = torch.stack([h.float().norm(dim=-1) for h in hs])  # [layers, B, T]
        for b in range(n.shape[1]):
            groups = token_groups(vlm, inputs["input_ids"][b], inputs["attention_mask"][b])
            for name, m in groups.items():
                per_image[name].append(n[:, b, m].mean(-1).tolist() if m.any() else [math.nan] * n.shape[0])
    layers = len(per_image["vision"][0])
    rows = []
    for layer in range(layers):
        row: dict = {"layer": layer}
        for name in ("system", "user", "vision"):
            vals = torch.tensor([img[layer] for img in per_image[name]])
            row[f"{name}_mean"] = float(vals.mean())
            row[f"{name}_sd"] = float(vals.std()) if len(vals) > 1 else 0.0
        rows.append(row)
    _write_csv(out / "hidden-norms.csv", rows)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name in ("system", "user", "vision"):
        ys = [r[f"{name}_mean"] for r in rows]
        if not all(math.isnan(y) for y in ys):
            ax.plot([r["layer"] for r in rows], ys, marker="o", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("layer (0 = input embeddings)")
    ax.set_ylabel("mean hidden-state L2 norm")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "hidden-norms.png", dpi=120)
    plt.close(fig)
    ratio = [r["vision_mean"] / r["user_mean"] for r in rows if r["user_mean"] > 0]
    return {"images": len(per_image["vision"]), "layers": layers, "max_vision_user_ratio": max(ratio)}


def _step_rows(attentions) -> tuple[torch.Tensor, torch.Tensor]:
    """One generate() step: its last query row averaged over heads, BOS zeroed and renormalized, averaged
    over layers [K]; and the raw per-layer x head rows [L, H, K]."""
    per_layer = []
    raw = torch.stack([a[0, :, -1, :].float() for a in attentions])  # [L, H, K]
    for layer in raw:
        vec = layer.mean(0).clone()
        vec[0] = 0.0
        per_layer.append(vec / vec.sum().clamp(min=1e-12))
    return torch.stack(per_layer).mean(0), raw


@torch.inference_mode()
def balance(vlm: VLM, examples: list[Example], out: Path, max_new_tokens: int = 32, tick=lambda k: None) -> dict:
    """The paper's CMB over the decode steps of a greedy caption, one image at a time (no padding)."""
    steps, heads = [], []
    for ex in distinct_images(examples):
        tick(1)
        inputs = encode(vlm, [ex], Condition())
        g = token_groups(vlm, inputs["input_ids"][0], inputs["attention_mask"][0])
        gen = vlm.model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            output_attentions=True,
            return_dict_in_generate=True,
            pad_token_id=vlm.tokenizer.pad_token_id,
        )
        n = inputs["input_ids"].shape[1]
        for s, att in enumerate(gen.attentions):
            row, raw = _step_rows(att)
            vis, txt = float(row[:n][g["vision"]].sum()), float(row[:n][g["user"]].sum())
            steps.append({"image": ex.id, "step": s, "vision_share": vis / (vis + txt) if vis + txt > 0 else 0.0})
            v, t = raw[..., :n][..., g["vision"]].sum(-1), raw[..., :n][..., g["user"]].sum(-1)
            heads.append(v / (v + t).clamp(min=1e-12))
    per_head = torch.stack(heads).mean(0)  # [L, H]
    _write_csv(out / "balance.csv", steps)
    _write_csv(
        out / "balance-heads.csv",
        [
            {"layer": layer, "head": h, "vision_share": float(per_head[layer, h])}
            for layer in range(per_head.shape[0])
            for h in range(per_head.shape[1])
        ],
    )
    _heatmap(per_head, out / "balance.png", "CMB: vision share of vision + user-text attention", vmin=0, vmax=1)
    cmb = sum(r["vision_share"] for r in steps) / len(steps)
    return {"images": len({r["image"] for r in steps}), "steps": len(steps), "cmb": cmb}


def _decoder(vlm: VLM):
    dec = vlm.model.get_decoder() if hasattr(vlm.model, "get_decoder") else None
    if dec is None or not hasattr(dec, "layers") or not hasattr(dec, "rotary_emb"):
        raise SpatialgenError(f"{vlm.name}: the rope probe needs a LLaMA-style language model (RoPE, q/k projections)")
    return dec


def _capture_qk(dec) -> tuple[dict[int, tuple], list]:
    """Forward pre-hooks that recompute each layer's post-RoPE queries and keys from its inputs."""
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    cap: dict[int, tuple] = {}
    handles = []
    for li, layer in enumerate(dec.layers):
        attn = layer.self_attn

        def grab(m, args, kwargs, li=li):
            h = kwargs.get("hidden_states", args[0] if args else None)
            cos, sin = kwargs["position_embeddings"]
            shape = (*h.shape[:-1], -1, m.head_dim)
            q = m.q_proj(h).view(shape).transpose(1, 2)
            k = m.k_proj(h).view(shape).transpose(1, 2)
            q, k = apply_rotary_pos_emb(q, k, cos, sin)
            k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)  # grouped KV heads to query heads
            cap[li] = (q[0].float(), k[0].float())

        handles.append(attn.register_forward_pre_hook(grab, with_kwargs=True))
    return cap, handles


def rotate_keys(k: torch.Tensor, delta: float, inv_freq: torch.Tensor) -> torch.Tensor:
    """Keys ``[..., D]`` (rotate-half RoPE layout) moved ``delta`` positions further."""
    half = k.shape[-1] // 2
    ang = delta * inv_freq.to(k.device, torch.float32)[:half]
    cos, sin = torch.cos(ang), torch.sin(ang)
    k0, k1 = k[..., :half], k[..., half:]
    return torch.cat([k0 * cos - k1 * sin, k0 * sin + k1 * cos], dim=-1)


def rope_probe(q: torch.Tensor, k: torch.Tensor, vision: torch.Tensor, inv_freq, delta: float = 1.0) -> dict:
    """One layer: q [H, D] of the query, k [H, K, D] of the keys before it, ``vision`` [K] bool."""
    d = q.shape[-1]
    logits0 = torch.einsum("hd,hkd->hk", q, k) / math.sqrt(d)
    k1 = k.clone()
    k1[:, vision] = rotate_keys(k[:, vision], delta, inv_freq)
    logits1 = torch.einsum("hd,hkd->hk", q, k1) / math.sqrt(d)
    a0, a1 = logits0.softmax(-1), logits1.softmax(-1)
    alpha = a0[:, vision].sum(-1)
    w = a0[:, vision] / alpha.clamp(min=1e-12)[:, None]
    return {
        "alpha_v": alpha,
        "delta_alpha_v": a1[:, vision].sum(-1) - alpha,
        "delta_g_v": (w * (logits1 - logits0)[:, vision]).sum(-1) / delta,
    }


@torch.inference_mode()
def rope(vlm: VLM, examples: list[Example], out: Path, tick=lambda k: None) -> dict:
    """The paper's RoPE probe, one image at a time: query = an EOS appended to the caption prompt."""
    dec = _decoder(vlm)
    inv_freq = dec.rotary_emb.inv_freq
    eos = vlm.tokenizer.eos_token_id
    sums: dict[str, torch.Tensor] = {}
    n_img = 0
    for ex in distinct_images(examples):
        tick(1)
        inputs = encode(vlm, [ex], Condition())
        vision = _image_mask(vlm, inputs)[0]
        inputs["input_ids"] = torch.cat([inputs["input_ids"], torch.tensor([[eos]], device=vlm.device)], 1)
        inputs["attention_mask"] = torch.cat([inputs["attention_mask"], inputs["attention_mask"][:, -1:]], 1)
        cap, handles = _capture_qk(dec)
        try:
            forward(vlm, inputs, logits_to_keep=1)
        finally:
            for h in handles:
                h.remove()
        t = inputs["input_ids"].shape[1] - 1
        per_layer = [rope_probe(cap[li][0][:, t], cap[li][1][:, :t], vision, inv_freq) for li in sorted(cap)]
        for key in per_layer[0]:
            stacked = torch.stack([p[key] for p in per_layer])  # [L, H]
            sums[key] = sums.get(key, 0) + stacked
        n_img += 1
    mean = {k: v / n_img for k, v in sums.items()}
    layers, heads = mean["alpha_v"].shape
    rows = [
        {"layer": li, "head": h, **{k: float(mean[k][li, h]) for k in ("alpha_v", "delta_alpha_v", "delta_g_v")}}
        for li in range(layers)
        for h in range(heads)
    ]
    _write_csv(out / "rope.csv", rows)
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.2))
    a1.plot(range(layers), mean["delta_g_v"].mean(1).tolist(), marker="o")
    a1.set_title("delta g_V (vision logit gain per position)", fontsize=8)
    a2.plot(range(layers), mean["delta_alpha_v"].mean(1).tolist(), marker="o")
    a2.set_title("delta alpha_V (vision attention mass)", fontsize=8)
    for a in (a1, a2):
        a.axhline(0, color="gray", lw=0.8)
        a.set_xlabel("layer")
    fig.tight_layout()
    fig.savefig(out / "rope.png", dpi=120)
    plt.close(fig)
    return {
        "images": n_img,
        "mean_delta_alpha_v": float(mean["delta_alpha_v"].mean()),
        "mean_delta_g_v": float(mean["delta_g_v"].mean()),
    }


def _probs(scores: list[float]) -> list[float]:
    m = max(scores)
    e = [math.exp(s - m) for s in scores]
    z = sum(e)
    return [x / z for x in e]


def _right(examples: list[Example], scores: list[list[float]]) -> list[bool]:
    return [
        ex.candidates[max(range(len(s)), key=s.__getitem__)] == ex.answer
        for ex, s in zip(examples, scores, strict=True)
    ]


def position(
    vlm: VLM, examples: list[Example], out: Path, batch_size: int, seeds: int = 3, tick=lambda k: None
) -> dict:
    """Does the model read positions? Accuracy with the image tokens in order and permuted (``seeds`` times),
    with the total variation between the answer distributions and paired tests."""
    from spatialgen.models.interventions import applied

    def run(cond):
        res = []
        with applied(vlm, cond):
            for batch in _batches(examples, batch_size):
                tick(len(batch))
                res += score_batch(vlm, batch, cond)
        return res

    base = run(Condition())
    base_right = _right(examples, base)
    k = sum(base_right)
    lo, hi = wilson(k, len(examples))
    rows = [
        {
            "condition": "original order",
            "n": len(examples),
            "accuracy": k / len(examples),
            "ci_low": lo,
            "ci_high": hi,
            "psi": 0.0,
            "psi_ci_low": 0.0,
            "psi_ci_high": 0.0,
            "mcnemar_p": 1.0,
        }
    ]
    all_tv = []
    for seed in range(seeds):
        perm = run(Condition(f"permute:{seed}", interventions=(Spec("permute", str(seed)),)))
        right = _right(examples, perm)
        tv = [
            0.5 * sum(abs(a - b) for a, b in zip(_probs(s0), _probs(s1), strict=True))
            for s0, s1 in zip(base, perm, strict=True)
        ]
        all_tv += tv
        mean = sum(tv) / len(tv)
        sd = math.sqrt(sum((x - mean) ** 2 for x in tv) / max(1, len(tv) - 1))
        half = 1.96 * sd / math.sqrt(len(tv))
        k = sum(right)
        lo, hi = wilson(k, len(examples))
        b = sum(1 for x, y in zip(base_right, right, strict=True) if x and not y)
        c = sum(1 for x, y in zip(base_right, right, strict=True) if y and not x)
        rows.append(
            {
                "condition": f"permuted (seed {seed})",
                "n": len(examples),
                "accuracy": k / len(examples),
                "ci_low": lo,
                "ci_high": hi,
                "psi": mean,
                "psi_ci_low": max(0.0, mean - half),
                "psi_ci_high": min(1.0, mean + half),
                "mcnemar_p": mcnemar_exact(b, c),
            }
        )
    _write_csv(out / "position.csv", rows)
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.5))
    names = [r["condition"] for r in rows]
    a1.bar(
        range(len(rows)),
        [r["accuracy"] for r in rows],
        yerr=[[r["accuracy"] - r["ci_low"] for r in rows], [r["ci_high"] - r["accuracy"] for r in rows]],
    )
    a1.set_xticks(range(len(rows)), names, rotation=30, ha="right", fontsize=7)
    a1.set_ylabel("accuracy")
    a2.bar(
        range(len(rows) - 1),
        [r["psi"] for r in rows[1:]],
        yerr=[[r["psi"] - r["psi_ci_low"] for r in rows[1:]], [r["psi_ci_high"] - r["psi"] for r in rows[1:]]],
    )
    a2.set_xticks(range(len(rows) - 1), names[1:], rotation=30, ha="right", fontsize=7)
    a2.set_ylabel("PSI (mean TV distance)")
    fig.tight_layout()
    fig.savefig(out / "position.png", dpi=120)
    plt.close(fig)
    return {"psi": sum(all_tv) / len(all_tv), "accuracy_original": rows[0]["accuracy"]}


def _last_query_masses(vlm: VLM, inputs, position_ids=None) -> tuple[torch.Tensor, torch.Tensor]:
    """[layers, batch, heads] attention mass of the last query on vision tokens and on user-turn text."""
    kw = {"output_attentions": True}
    if position_ids is not None:
        kw["position_ids"] = position_ids
    att = forward(vlm, inputs, logits_to_keep=1, **kw).attentions  # per layer [B, H, Q, K]
    img = _image_mask(vlm, inputs)
    first = img.float().argmax(dim=1)  # first image token: the user turn starts here
    idx = torch.arange(img.shape[1], device=img.device)[None, :]
    user = (idx >= first[:, None]) & (inputs["attention_mask"] == 1)
    user[:, -1] = False  # the query itself
    txt = user & ~img
    v = torch.stack([(a[:, :, -1, :].float() * img[:, None, :]).sum(-1) for a in att])  # [L, B, H]
    t = torch.stack([(a[:, :, -1, :].float() * txt[:, None, :]).sum(-1) for a in att])
    return v, t


@torch.inference_mode()
def balance_lastq(vlm: VLM, examples: list[Example], out: Path, batch_size: int, tick=lambda k: None) -> dict:
    """Where the last question token's attention goes: image vs text share, per layer."""
    vs, ts = [], []
    for batch in _batches(examples, batch_size):
        tick(len(batch))
        v, t = _last_query_masses(vlm, encode(vlm, batch, Condition()))
        vs.append(v)
        ts.append(t)
    v, t = torch.cat(vs, dim=1), torch.cat(ts, dim=1)
    share = (v / (v + t).clamp(min=1e-12)).mean(1)  # [L, H]
    rows = [
        {
            "layer": layer,
            "head": head,
            "vision_mass": float(v[layer, :, head].mean()),
            "text_mass": float(t[layer, :, head].mean()),
            "balance": float(share[layer, head]),
        }
        for layer in range(share.shape[0])
        for head in range(share.shape[1])
    ]
    _write_csv(out / "balance-lastq.csv", rows)
    _heatmap(share, out / "balance-lastq.png", "last query: share of user-turn attention on vision", vmin=0, vmax=1)
    return {"mean_balance": float(share.mean())}


@torch.inference_mode()
def rope_shift(vlm: VLM, examples: list[Example], out: Path, batch_size: int, tick=lambda k: None) -> dict:
    """How the last query's attention mass on the image changes, per layer and head, when the image tokens'
    RoPE positions shift by one."""
    before, after = [], []
    for batch in _batches(examples, batch_size):
        tick(len(batch))
        inputs = encode(vlm, batch, Condition())
        pos = _positions(inputs["attention_mask"])
        v0, _ = _last_query_masses(vlm, inputs, pos)
        v1, _ = _last_query_masses(vlm, inputs, pos + _image_mask(vlm, inputs).long())
        before.append(v0)
        after.append(v1)
    b, a = torch.cat(before, dim=1).mean(1), torch.cat(after, dim=1).mean(1)
    delta = a - b
    rows = [
        {
            "layer": layer,
            "head": head,
            "mass_before": float(b[layer, head]),
            "mass_after": float(a[layer, head]),
            "delta": float(delta[layer, head]),
        }
        for layer in range(b.shape[0])
        for head in range(b.shape[1])
    ]
    _write_csv(out / "rope-shift.csv", rows)
    _heatmap(delta, out / "rope-shift.png", "change in vision attention mass after a one-position shift")
    return {"max_abs_delta": float(delta.abs().max()), "mean_delta": float(delta.mean())}


def _heatmap(m: torch.Tensor, path: Path, title: str, **kw) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(4, m.shape[1] * 0.25 + 2), max(3, m.shape[0] * 0.2 + 1.5)))
    im = ax.imshow(m.cpu().numpy(), aspect="auto", cmap="viridis", **kw)
    ax.set_xlabel("head")
    ax.set_ylabel("layer")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def work(kind: str, examples: list[Example], seeds: int = 3) -> int:
    """How many units ``diagnose`` reports through ``tick``: images, or questions x passes."""
    ex = [e for e in examples if e.images]
    if kind in ("norms", "hidden-norms", "balance", "rope"):
        return len(distinct_images(ex))
    return len(ex) * (1 + seeds) if kind == "position" else len(ex)


def diagnose(
    kind: str,
    vlm: VLM,
    examples: list[Example],
    out: Path,
    batch_size: int = 4,
    seeds: int = 3,
    max_new_tokens: int = 32,
    tick=lambda k: None,
    threads: int = 1,
) -> dict:
    """Run one diagnostic over the examples into ``out`` (CSV and PNG); returns its headline figures.
    ``threads``: torch's CPU threads on the CPU, as for ``eval``: the count rounds the figures' last bits."""
    if kind not in KINDS:
        raise SpatialgenError(f"unknown diagnostic '{kind}'; choose one of {', '.join(KINDS)}")
    if threads < 1:
        raise SpatialgenError(f"--threads must be at least 1, got {threads}")
    out.mkdir(parents=True, exist_ok=True)
    with cpu_threads(threads, vlm.device):
        return _one(kind, vlm, [e for e in examples if e.images], out, batch_size, seeds, max_new_tokens, tick)


def _one(kind: str, vlm: VLM, ex: list[Example], out: Path, batch_size, seeds, max_new_tokens, tick) -> dict:
    if kind == "norms":
        return norms(vlm, ex, out, batch_size, tick)
    if kind == "hidden-norms":
        return hidden_norms(vlm, ex, out, batch_size, tick)
    if kind == "balance":
        return balance(vlm, ex, out, max_new_tokens, tick)
    if kind == "rope":
        return rope(vlm, ex, out, tick)
    if kind == "position":
        return position(vlm, ex, out, batch_size, seeds, tick)
    if kind == "balance-lastq":
        return balance_lastq(vlm, ex, out, batch_size, tick)
    return rope_shift(vlm, ex, out, batch_size, tick)
