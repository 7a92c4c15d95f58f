"""Diagnostics of how a VLM treats its vision tokens. Each writes ``KIND.csv`` and ``KIND.png``.

- ``norms``: L2 norms of projected vision tokens vs text-token input embeddings; ratio of medians.
- ``hidden-norms``: per language-model layer, median vision vs text hidden-state norm, and their ratio.
- ``position``: the Position Sensitivity Index (PSI). For each example, p = softmax over the candidates'
  log-likelihoods, with the vision tokens in their order and permuted (one seeded permutation per seed).
  PSI = mean total-variation distance between the two distributions (0: order ignored, 1: answers flip
  completely), with a 95 % normal interval; also the accuracy change with Wilson intervals and an exact
  McNemar test.
- ``balance``: Cross-Modality Balance per layer x head: of the last query token's attention on the user turn
  (tokens from the first image token on; the system prompt is excluded), the share on vision tokens.
- ``rope``: RoPE sensitivity: the change in the last query's attention mass on vision tokens, per layer x
  head, when the vision tokens' positions are shifted by one.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch

from .example import Example
from .interventions import projector
from .models import VLM
from .scoring import Condition, _positions, encode, forward, score_batch
from .stats import mcnemar_exact, wilson

KINDS = ("norms", "hidden-norms", "position", "balance", "rope")
NEEDS_EAGER = ("balance", "rope")


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


def _batches(examples: list[Example], size: int):
    for k in range(0, len(examples), size):
        yield examples[k : k + size]


def _image_mask(vlm: VLM, inputs) -> torch.Tensor:
    return inputs["input_ids"] == vlm.model.config.image_token_index


@torch.inference_mode()
def norms(vlm: VLM, examples: list[Example], out: Path, batch_size: int) -> dict:
    vision, text = [], []
    seen: dict = {}
    h = projector(vlm.model).register_forward_hook(lambda _m, _i, o: seen.__setitem__("v", o))
    try:
        emb = vlm.model.get_input_embeddings()
        for batch in _batches(examples, batch_size):
            inputs = encode(vlm, batch, Condition())
            forward(vlm, inputs)
            vision += seen["v"].float().norm(dim=-1).flatten().tolist()
            keep = (inputs["attention_mask"] == 1) & ~_image_mask(vlm, inputs)
            # The embedding module's output: Gemma-style scaled embeddings come out already scaled.
            text += emb(inputs["input_ids"][keep]).float().norm(dim=-1).tolist()
    finally:
        h.remove()
    med_v, med_t = float(torch.tensor(vision).median()), float(torch.tensor(text).median())
    _write_csv(
        out / "norms.csv", [{"kind": "vision", "norm": v} for v in vision] + [{"kind": "text", "norm": t} for t in text]
    )
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    lo = max(1e-4, min(min(vision), min(text)))
    hi = max(max(vision), max(text))
    bins = torch.logspace(math.log10(lo), math.log10(hi), 50).tolist()
    ax.hist(text, bins=bins, alpha=0.6, label=f"text (median {med_t:.3g})")
    ax.hist(vision, bins=bins, alpha=0.6, label=f"vision (median {med_v:.3g})")
    ax.set_xscale("log")
    ax.set_xlabel("L2 norm")
    ax.set_ylabel("tokens")
    ax.set_title(f"vision/text median norm ratio {med_v / med_t:.2f}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "norms.png", dpi=120)
    plt.close(fig)
    return {"vision_median": med_v, "text_median": med_t, "ratio": med_v / med_t}


@torch.inference_mode()
def hidden_norms(vlm: VLM, examples: list[Example], out: Path, batch_size: int) -> dict:
    per_layer_v: dict[int, list[float]] = {}
    per_layer_t: dict[int, list[float]] = {}
    for batch in _batches(examples, batch_size):
        inputs = encode(vlm, batch, Condition())
        hs = forward(vlm, inputs, output_hidden_states=True).hidden_states
        img = _image_mask(vlm, inputs)
        txt = (inputs["attention_mask"] == 1) & ~img
        for layer, h in enumerate(hs):
            n = h.float().norm(dim=-1)
            per_layer_v.setdefault(layer, []).extend(n[img].tolist())
            per_layer_t.setdefault(layer, []).extend(n[txt].tolist())
    rows = []
    for layer in sorted(per_layer_v):
        v = float(torch.tensor(per_layer_v[layer]).median())
        t = float(torch.tensor(per_layer_t[layer]).median())
        rows.append({"layer": layer, "vision_median": v, "text_median": t, "ratio": v / t})
    _write_csv(out / "hidden-norms.csv", rows)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([r["layer"] for r in rows], [r["ratio"] for r in rows], marker="o")
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("layer (0 = input embeddings)")
    ax.set_ylabel("median vision / text norm")
    fig.tight_layout()
    fig.savefig(out / "hidden-norms.png", dpi=120)
    plt.close(fig)
    return {"layers": len(rows), "max_ratio": max(r["ratio"] for r in rows)}


def _probs(scores: list[float]) -> list[float]:
    m = max(scores)
    e = [math.exp(s - m) for s in scores]
    z = sum(e)
    return [x / z for x in e]


def position(vlm: VLM, examples: list[Example], out: Path, batch_size: int, seeds: int = 3) -> dict:
    from .interventions import applied

    def run(cond):
        res = []
        with applied(vlm, cond):
            for batch in _batches(examples, batch_size):
                res += score_batch(vlm, batch, cond)
        return res

    base = run(Condition())
    base_right = [
        ex.candidates[max(range(len(s)), key=s.__getitem__)] == ex.answer for ex, s in zip(examples, base, strict=True)
    ]
    rows = []
    k = sum(base_right)
    lo, hi = wilson(k, len(examples))
    rows.append(
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
    )
    all_tv = []
    for seed in range(seeds):
        perm = run(Condition(f"permute:{seed}", interventions=(f"permute:{seed}",)))
        right = [
            ex.candidates[max(range(len(s)), key=s.__getitem__)] == ex.answer
            for ex, s in zip(examples, perm, strict=True)
        ]
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
    """[layers, heads] attention mass of the last query on vision tokens and on user-turn text tokens."""
    kw = {"output_attentions": True}
    if position_ids is not None:
        kw["position_ids"] = position_ids
    att = forward(vlm, inputs, **kw).attentions  # per layer [B, H, Q, K]
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
def balance(vlm: VLM, examples: list[Example], out: Path, batch_size: int) -> dict:
    vs, ts = [], []
    for batch in _batches(examples, batch_size):
        v, t = _last_query_masses(vlm, encode(vlm, batch, Condition()))
        vs.append(v)
        ts.append(t)
    v, t = torch.cat(vs, dim=1), torch.cat(ts, dim=1)
    cmb = (v / (v + t).clamp(min=1e-12)).mean(1)  # [L, H]
    rows = [
        {
            "layer": layer,
            "head": head,
            "vision_mass": float(v[layer, :, head].mean()),
            "text_mass": float(t[layer, :, head].mean()),
            "balance": float(cmb[layer, head]),
        }
        for layer in range(cmb.shape[0])
        for head in range(cmb.shape[1])
    ]
    _write_csv(out / "balance.csv", rows)
    _heatmap(cmb, out / "balance.png", "share of user-turn attention on vision tokens", vmin=0, vmax=1)
    return {"mean_balance": float(cmb.mean())}


@torch.inference_mode()
def rope(vlm: VLM, examples: list[Example], out: Path, batch_size: int) -> dict:
    before, after = [], []
    for batch in _batches(examples, batch_size):
        inputs = encode(vlm, batch, Condition())
        pos = _positions(inputs["attention_mask"])
        v0, _ = _last_query_masses(vlm, inputs, pos)
        v1, _ = _last_query_masses(vlm, inputs, pos + _image_mask(vlm, inputs).long())
        before.append(v0)
        after.append(v1)
    b, a = torch.cat(before, dim=1).mean(1), torch.cat(after, dim=1).mean(1)
    delta = (a - b).abs()
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
    _write_csv(out / "rope.csv", rows)
    _heatmap(delta, out / "rope.png", "|change in vision attention mass| after a one-position shift")
    return {"max_delta": float(delta.max()), "mean_delta": float(delta.mean())}


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


def diagnose(kind: str, vlm: VLM, examples: list[Example], out: Path, batch_size: int = 4, seeds: int = 3) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    image_examples = [e for e in examples if e.images]
    fn = {"norms": norms, "hidden-norms": hidden_norms, "balance": balance, "rope": rope}.get(kind)
    if kind == "position":
        return position(vlm, image_examples, out, batch_size, seeds)
    return fn(vlm, image_examples, out, batch_size)
