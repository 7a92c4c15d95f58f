"""Export an lmms-eval task over a rendered dataset: ``DEST/<name>.yaml`` and its ``DEST/utils.py``.

lmms-eval (EvolvingLMMs-Lab/lmms-eval) loads a task folder given with ``--include_path``: a YAML whose
``dataset_path`` is passed to ``datasets.load_dataset`` (a Hub repo such as the one ``spatialgen push`` made, or
a local folder), ``test_split`` names the split, and ``!function utils.NAME`` entries name functions of the
``utils.py`` beside it (see spatialgen/exports/lmms_task_utils.py for what each receives). Run with::

    lmms_eval --model llava_hf --model_args pretrained=llava-hf/llava-1.5-7b-hf \\
        --include_path DEST --tasks NAME --batch_size 1

Greedy decoding and a short answer (16 new tokens), as ``spatialgen eval --mode generate`` decodes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from . import lmms_task_utils

METRICS = ("accuracy", *(f"{t}_accuracy" for t in lmms_task_utils.ANSWER_TYPES))


def task_yaml(name: str, dataset_path: str, split: str) -> str:
    """The task's YAML (by hand: ``!function`` is a tag no YAML dumper writes for plain strings)."""
    metrics = "".join(
        f"  - metric: {m}\n    aggregation: !function utils.spatialgen_{m}\n    higher_is_better: true\n"
        for m in METRICS
    )
    return (
        f"# lmms-eval task written by spatialgen: one doc per question of the rendered {split} split.\n"
        f"dataset_path: {json.dumps(dataset_path)}\n"
        f"task: {json.dumps(name)}\n"
        f"test_split: {split}\n"
        "output_type: generate_until\n"
        "process_docs: !function utils.spatialgen_process_docs\n"
        "doc_to_visual: !function utils.spatialgen_doc_to_visual\n"
        "doc_to_text: !function utils.spatialgen_doc_to_text\n"
        'doc_to_target: "answer"\n'
        "generation_kwargs:\n  max_new_tokens: 16\n  temperature: 0\n  do_sample: false\n  num_beams: 1\n"
        "process_results: !function utils.spatialgen_process_results\n"
        f"metric_list:\n{metrics}"
        'lmms_eval_specific_kwargs:\n  default:\n    pre_prompt: ""\n    post_prompt: ""\n'
        "metadata:\n  version: 1.0\n"
    )


def write(dest: Path, name: str, dataset_path: str, split: str) -> dict[str, Any]:
    """The task YAML and its utils module under ``dest``."""
    (dest / f"{name}.yaml").write_text(task_yaml(name, dataset_path, split))
    shutil.copyfile(lmms_task_utils.__file__, dest / "utils.py")
    return {"files": [f"{name}.yaml", "utils.py"], "task": name, "dataset_path": dataset_path, "split": split}
