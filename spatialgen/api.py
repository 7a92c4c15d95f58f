"""The Python API: what ``spatialgen render``, ``eval``, ``train`` and ``study`` do, callable from a notebook
or a script. The CLI parses its options and calls these; errors a user can fix are ``SpatialgenError``
with one line, exactly the line the CLI prints.

    import spatialgen
    run = spatialgen.render("data/run", n=200, preset="easy")
    summary = spatialgen.evaluate("tiny-random", [run.folder], "results/run")
    spatialgen.train(run.folder, "models/tiny", steps=200)
    spatialgen.study("margin.yaml", "reports/margin", n=50)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from .errors import SpatialgenError
from .outputs import fresh
from .requests import TrainRequest

R = TypeVar("R", bound=BaseModel)

MAX_WORKERS = 1024  # worker processes one run may start: past a cluster's cores, a typo


@dataclass(frozen=True)
class Rendered:
    """A finished render: its folder (or URL), manifest (shards, counts) and the worker count used."""

    folder: str
    manifest: Any
    workers: int


def render(
    out: str | Path,
    n: int = 1000,
    *,
    seed: int = 0,
    preset: str | None = None,
    config: str | Path | None = None,
    workers: int | None = None,
    image_size: int | None = None,
    twins: bool = False,
    fmt: str = "png",
    jpeg_quality: int = 90,
    backend: str | None = None,
    render3d: dict[str, Any] | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    on_start: Callable[[int, int], None] = lambda total, done: None,
    on_progress: Callable[[int], None] = lambda k: None,
    warn: Callable[[str], None] = lambda line: None,
) -> Rendered:
    """Render ``n`` scenes into the folder (or fsspec URL) ``out``, resuming it if it holds this run.
    ``render3d``: engine, samples, device, denoise, depth for 3D presets. Progress: ``on_start(total,
    done)`` once, then ``on_progress(k)`` as scenes finish."""
    from .generator.backends import BACKENDS
    from .generator.card import write_card
    from .generator.executor import default_workers_for
    from .generator.manifest import RunSpec, default_shard_size
    from .generator.run import render_run
    from .scenes.config import load_preset, resolve_config, unaskable_families

    opts = {k: v for k, v in (render3d or {}).items() if v is not None}
    if n <= 0:
        raise SpatialgenError(f"--n must be a positive number of scenes, got {n}")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise SpatialgenError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    if fmt not in ("png", "jpeg"):
        raise SpatialgenError(f"--format must be png or jpeg, got '{fmt}'")
    if not 1 <= jpeg_quality <= 100:
        raise SpatialgenError(f"--jpeg-quality must be within 1..100, got {jpeg_quality}")
    if image_size is not None and not 32 <= image_size <= 4096:
        raise SpatialgenError(f"--image-size must be within 32..4096, got {image_size}")
    if backend not in (None, *BACKENDS):
        raise SpatialgenError(f"--backend must be {' or '.join(BACKENDS)}, got '{backend}'")
    if preset is None:
        preset = BACKENDS[backend or "2d"].default_preset
    if executor not in ("local", "ray"):
        raise SpatialgenError(f"--executor must be local or ray, got '{executor}'")
    if ray_address is not None and executor != "ray":
        raise SpatialgenError("--ray-address needs --executor ray")
    if ray_address:
        from .generator.ray_executor import check_reachable

        check_reachable(ray_address)  # in seconds, before any work starts
    p = load_preset(preset)
    if backend is not None and backend != p.backend:
        raise SpatialgenError(
            f"preset '{preset}' is a {p.backend.upper()} preset; drop --backend {backend} or pick a "
            f"{backend.upper()} preset (see `spatialgen presets`)"
        )
    renderer = BACKENDS[p.backend]
    if opts and not renderer.render_options:
        raise SpatialgenError("--engine, --samples, --device, --denoise and --depth apply to 3D renders (--backend 3d)")
    cfg = resolve_config(preset, Path(config) if config else None, {"image_size": image_size, "render": render3d or {}})
    never = unaskable_families(cfg)
    if never:
        overlap = "" if getattr(cfg, "allow_overlap", True) else " and no overlap"
        warn(
            f"warning: with at most {cfg.objects[1]} objects{overlap}, {', '.join(never)} can never be asked; "
            "their share goes to other families"
        )
    spec = RunSpec(
        n=n,
        seed=seed,
        preset=preset,
        level=p.level,
        twins=twins,
        format=fmt,
        jpeg_quality=jpeg_quality,
        scenes_per_shard=default_shard_size(n),
        config=cfg,
    )
    workers = workers or default_workers_for(renderer.cores_per_worker)
    manifest = render_run(str(out), spec, workers, on_progress, on_start, write_card, executor, ray_address)
    return Rendered(str(out), manifest, workers)


def evaluate(
    model: str,
    data: Sequence[str | Path],
    out: str | Path,
    *,
    split: str = "test",
    limit: int | None = None,
    mode: str = "likelihood",
    batch_size: int = 8,
    dtype: str = "auto",
    device: str = "auto",
    controls: bool = False,
    interventions: Sequence[str] = (),
    image_mode: str | None = None,
    prompt: str = "default",
    images: str | Path | None = None,
    max_new_tokens: int = 8,
    threads: int = 1,
    on_start: Callable[[int, int], None] = lambda total, done: None,
    on_progress: Callable[[int], None] = lambda k: None,
    warn: Callable[[str], None] = lambda line: None,
) -> str:
    """Score ``model`` on the sources in ``data`` (render folders, Hub ids, KIND:PATH) into ``out``,
    resuming it if it holds this run; returns the text of ``summary.md``. ``threads``: torch's CPU threads
    while scoring on the CPU, part of ``run.json`` with ``batch_size``, as both change the scores' last bits."""
    from .eval.conditions import conditions_for
    from .eval.runner import EvalSpec, evaluate_into
    from .eval.sources import load_source
    from .models.interventions import check_against, parse
    from .models.loading import _check_style, cpu_threads, load_model

    data = [str(d) for d in data]
    out = Path(out)
    if mode not in ("likelihood", "generate"):
        raise SpatialgenError(f"--mode must be likelihood or generate, got '{mode}'")
    if batch_size < 1 or (limit is not None and limit < 1) or max_new_tokens < 1 or threads < 1:
        raise SpatialgenError("--batch-size, --limit, --max-new-tokens and --threads must be at least 1")
    _check_style(image_mode, prompt)
    conds = conditions_for(list(interventions), controls)
    if len(set(data)) != len(data):
        raise SpatialgenError("the same --data is given twice")
    loaded = {d: load_source(d, limit, Path(images) if images else None, split) for d in data}
    examples = [e for r in loaded.values() for e in r.examples]
    if not examples:
        problems = "; ".join(f"{d}: {r.described() or _no_rows(d, split)}" for d, r in loaded.items())
        raise SpatialgenError(f"no usable examples in --data ({problems})")
    if len({e.key for e in examples}) != len(examples):
        raise SpatialgenError("two --data sources give examples the same source and id (two folders of the same name?)")
    vlm = load_model(model, dtype, device, image_mode=image_mode, prompt_style=prompt)
    check_against([s for c in conds for t in c.interventions for s in parse(t)], vlm.model)
    spec = EvalSpec(
        model=model,
        data=data,
        split=split,
        mode=mode,
        conditions=[c.name for c in conds],
        limit=limit,
        dtype=dtype,
        max_new_tokens=max_new_tokens,
        image_mode=vlm.image_mode,
        prompt=prompt,
        batch_size=batch_size,
        threads=threads,
    )

    def started(total: int, done: int) -> None:  # once the folder is claimed: a refused --out warns of nothing
        for d, r in loaded.items():
            if r.problems:
                warn(f"{d}: {len(r.examples)} examples; not used: {r.described()}")
        on_start(total, done)

    problems = {d: dict(r.problems) for d, r in loaded.items()}
    with cpu_threads(threads, vlm.device), fresh(out):
        return evaluate_into(out, spec, examples, conds, lambda: vlm, batch_size, problems, started, on_progress)


def _request(cls: type[R], request: R | None, fields: dict[str, Any], caller: str = "python") -> R:
    """The request a caller made: ``request`` as given, with ``fields`` laid over it, validated once; an error
    names the field as the caller wrote it (spatialgen/requests.py)."""
    from pydantic import ValidationError

    from .requests import field_error

    try:
        base = request.model_dump(exclude_unset=True) if request is not None else {}
        return cls.model_validate({**base, **fields})
    except ValidationError as e:
        raise SpatialgenError(field_error(e, caller)) from None


def _no_rows(data: str, split: str) -> str:
    """Why a source gave nothing: for a render folder, the split asked for and the splits it has."""
    if ":" in data.split("/")[0] or not Path(data).is_dir():
        return "no rows"
    from .generator.folder import finished

    try:
        counts = finished(data).counts()
    except SpatialgenError:
        return "no rows"
    have = ", ".join(f"{k} ({v} rows)" for k, v in sorted(counts.items()) if v) or "none"
    return f"split '{split}' has no rows; its splits: {have}"


def train(
    data: str | Path,
    out: str | Path,
    request: TrainRequest | None = None,
    *,
    on_step: Callable[[int, float], None] = lambda step, loss: None,
    on_tower_step: Callable[[int, float], None] = lambda step, loss: None,
    **fields: Any,
) -> dict[str, Any]:
    """Train a model on the render folder ``data`` (its train split; validation accuracy on up to 500
    validation questions) into the llava-hf folder ``out``, resuming it if it holds this training; returns
    the summary (also in ``out/train-summary.json``). What to train is a ``TrainRequest`` (or its fields as
    keywords: ``steps=``, ``interventions=``, ...; spatialgen/requests.py holds each field's default and
    meaning, the same as ``spatialgen train --help``); with none, the README demo's recipe. ``on_step(step,
    loss)`` after each step; ``on_tower_step`` after each step of tiny-init's tower stage (training/tower.py)."""
    from .training.train import check_out, train_on_folder, train_spec

    req = _request(TrainRequest, request, fields)
    spec = train_spec(req, Path(data))
    out = Path(out)
    check_out(out, spec)
    with fresh(out):
        return train_on_folder(spec, out, req.device, on_step, on_tower_step)


def diagnose(
    kind: str,
    model: str,
    data: str,
    out: str | Path,
    *,
    split: str = "test",
    limit: int = 100,
    batch_size: int = 4,
    seeds: int = 3,
    max_new_tokens: int = 32,
    prompt: str = "default",
    image_mode: str | None = None,
    dtype: str = "auto",
    device: str = "auto",
    images: str | Path | None = None,
    threads: int = 1,
    on_start: Callable[[int], None] = lambda total: None,
    on_progress: Callable[[int], None] = lambda k: None,
) -> dict[str, Any]:
    """Measure how ``model`` treats its vision tokens (diagnostic ``kind``: the paper's norms, hidden-norms,
    balance, rope; ours: position, balance-lastq, rope-shift) on ``limit`` examples with images of ``data``;
    writes ``out/KIND.csv`` and ``out/KIND.png`` and returns the headline figures. ``on_start(total)`` once
    the work is known, ``on_progress(k)`` as it is done."""
    from .eval.diagnose import KINDS, NEEDS_EAGER, work
    from .eval.diagnose import diagnose as run
    from .eval.sources import load_source
    from .models.loading import _check_style, load_model

    if kind not in KINDS:
        raise SpatialgenError(f"unknown diagnostic '{kind}'; choose one of {', '.join(KINDS)}")
    if limit < 1 or batch_size < 1 or seeds < 1 or max_new_tokens < 1 or threads < 1:
        raise SpatialgenError("--limit, --batch-size, --seeds, --max-new-tokens and --threads must be at least 1")
    _check_style(image_mode, prompt)
    examples = [e for e in load_source(data, limit, Path(images) if images else None, split).examples if e.images]
    if not examples:
        raise SpatialgenError(f"--data {data}: no examples with images")
    vlm = load_model(
        model, dtype, device, attn="eager" if kind in NEEDS_EAGER else None, image_mode=image_mode, prompt_style=prompt
    )
    out = Path(out)
    with fresh(out):
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SpatialgenError(f"cannot write to {out}: {e.strerror or e}") from None
        on_start(work(kind, examples, seeds))
        return run(kind, vlm, examples, out, batch_size, seeds, max_new_tokens, on_progress, threads)


def study(
    file: str | Path,
    out: str | Path,
    *,
    n: int | None = None,
    models: Sequence[str] | None = None,
    cache: str | Path | None = None,
    workers: int | None = None,
    on_status: Callable[[str], None] = lambda line: None,
    on_step: Callable[[int, int], None] = lambda done, total: None,
) -> Path:
    """Run the study in the YAML ``file`` (``n`` scenes per cell and ``models`` override it) into the report
    folder ``out``: every cell rendered into ``cache`` (default ``~/.cache/spatialgen/cells``), every model x
    cell evaluated, resumably; returns the path of ``summary.md``. ``on_status(line)`` says what runs,
    ``on_step(done, total)`` counts renders and evaluations."""
    from .generator.executor import default_workers
    from .studies.study import default_cache, load_study, run_study

    if n is not None and n < 1:
        raise SpatialgenError(f"--n must be positive, got {n}")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise SpatialgenError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    s = load_study(Path(file), n, list(models) if models else None)
    where = Path(cache) if cache is not None else default_cache()
    with fresh(out, where):
        return run_study(s, Path(out), where, workers or default_workers(), on_status=on_status, on_step=on_step)
