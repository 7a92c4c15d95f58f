"""Intervals and tests for accuracies, from scipy: Wilson score intervals and the exact McNemar test
(a two-sided binomial test on the discordant pairs, which scipy computes from the binomial CDF in
constant time rather than by summing n terms)."""

from __future__ import annotations

from scipy.stats import binomtest


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """95 % Wilson score interval for k successes in n trials ((0, 1) when n is 0)."""
    if n == 0:
        return (0.0, 1.0)
    ci = binomtest(k, n).proportion_ci(level, method="wilson")
    return (float(ci.low), float(ci.high))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b (only A right) and c (only B right)."""
    if b + c == 0:
        return 1.0
    return float(binomtest(min(b, c), b + c, 0.5).pvalue)
