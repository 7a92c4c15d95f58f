"""Which model a name means: loaders (for eval) and starting points (for training) registered by name
with a decorator, so a new kind of model is one decorated function, never another branch on a name.

A name is looked up exactly (``tiny-random``, ``tiny-init``), then by prefix (a key ending in ":", as
``random:`` in ``random:llava-1.5-7b``), then falls to ``ANY``: a local folder or a Hub id, read by
transformers. Light: no torch here, so ``--help`` and the requests can name the models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spatialgen.errors import SpatialgenError

TINY_RANDOM = "tiny-random"  # a tiny random LLaVA built in-process: tests and smoke runs (models/tiny.py)
TINY_INIT = "tiny-init"  # the project's small LLaVA trained from scratch by `spatialgen train` (models/tiny.py)
RANDOM = "random:"  # random:ARCH: a full-size architecture with random weights, for timing
TEXT_LM = "text:"  # text:MODEL: a plain causal LM (no vision tower), for the text-only rows
ANY = "*"  # a local llava-hf folder or a Hub id

F = Callable[..., Any]


@dataclass(frozen=True)
class Entry:
    """One kind of model name: what it is (for errors and help), its cheap name check, and whether training
    starts it from random weights (then training's from-scratch defaults apply: pool:4, captions, ...)."""

    key: str
    summary: str
    fn: F
    check: Callable[[str], None] = lambda name: None
    from_scratch: bool = False
    text_only: bool = False  # eval: a language model without a vision tower (asked without the image)


# Filled where the models are built: import models/loading.py for LOADERS, models/starts.py for STARTS.
LOADERS: dict[str, Entry] = {}  # eval: name -> (model, processor, family, sidecar)
STARTS: dict[str, Entry] = {}  # training: name -> (model, processor) to train


def _register(
    table: dict[str, Entry], key: str, summary: str, check, from_scratch: bool, text_only: bool = False
) -> Callable[[F], F]:
    def put(fn: F) -> F:
        if key in table:
            raise ValueError(f"two models registered as '{key}'")
        table[key] = Entry(key, summary, fn, check or (lambda name: None), from_scratch, text_only)
        return fn

    return put


def loader(
    key: str, summary: str, check: Callable[[str], None] | None = None, text_only: bool = False
) -> Callable[[F], F]:
    """Register ``fn(name, device, dtype, attn)`` as how eval loads the models named ``key`` (``text_only``:
    language models without a vision tower, which eval asks without the image)."""
    return _register(LOADERS, key, summary, check, False, text_only)


def start(
    key: str, summary: str, check: Callable[[str], None] | None = None, from_scratch: bool = False
) -> Callable[[F], F]:
    """Register ``fn(name, sidecar, seed, device, dtype)`` as how training starts the models named ``key``."""
    return _register(STARTS, key, summary, check, from_scratch)


def find(table: dict[str, Entry], name: str) -> Entry:
    """The entry for ``name``: exact, then by prefix, then ``ANY``."""
    if name in table:
        return table[name]
    for key, entry in table.items():
        if key.endswith(":") and name.startswith(key):
            return entry
    if ANY in table:
        return table[ANY]
    raise SpatialgenError(f"--model {name}: not a model this job can use ({names(table)})")


def names(table: dict[str, Entry]) -> str:
    """The kinds of names a table knows, for help and errors: "tiny-random, random:ARCH, a folder or Hub id"."""
    *most, last = [e.summary for e in table.values()]
    return ", ".join(most) + (" or " if most else "") + last


def check(table: dict[str, Entry], name: str) -> Entry:
    """``find`` and the entry's cheap check (an unknown architecture is refused before any work)."""
    entry = find(table, name)
    entry.check(name)
    return entry
