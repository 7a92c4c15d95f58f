"""Sources: a generated folder or Hub id, or ``KIND:PATH`` for a public benchmark in its original layout.

Each loader maps its rows to ``Example``; malformed rows and missing images are counted in
``LoadResult.problems``, never raised.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from spatialgen.errors import SpatialgenError

from ..example import LoadResult
from . import benchmarks, generated

Loader = Callable[[Path, Path | None, int | None], LoadResult]

KINDS: dict[str, tuple[Loader, str]] = {
    "2ds": (benchmarks.load_2ds, "the paper's 2DS set: its parquet (file or folder with data/) or data.json"),
    "nlvr": (benchmarks.load_nlvr, "NLVR v1 split folder with <split>.json and images/"),
    "nlvr2": (benchmarks.load_nlvr2, "NLVR2 <split>.json; --images: the folder of its images"),
    "vsr": (benchmarks.load_vsr, "VSR .jsonl; --images: the COCO 2017 image folder"),
    "spartqa": (benchmarks.load_spartqa, "SpartQA-Human .json (text only)"),
    "spartun": (benchmarks.load_spartqa, "SpaRTUN .json (text only, SpartQA schema)"),
    "cvbench": (benchmarks.load_cvbench, "CV-Bench .jsonl or .parquet (nyu-visionx/CV-Bench layout)"),
    "whatsup": (benchmarks.load_whatsup, "What's Up .json (image_path, caption_options); --images: its root"),
}


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
