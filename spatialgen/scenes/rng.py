"""A small, version-stable random number generator.

Python documents that only ``random()`` keeps its stream across versions for a given integer seed;
``choice``, ``shuffle`` and friends may change. Every draw here is built on ``random()`` alone, so a
scene is the same bytes on Python 3.11 and 3.14, and seeds derive from (run seed, scene index, config
digest) through BLAKE2, not Python's salted ``hash``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def derive_seed(*parts: object) -> int:
    """A 64-bit seed that is a pure function of ``parts`` (ints and strings)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


class Rng:
    """Deterministic draws from one MT19937 stream, using only ``random.Random.random``."""

    __slots__ = ("_r",)

    def __init__(self, *parts: object) -> None:
        self._r = random.Random(derive_seed(*parts))

    def random(self) -> float:
        return self._r.random()

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self._r.random()

    def below(self, n: int) -> int:
        """An integer in [0, n)."""
        if n <= 0:
            raise ValueError("below() needs n > 0")
        return min(int(self._r.random() * n), n - 1)

    def randint(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi], both ends included."""
        return lo + self.below(hi - lo + 1)

    def choice(self, items: Sequence[T]) -> T:
        return items[self.below(len(items))]

    def weighted(self, items: Sequence[T], weights: Sequence[float]) -> T:
        total = sum(weights)
        x = self._r.random() * total
        acc = 0.0
        for item, w in zip(items, weights, strict=True):
            acc += w
            if x < acc:
                return item
        return items[-1]

    def shuffle(self, items: list[T]) -> list[T]:
        """Fisher-Yates in place; returns the list for chaining. (``below`` written out: the question draw
        shuffles its families for every question.)"""
        r = self._r.random
        for i in range(len(items) - 1, 0, -1):
            j = min(int(r() * (i + 1)), i)
            items[i], items[j] = items[j], items[i]
        return items

    def sample(self, items: Sequence[T], k: int) -> list[T]:
        """k distinct items in random order (a partial Fisher-Yates: k draws, not len(items))."""
        pool = list(items)
        n = len(pool)
        k = min(k, n)
        r = self._r.random
        for i in range(k):
            j = i + min(int(r() * (n - i)), n - i - 1)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def coin(self, p: float = 0.5) -> bool:
        return self._r.random() < p
