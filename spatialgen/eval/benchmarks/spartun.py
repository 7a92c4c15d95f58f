"""SpaRTUN (Mirzaee and Kordjamshidi 2022): synthetic text-only spatial stories in SpartQA's schema."""

from __future__ import annotations

from . import spartqa
from .spec import Benchmark

BENCHMARK = Benchmark(
    kind="spartun",
    layout="SpaRTUN .json (text only, SpartQA schema)",
    load=spartqa.load,
    groups=spartqa.BENCHMARK.groups,
)
