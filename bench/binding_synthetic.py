"""Why `spatialgen train` adds grounding captions for tiny-init: the language model's side, measured alone.

A tiny Llama (tiny-init's text config: 3 layers, width 128, 4 heads) reads clean image tokens (a G x G grid;
at each of two objects' cells its color one-hot, shape one-hot, x and y in [-1, 1] and a 1 for "an object is
here"; zeros elsewhere: no vision tower) and a question, as LLaVA lays them out: image first, then the
question, the answer last. Two objects with different colors and shapes per scene; two arms, same seed:

- ``questions``: "Is the c3 s5 left of the c7 s1 ?" / "Is the c3 s5 above the c7 s1 ?" -> yes / no only;
- ``captions+questions``: half of each batch instead captions the scene ("c3 s5 left top , c7 s1 right
  bottom", objects in random order, loss on every caption token), the other half as above.

Prints the validation accuracy on 400 held-out questions (chance 50 %). To answer, the model must find the
object each word names; trained on questions alone nothing rewards that until it already works, while a
caption's position word is predicted at the object's own words, where finding it pays at once.

``--hide-empty`` hides the image tokens that hold no object from the language model (attention mask 0;
positions unchanged: Llama's default, the index in the row): on tiny-init's 8 x 8 grid, 62 of 64 tokens
are empty, and each dilutes the attention a word pays to the two that are not.

``--objects K`` puts K objects in each scene (captions name them all; a question names two), ``--block B``
writes each object into a B x B square of cells (an object on real pixels spans several patches): steps
from this bench's clean setting toward tiny-init's real one.

    python bench/binding_synthetic.py --steps 1500
    python bench/binding_synthetic.py --grid 8 --arm captions+questions --hide-empty --steps 1500
"""

from __future__ import annotations

import argparse
import math
import random
import time
from dataclasses import dataclass

import torch

COLORS, SHAPES = 10, 8
WORDS = ["<s>", "USER", ":", "Is", "the", "left", "of", "above", "?", "ASSISTANT", "yes", "no", ",", "caption", "</s>"]
WORDS += ["right", "top", "bottom"] + [f"c{i}" for i in range(COLORS)] + [f"s{i}" for i in range(SHAPES)]
ID = {w: i for i, w in enumerate(WORDS)}
FEATURES = COLORS + SHAPES + 3


@dataclass(frozen=True)
class Setup:
    """What a scene is: a ``grid`` x ``grid`` token grid, ``objects`` per scene, each written into a
    ``block`` x ``block`` square of cells (as an object on real pixels spans several patches); ``hide``: the
    empty tokens get attention mask 0."""

    grid: int = 4
    objects: int = 2
    block: int = 1
    hide: bool = False


def scene(r: random.Random, u: Setup) -> tuple[torch.Tensor, list, list, list, list]:
    n, g = u.objects, u.grid
    colors, shapes = r.sample(range(COLORS), n), r.sample(range(SHAPES), n)
    cells = [(a, b) for a in range(n) for b in range(a + 1, n)]
    while True:  # clear of each other and of the image's middle lines, so every word is true
        xs, ys = [r.random() for _ in range(n)], [r.random() for _ in range(n)]
        apart = all(abs(xs[a] - xs[b]) > 0.1 and abs(ys[a] - ys[b]) > 0.1 for a, b in cells)
        if apart and min(abs(v - 0.5) for v in xs + ys) > 0.05:
            break
    f = torch.zeros(g * g, FEATURES)
    for c, s, x, y in zip(colors, shapes, xs, ys, strict=True):
        top, left = (min(g - u.block, max(0, int(v * g) - u.block // 2)) for v in (y, x))
        for row in range(top, top + u.block):
            for col in range(left, left + u.block):
                k = row * g + col
                f[k, c], f[k, COLORS + s] = 1.0, 1.0
                f[k, -3], f[k, -2], f[k, -1] = 2 * x - 1, 2 * y - 1, 1.0
    return f, colors, shapes, xs, ys


def example(r: random.Random, kind: str, u: Setup) -> tuple[torch.Tensor, list[str], list[str]]:
    f, colors, shapes, xs, ys = scene(r, u)
    if kind == "caption":
        answer: list[str] = []
        for n, i in enumerate(r.sample(range(u.objects), u.objects)):
            side, level = "left" if xs[i] < 0.5 else "right", "top" if ys[i] < 0.5 else "bottom"
            answer += [","] * (n > 0) + [f"c{colors[i]}", f"s{shapes[i]}", side, level]
        return f, ["caption"], [*answer, "</s>"]
    a, b = r.sample(range(u.objects), 2)
    axis = r.randrange(2)
    words = ["left", "of"] if axis == 0 else ["above"]
    question = ["Is", "the", f"c{colors[a]}", f"s{shapes[a]}", *words, "the", f"c{colors[b]}", f"s{shapes[b]}", "?"]
    v = (xs, ys)[axis]
    return f, question, ["yes" if v[a] < v[b] else "no"]


class Model(torch.nn.Module):
    def __init__(self) -> None:
        from transformers import LlamaConfig, LlamaForCausalLM

        super().__init__()
        cfg = LlamaConfig(vocab_size=len(WORDS), hidden_size=128, intermediate_size=256, num_hidden_layers=3,
                          num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256)  # fmt: skip
        self.lm = LlamaForCausalLM(cfg)
        self.projector = torch.nn.Linear(FEATURES, cfg.hidden_size)

    def batch(self, rows: list, u: Setup) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Left-padded embeddings, labels (position t holds token t + 1's id, -100 where no loss) and mask
        (``hide``: 0 at the image tokens that hold no object)."""
        emb = self.lm.get_input_embeddings()
        parts = []
        for f, question, answer in rows:
            pre = [ID["<s>"], ID["USER"], ID[":"]]
            post = [ID[w] for w in [*question, "ASSISTANT", ":", *answer]]
            labels = [-100] * (len(pre) + u.grid**2 + len(question) + 1) + [ID[w] for w in answer] + [-100]
            x = torch.cat([emb(torch.tensor(pre)), self.projector(f), emb(torch.tensor(post))])
            seen = torch.ones(len(x), dtype=torch.long)
            if u.hide:
                seen[len(pre) : len(pre) + u.grid**2] = (f.abs().sum(1) > 0).long()
            parts.append((x, labels, seen))
        width = max(len(x) for x, _, _ in parts)
        xs = torch.zeros(len(rows), width, emb.embedding_dim)
        ys = torch.full((len(rows), width), -100)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, (x, labels, seen) in enumerate(parts):
            xs[i, width - len(x) :], ys[i, width - len(x) :] = x, torch.tensor(labels)
            mask[i, width - len(x) :] = seen
        return xs, ys, mask


def accuracy(m: Model, u: Setup) -> float:
    r = random.Random("validation")
    xs, ys, mask = m.batch([example(r, "question", u) for _ in range(400)], u)
    with torch.no_grad():
        logits = m.lm(inputs_embeds=xs, attention_mask=mask).logits
    at = (ys != -100).nonzero()
    pick = logits[at[:, 0], at[:, 1]][:, [ID["yes"], ID["no"]]].argmax(1)
    return float((pick == (ys[at[:, 0], at[:, 1]] == ID["no"]).long()).float().mean())


def run(arm: str, steps: int, u: Setup, seed: int, lr: float) -> None:
    torch.manual_seed(seed)
    r = random.Random(seed)
    m = Model()
    opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / 20) * 0.5 * (1 + math.cos(math.pi * min(k, steps) / steps))
    )  # spatialgen train's schedule
    start, share = time.perf_counter(), 0.5 if arm == "captions+questions" else 0.0
    for step in range(1, steps + 1):
        rows = [example(r, "caption" if r.random() < share else "question", u) for _ in range(32)]
        xs, ys, mask = m.batch(rows, u)
        logits = m.lm(inputs_embeds=xs, attention_mask=mask).logits
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), ys.flatten(), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 250 == 0 or step == steps:
            print(f"{arm}: step {step}, loss {loss.item():.3f}, questions {100 * accuracy(m, u):.1f} %, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--grid", type=int, default=4, help="image tokens per side")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--arm", choices=("questions", "captions+questions", "both"), default="both")
    ap.add_argument("--hide-empty", action="store_true", help="image tokens without an object: attention mask 0")
    ap.add_argument("--objects", type=int, default=2, help="objects per scene (at most 8)")
    ap.add_argument("--block", type=int, default=1, help="cells per side each object fills")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for arm in ("questions", "captions+questions") if a.arm == "both" else (a.arm,):
        run(arm, a.steps, Setup(a.grid, a.objects, a.block, a.hide_empty), a.seed, a.lr)


if __name__ == "__main__":
    main()
