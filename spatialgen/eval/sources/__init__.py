"""Sources: a generated folder or Hub id, or ``KIND:PATH`` for a public benchmark in its original layout.

Each loader maps its rows to ``Example``; malformed rows and missing images are counted in
``LoadResult.problems``, never raised.
"""

from __future__ import annotations

from pathlib import Path

from spatialgen.errors import SpatialgenError

from ..benchmarks import BENCHMARKS
from ..benchmarks.spec import Loader
from ..example import LoadResult
from . import generated

# KIND -> (loader, the file layout it reads): derived from the declarations in spatialgen/eval/benchmarks.
KINDS: dict[str, tuple[Loader, str]] = {k: (b.load, b.layout) for k, b in BENCHMARKS.items()}


def load_source(spec: str, limit: int | None = None, images: Path | None = None, split: str = "test") -> LoadResult:
    """Examples of one ``--data`` value; ``split`` picks the split of a generated dataset."""
    kind, sep, rest = spec.partition(":")
    if sep and kind in KINDS:
        path = Path(rest)
        if not path.exists():
            raise SpatialgenError(f"--data {spec}: {path} does not exist")
        return KINDS[kind][0](path, images, limit)
    if sep and not Path(spec).exists():
        raise SpatialgenError(f"--data {spec}: unknown source kind '{kind}'; use one of {', '.join(KINDS)}")
    return generated.load_generated(spec, limit, split)
