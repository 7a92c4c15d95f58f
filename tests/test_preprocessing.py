"""Image preprocessing is pinned to the image processor's PIL backend, whichever backends are installed.

Facts (transformers 5.x, models/auto/image_processing_auto.py ``_resolve_backend``): with no ``backend=``
``AutoProcessor`` picks torchvision's backend when torchvision is importable and PIL's otherwise; a saved
LLaVA processor names ``CLIPImageProcessor`` (the torchvision class in 5.x; ``CLIPImageProcessorPil`` is
PIL's). The original LLaVA preprocesses with CLIPImageProcessor on PIL images. The test that compares the two
backends runs where torchvision is installed (it is not in make test's environment; see bench/README.md for
the venv it was run in) and is skipped elsewhere.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image


@pytest.fixture()
def saved(tmp_path):
    from spatialgen.models import tiny

    tiny.processor().save_pretrained(tmp_path / "proc")
    return tmp_path / "proc"


def _image() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (45, 77, 3), dtype=np.uint8))


def test_loaded_processors_are_on_the_pil_backend(saved):
    from spatialgen.models.files import load_processor, pil_backend

    assert pil_backend() == {"backend": "pil"}  # this transformers' keyword
    proc = load_processor(saved)
    assert type(proc.image_processor).__name__ == "CLIPImageProcessorPil"


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is None, reason="torchvision is not installed here")
def test_pinned_whatever_is_installed(saved):
    from transformers import AutoProcessor, CLIPImageProcessorPil

    from spatialgen.models.files import load_processor

    free = AutoProcessor.from_pretrained(saved)  # what transformers picks unpinned: torchvision's
    pinned = load_processor(saved)
    assert type(free.image_processor).__name__ == "CLIPImageProcessor"
    assert type(pinned.image_processor).__name__ == "CLIPImageProcessorPil"
    img = _image()
    ours = pinned.image_processor(img, return_tensors="pt")["pixel_values"]
    pil = CLIPImageProcessorPil.from_pretrained(saved)(img, return_tensors="pt")["pixel_values"]
    other = free.image_processor(img, return_tensors="pt")["pixel_values"]
    assert (ours == pil).all()  # the pin gives PIL's pixels exactly
    assert not (ours == other).all()  # and the backends do differ: unpinned, pixels would depend on the machine
