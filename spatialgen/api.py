"""The Python API and the pipelines: what ``spatialgen render``, ``eval``, ``train``, ``diagnose``, ``study``,
``push`` and ``export-2ds`` do, callable from a notebook or a script; the only code that orchestrates.
Each job takes its request (spatialgen/requests.py) or the request's fields as keywords; the CLI builds
the same request from its flags and calls these. Errors a user can fix are ``SpatialgenError`` with one
line, exactly the line the CLI prints (a field named as the caller wrote it: ``--n`` on the CLI, ``n=`` here).

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
from .requests import (
    MAX_WORKERS,
    DiagnoseRequest,
    EvalRequest,
    ExportRequest,
    PushRequest,
    RenderRequest,
    StudyRequest,
    ToolExportRequest,
    TrainRequest,
)

R = TypeVar("R", bound=BaseModel)
__all__ = ["MAX_WORKERS", "diagnose", "evaluate", "export", "export_2ds", "push", "rejudge", "render", "study", "train"]


@dataclass(frozen=True)
class Rendered:
    """A finished render: its folder (or URL), manifest (shards, counts) and the worker count used."""

    folder: str
    manifest: Any
    workers: int


def render(
    out: str | Path,
    n: int | None = None,
    request: RenderRequest | None = None,
    *,
    on_start: Callable[[int, int], None] = lambda total, done: None,
    on_progress: Callable[[int], None] = lambda k: None,
    warn: Callable[[str], None] = lambda line: None,
    caller: str = "python",
    **fields: Any,
) -> Rendered:
    """Render ``n`` scenes into the folder (or fsspec URL) ``out``, resuming it if it holds this run. What to
    render is a ``RenderRequest`` or its fields as keywords (``preset=``, ``seed=``, ``workers=``, 3D:
    ``engine=``, ``samples=``, ...). Progress: ``on_start(total, done)`` once, then ``on_progress(k)`` as
    scenes finish."""
    from .generator.backends import backends
    from .generator.card import write_card
    from .generator.executor import default_workers_for
    from .generator.manifest import run_spec
    from .generator.run import render_run
    from .scenes.config import load_preset, resolve_config, unaskable_families

    req = _request(RenderRequest, request, {**fields, **({"n": n} if n is not None else {})}, caller)
    flag = _flag(caller)
    render3d = req.render3d()
    known = backends()
    if req.backend not in (None, *known):
        raise SpatialgenError(f"{flag('backend')} must be {' or '.join(known)}, got '{req.backend}'")
    preset = req.preset or known[req.backend or "2d"].default_preset
    if req.ray_address is not None and req.executor != "ray":
        raise SpatialgenError(f"{flag('ray_address')} needs {flag('executor')} ray")
    if req.ray_address:
        from .generator.ray_executor import check_reachable

        check_reachable(req.ray_address)  # in seconds, before any work starts
    p = load_preset(preset)
    if req.backend is not None and req.backend != p.backend:
        raise SpatialgenError(
            f"preset '{preset}' is a {p.backend.upper()} preset; drop {flag('backend')} {req.backend} or pick a "
            f"{req.backend.upper()} preset (see `spatialgen presets`)"
        )
    renderer = known[p.backend]
    if render3d and not renderer.render_options:
        given = ", ".join(flag(k) for k in render3d)
        raise SpatialgenError(f"{given}: 3D render options; they apply to 3D presets ({flag('backend')} 3d)")
    cfg = resolve_config(preset, req.config, {"image_size": req.image_size, "render": render3d})
    never = unaskable_families(cfg)
    if never:
        warn(
            f"warning: with at most {cfg.objects[1]} objects{' and no overlap' if cfg.never_overlaps() else ''}, "
            f"{', '.join(never)} can never be asked; their share goes to other families"
        )
    spec = run_spec(req, preset, p.level, cfg)
    workers = req.workers or default_workers_for(renderer.cores_per_worker)
    manifest = render_run(str(out), spec, workers, on_progress, on_start, write_card, req.executor, req.ray_address)
    return Rendered(str(out), manifest, workers)


def evaluate(
    model: str | None = None,
    data: Sequence[str | Path] | None = None,
    out: str | Path | None = None,
    request: EvalRequest | None = None,
    *,
    on_start: Callable[[int, int], None] = lambda total, done: None,
    on_progress: Callable[[int], None] = lambda k: None,
    warn: Callable[[str], None] = lambda line: None,
    caller: str = "python",
    **fields: Any,
) -> str:
    """Score ``model`` on the sources in ``data`` (render folders, Hub ids, KIND:PATH) into ``out``,
    resuming it if it holds this run; returns the text of ``summary.md``. Options: an ``EvalRequest`` or its
    fields as keywords (``split=``, ``interventions=``, ``threads=``: torch's CPU threads while scoring on
    the CPU, part of ``run.json`` with ``batch_size``, as both change the scores' last bits)."""
    from .eval.conditions import conditions_for
    from .eval.judges import judge_of
    from .eval.runner import check_mode, eval_spec, evaluate_into
    from .eval.sources import load_source
    from .models.interventions import check_against
    from .models.loading import cpu_threads, load_model
    from .models.loading import text_only as loads_text_only

    given = {"model": model, "data": [str(d) for d in data] if data is not None else None}
    req = _request(EvalRequest, request, {**fields, **{k: v for k, v in given.items() if v is not None}}, caller)
    if out is None:
        raise SpatialgenError("evaluate needs out= (the results folder)")
    out = Path(out)
    text_only = loads_text_only(req.model)
    if text_only and req.interventions:
        raise SpatialgenError(f"{_flag(caller)('interventions')} acts on vision tokens; '{req.model}' has none")
    conds = conditions_for(req.interventions, req.controls, text_only)
    if len(set(req.data)) != len(req.data):
        raise SpatialgenError(f"the same {_flag(caller)('data')} is given twice")
    loaded = {d: load_source(d, req.limit, req.images, req.split) for d in req.data}
    examples = [e for r in loaded.values() for e in r.examples]
    if not examples:
        problems = "; ".join(f"{d}: {r.described() or _no_rows(d, req.split)}" for d, r in loaded.items())
        raise SpatialgenError(f"no usable examples in {_flag(caller)('data')} ({problems})")
    if len({e.key for e in examples}) != len(examples):
        raise SpatialgenError("two --data sources give examples the same source and id (two folders of the same name?)")
    check_mode(examples, req.mode, _flag(caller)("mode"))  # before loading a model
    _check_decoding(req, _flag(caller))
    vlm = load_model(req.model, req.dtype, req.device, image_mode=req.image_mode, prompt_style=req.prompt)
    check_against([s for c in conds for s in c.interventions], vlm.model)
    spec = eval_spec(req, [c.name for c in conds], vlm.image_mode)

    def started(total: int, done: int) -> None:  # once the folder is claimed: a refused --out warns of nothing
        for d, r in loaded.items():
            if r.problems:
                warn(f"{d}: {len(r.examples)} examples; not used: {r.described()}")
        on_start(total, done)

    problems = {d: dict(r.problems) for d, r in loaded.items()}
    batch = req.batch_size
    with cpu_threads(req.threads, vlm.device), fresh(out):
        judge = judge_of(spec, req.judge_url)
        return evaluate_into(out, spec, examples, conds, lambda: vlm, batch, problems, started, on_progress, judge)


def _check_decoding(req, flag: Callable[[str], str]) -> None:
    """Sampling and judges act on decoded replies: generate mode only; an LLM judge needs its endpoint."""
    for name, default in (("decode", "greedy"), ("judge", "none")):
        if getattr(req, name) != default and req.mode != "generate":
            raise SpatialgenError(
                f"{flag(name)} {getattr(req, name)} acts on decoded replies: add {flag('mode')} generate"
            )
    if req.judge == "llm" and not (req.judge_url and req.judge_model):
        raise SpatialgenError(f"{flag('judge')} llm needs {flag('judge_url')} and {flag('judge_model')}")


def _request(cls: type[R], request: R | None, fields: dict[str, Any], caller: str) -> R:
    """The request a caller made: ``request`` as given, with ``fields`` laid over it, validated once; an error
    names the field as the caller wrote it (spatialgen/requests.py)."""
    from pydantic import ValidationError

    from .requests import field_error

    try:
        base = request.model_dump(exclude_unset=True) if request is not None else {}
        return cls.model_validate({**base, **fields})
    except ValidationError as e:
        raise SpatialgenError(field_error(e, caller)) from None


def _flag(caller: str) -> Callable[[str], str]:
    """A field's name as the caller writes it (``--ray-address`` or ``ray_address=``), for errors."""
    from .requests import field_name

    return lambda name: field_name((name,), caller)


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
    caller: str = "python",
    **fields: Any,
) -> dict[str, Any]:
    """Train a model on the render folder ``data`` (its train split; validation accuracy on up to 500
    validation questions) into the llava-hf folder ``out``, resuming it if it holds this training; returns
    the summary (also in ``out/train-summary.json``). What to train is a ``TrainRequest`` (or its fields as
    keywords: ``steps=``, ``interventions=``, ...; spatialgen/requests.py holds each field's default and
    meaning, the same as ``spatialgen train --help``); with none, the README demo's recipe. ``on_step(step,
    loss)`` after each step; ``on_tower_step`` after each step of tiny-init's tower stage (training/tower.py)."""
    from .training.train import check_out, train_on_folder, train_spec

    req = _request(TrainRequest, request, fields, caller)
    spec = train_spec(req, Path(data))
    out = Path(out)
    check_out(out, spec)
    with fresh(out):
        return train_on_folder(spec, out, req.device, on_step, on_tower_step)


def diagnose(
    kind: str | None = None,
    model: str | None = None,
    data: str | None = None,
    out: str | Path | None = None,
    request: DiagnoseRequest | None = None,
    *,
    on_start: Callable[[int], None] = lambda total: None,
    on_progress: Callable[[int], None] = lambda k: None,
    caller: str = "python",
    **fields: Any,
) -> dict[str, Any]:
    """Measure how ``model`` treats its vision tokens (diagnostic ``kind``: the paper's norms, hidden-norms,
    balance, rope; ours: position, balance-lastq, rope-shift) on ``limit`` examples with images of ``data``;
    writes ``out/KIND.csv`` and ``out/KIND.png`` and returns the headline figures. Options: a
    ``DiagnoseRequest`` or its fields. ``on_start(total)`` once the work is known, ``on_progress(k)`` as it
    is done."""
    from .eval.diagnose import NEEDS_EAGER, work
    from .eval.diagnose import diagnose as run
    from .eval.sources import load_source
    from .models.loading import load_model

    given = {"kind": kind, "model": model, "data": str(data) if data is not None else None}
    req = _request(DiagnoseRequest, request, {**fields, **{k: v for k, v in given.items() if v is not None}}, caller)
    if out is None:
        raise SpatialgenError("diagnose needs out= (the folder for KIND.csv and KIND.png)")
    examples = [e for e in load_source(req.data, req.limit, req.images, req.split).examples if e.images]
    if not examples:
        raise SpatialgenError(f"{_flag(caller)('data')} {req.data}: no examples with images")
    if req.strip_system_prompt and req.prompt != "paper":
        flag = _flag(caller)
        raise SpatialgenError(
            f"{flag('strip_system_prompt')} strips LLaVA v1's system prompt: add {flag('prompt')} paper"
        )
    attn = "eager" if req.kind in NEEDS_EAGER else None
    vlm = load_model(req.model, req.dtype, req.device, attn=attn, image_mode=req.image_mode, prompt_style=req.prompt)
    vlm.upscale, vlm.strip_system = req.upscale, req.strip_system_prompt
    out = Path(out)
    with fresh(out):
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SpatialgenError(f"cannot write to {out}: {e.strerror or e}") from None
        on_start(work(req.kind, examples, req.seeds))
        return run(
            req.kind, vlm, examples, out, req.batch_size, req.seeds, req.max_new_tokens, on_progress, req.threads
        )


def study(
    file: str | Path,
    out: str | Path,
    request: StudyRequest | None = None,
    *,
    on_status: Callable[[str], None] = lambda line: None,
    on_step: Callable[[int, int], None] = lambda done, total: None,
    caller: str = "python",
    **fields: Any,
) -> Path:
    """Run the study in the YAML ``file`` (``n`` scenes per cell and ``models`` override it) into the report
    folder ``out``: every cell rendered into ``cache`` (default ``~/.cache/spatialgen/cells``), every model x
    cell evaluated, resumably; returns the path of ``summary.md``. ``on_status(line)`` says what runs,
    ``on_step(done, total)`` counts renders and evaluations."""
    from .generator.executor import default_workers
    from .studies.study import default_cache, load_study, run_study

    req = _request(StudyRequest, request, fields, caller)
    s = load_study(Path(file), req.n, list(req.models) if req.models else None)
    where = req.cache if req.cache is not None else default_cache()
    with fresh(out, where):
        return run_study(s, Path(out), where, req.workers or default_workers(), on_status=on_status, on_step=on_step)


def push(
    folder: str | Path,
    request: PushRequest | None = None,
    *,
    log: Callable[[str], None] = print,
    on_commit: Callable[[int, int], None] = lambda k, n: None,
    caller: str = "python",
    **fields: Any,
) -> Any:
    """Publish a finished render folder as a Hub dataset (``repo_id=``; resumable: only changed files
    upload); with ``license=`` the card is rewritten first. Returns the upload plan."""
    from .generator.card import write_card
    from .generator.folder import finished
    from .generator.hub import push as run

    req = _request(PushRequest, request, fields, caller)
    folder = Path(folder)
    if req.license is not None and not req.dry_run:
        write_card(folder, finished(folder), req.license)
    return run(
        folder,
        req.repo_id,
        private=req.private,
        revision=req.revision,
        dry_run=req.dry_run,
        delete_missing=req.delete_missing,
        log=log,
        on_commit=on_commit,
    )


def export_2ds(
    folder: str | Path,
    dest: str | Path,
    request: ExportRequest | None = None,
    *,
    on_start: Callable[[int], None] = lambda total: None,
    on_row: Callable[[], None] = lambda: None,
    caller: str = "python",
    **fields: Any,
) -> int:
    """Export a render folder to the paper's 2DS schema in the new folder ``dest`` (``split=``,
    ``format=``); returns the number of entries."""
    from .exports.twods import export_2ds as run
    from .generator.folder import finished

    req = _request(ExportRequest, request, fields, caller)
    folder = Path(folder)
    on_start(sum(c for s, c in finished(folder).counts().items() if req.split in (None, s)))
    return run(folder, Path(dest), req.split, req.format, on_row)


def export(
    folder: str | Path,
    dest: str | Path,
    request: ToolExportRequest | None = None,
    *,
    on_start: Callable[[int], None] = lambda total: None,
    on_row: Callable[[], None] = lambda: None,
    caller: str = "python",
    **fields: Any,
) -> dict[str, Any]:
    """Export a render folder for another tool (``format=`` clevr, vlmevalkit or lmms-eval; ``split=``,
    ``name=``, ``dataset=``) into the new folder ``dest``; returns what was written."""
    from .exports import export as run
    from .generator.folder import finished

    req = _request(ToolExportRequest, request, fields, caller)
    folder = Path(folder)
    split = req.split or ("test" if req.format == "lmms-eval" else None)
    on_start(sum(c for s, c in finished(folder).counts().items() if split in (None, s)))
    return run(folder, Path(dest), req.format, req.split, req.name, req.dataset, on_row)


def rejudge(out: str | Path, judge_url: str | None = None) -> str:
    """Judge an evaluation's stored replies again, from ``predictions.jsonl`` alone (the judge its run.json
    names; ``judge_url``: where an LLM judge runs now), and write ``rejudge.md``: the judged numbers again
    and how many decisions changed. Returns its text; the evaluation's own files are left as they are."""
    from .eval.judges import judge_of
    from .eval.judges import rejudge as again
    from .eval.report import _md_table, judged_rows, read_predictions
    from .eval.runner import PREDICTIONS, RUN, EvalSpec
    from .generator.storage import Store

    out = Path(out)
    try:
        spec = EvalSpec.model_validate_json((out / RUN).read_text())
        preds = read_predictions(out / PREDICTIONS)
    except (OSError, ValueError):
        raise SpatialgenError(f"{out} holds no readable spatialgen evaluation (run.json, predictions.jsonl)") from None
    judge = judge_of(spec, judge_url)
    if judge is None or not any("judge" in p for p in preds):
        raise SpatialgenError(f"{out}: its evaluation judged nothing (eval --mode generate --judge rule|llm)")
    if judge.method == "llm" and not judge_url:
        raise SpatialgenError(f"{out} was judged by an LLM ({spec.judge_model}): give --judge-url, where it runs now")
    new, changed = again(preds, judge)
    cols = ["condition", "source", "judge", "n", "judge_free", "judged", "judged_ci_low", "judged_ci_high"]
    text = "\n".join(
        [
            f"# Re-judged: {out}",
            "",
            f"{sum('judge' in p for p in new)} replies judged again by {judge.method}"
            + (f" ({judge.model} at {judge_url})" if judge.method == "llm" else "")
            + f"; {changed} decisions changed.",
            "",
            "## Stored",
            "",
            _md_table(judged_rows(preds), cols),
            "",
            "## Again",
            "",
            _md_table(judged_rows(new), cols),
        ]
    )
    Store(out).write_atomic("rejudge.md", (text + "\n").encode())
    return text
