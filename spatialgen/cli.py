"""The ``spatialgen`` command line: thin wiring over scenes, generator and eval.

Errors a user can cause end in one line on stderr and exit code 2 (see ``main``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

try:  # typer >= 0.29 vendors click
    from typer._click.exceptions import ClickException, UsageError
    from typer.exceptions import Abort, Exit
except ImportError:  # older typer on top of click
    from click.exceptions import Abort, ClickException, Exit, UsageError

from . import __version__
from .errors import SpatialgenError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts hold literal [brackets]: "[default: medium]" must not be eaten as markup
    help="Procedural spatial-reasoning data and evaluation for vision-language models.",
)


def _fail(msg: str) -> None:
    raise SpatialgenError(msg)


MODEL_COMMANDS = ("eval", "train", "study", "diagnose", "convert-llava")


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()
    if ctx.invoked_subcommand in MODEL_COMMANDS:
        # transformers draws its own bars while it loads or writes weights; these commands show one of
        # their own, and an error after loading must stay one line
        try:
            from transformers.utils import logging
        except ImportError:  # the eval extra is missing: the command says so in one line
            return
        logging.disable_progress_bar()


def rate_text(per_second: float) -> str:
    """A rate that stays readable for slow 3D renders: '2.5 s/scene' rather than '0/s'."""
    if per_second <= 0:
        return ""
    if per_second < 1:
        return f"{1 / per_second:.1f} s/scene"
    return f"{per_second:.1f}/s" if per_second < 10 else f"{per_second:.0f}/s"


def _render_with_progress(out, n: int, quiet: bool, go) -> None:
    """Run ``go(on_progress, on_start)`` (a render) under a progress bar, then print one line about it."""
    from rich.console import Console

    console = Console(stderr=True)
    start = time.perf_counter()
    progress = _bar("rendering", "scenes {task.fields[rate]}", clock="both", disable=quiet)
    state = {"task": None, "resumed": 0}

    def on_start(total: int, done: int) -> None:  # the bar shows once the run starts: an error before stays one line
        state["resumed"] = done
        state["task"] = progress.add_task("render", total=total, completed=done, rate="")
        progress.update(state["task"])

    def on_progress(k: int) -> None:
        progress.advance(state["task"], k)
        t = progress.tasks[0]
        elapsed = time.perf_counter() - start
        progress.update(state["task"], rate=rate_text((t.completed - state["resumed"]) / max(elapsed, 1e-9)))

    with progress:
        done = go(on_progress, on_start)
    dt = time.perf_counter() - start
    counts, workers = done.manifest.counts(), done.workers
    new = n - state["resumed"]
    msg = (
        f"{out}: {n} scenes, {sum(counts.values())} images "
        f"({', '.join(f'{k} {v}' for k, v in counts.items())}) in {dt:.1f} s"
    )
    if new and state["resumed"]:
        msg += f"; {new} rendered now, {state['resumed']} were already done"
    elif not new:
        msg += "; already complete, nothing to do"
    else:
        rate = rate_text(new / dt)
        rate = rate[:-2] + " scenes/s" if rate.endswith("/s") else rate
        msg += f" ({rate}, {workers} worker{'s' if workers > 1 else ''})"
    console.print(msg, highlight=False)


@app.command("setup-3d")
def setup_3d(
    python: Annotated[str, typer.Option(help="A Python 3.11 interpreter to build the venv with.")] = "python3.11",
) -> None:
    """Install Blender (bpy) into its own venv at the default place, for 3D rendering from anywhere."""
    from .generator.blender import setup_3d as run

    typer.echo(f"Blender's Python: {run(python, log=typer.echo)}")


@app.command()
def presets() -> None:
    """List the named presets, easiest first."""
    from .generator.backends import backend_of
    from .scenes.config import load_preset, preset_names

    for name in preset_names():
        p = load_preset(name)
        b = backend_of(p.config)
        typer.echo(f"{b.name} {p.level}  {name:<8} {b.summary(p.config)}: {p.description}")


@app.command()
def preview(
    folder: Annotated[Path, typer.Argument(help="A rendered folder.")],
    dest: Annotated[Path | None, typer.Option(help="PNG to write [default: FOLDER/preview.png].")] = None,
    count: Annotated[int, typer.Option(help="Images on the sheet.")] = 8,
) -> None:
    """Draw a contact sheet: images with their questions and answers beside them."""
    from .generator.folder import finished
    from .generator.preview import write_preview
    from .generator.storage import output_file

    if count <= 0:
        _fail(f"--count must be positive, got {count}")
    finished(folder)
    path = write_preview(folder, output_file(dest or folder / "preview.png"), count)
    typer.echo(str(path))


LICENSE_HELP = "SPDX id for the card, e.g. cc-by-4.0, mit, cc0-1.0 (default: the card's current one, else cc-by-4.0)."


def _license(value: str | None) -> str | None:
    import re

    if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9.+-]{1,63}", value):
        _fail(f"--license must be a lower-case SPDX-style id such as cc-by-4.0 or mit, got '{value}'")
    return value


@app.command()
def card(
    folder: Annotated[Path, typer.Argument(help="A rendered folder.")],
    license: Annotated[str | None, typer.Option(help=LICENSE_HELP)] = None,
) -> None:
    """Regenerate the dataset card (README.md) and preview of a rendered folder from its data."""
    from .generator.card import write_card
    from .generator.folder import finished

    typer.echo(str(write_card(folder, finished(folder), _license(license))))


@app.command()
def rerender(
    folder: Annotated[str, typer.Argument(help="A rendered folder.")],
    index: Annotated[int, typer.Option(help="Scene index.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG to write.")],
    twin: Annotated[bool, typer.Option("--twin", help="The scene's twin image.")] = False,
) -> None:
    """Re-render one image from its stored scene graph; exit 1 if it differs from the stored pixels."""
    from .generator.rerender import rerender as run
    from .generator.storage import output_file

    verdict = run(folder, index, output_file(out), twin)
    typer.echo(f"{out}: {'identical to' if verdict.same else 'DIFFERENT from'} the stored image ({verdict.how})")
    if not verdict.same:
        raise Exit(1)


def options_from(request: type, head: list, run: Callable[[dict], None], quiet: bool = True) -> Callable[..., None]:
    """A typer command whose options are ``request``'s fields (spatialgen/requests.py): each option's type,
    default and help read off the field, so the CLI cannot say other than the API and the study YAML.
    ``head`` are the command's own parameters (folders: ``_folder``); ``run(values)`` gets every value by
    name. A bool field is an --x/--no-x switch, a list a repeatable option, a Literal a str the request
    validates (its choices are in the help), a required field a required option, a field marked
    ``ARGUMENT`` a positional argument."""
    import inspect
    import typing

    from .requests import CLI_NAMES

    fields, params = [], []
    for name, f in request.model_fields.items():
        ann = f.annotation
        args = typing.get_args(ann)
        flag = "--" + CLI_NAMES.get(name, name).replace("_", "-")
        optional = type(None) in args
        core = next((a for a in args if a is not type(None)), ann) if optional else ann
        show = f.default is not None and not f.is_required()
        extra = f.json_schema_extra or {}
        if extra.get("argument"):
            decl, kind = typer.Argument(help=f.description, show_default=False, metavar=name.upper()), str
        elif core is bool:
            decl = typer.Option(f"{flag}/--no-{flag[2:]}", help=f.description, show_default=show)
            kind = bool | None if optional else bool
        elif typing.get_origin(core) is list:
            decl = typer.Option(flag, help=f.description, show_default=False, metavar="<spec>")
            kind = list[str] | None
        elif typing.get_origin(core) is typing.Literal:
            decl, kind = typer.Option(flag, help=f.description, show_default=show), str | None if optional else str
        else:
            decl, kind = typer.Option(flag, help=f.description, show_default=show), core | None if optional else core
        default = inspect.Parameter.empty if f.is_required() else f.default
        if typing.get_origin(core) is list and not f.is_required():
            default = None  # typer's empty repeatable option; the request's own default applies
        param = inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, decl]
        )
        (params if extra.get("argument") else fields).append(param)
    params = [*params, *head, *fields]
    if quiet:
        bar = typer.Option("--quiet", "-q", help="No progress bar.")
        params.append(
            inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[bool, bar])
        )
    params.sort(key=lambda p: p.default is not inspect.Parameter.empty)  # required ones first, as Python wants

    def command(**values):
        run(values)

    command.__signature__ = inspect.Signature(params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


def _folder(name: str, help: str, flag: str | None = None, argument: bool = False, kind: type = Path):
    """A command's own folder parameter (not a request field): ``--out/-o`` or a positional FOLDER."""
    import inspect

    if argument:
        decl = typer.Argument(help=help)
    else:
        decl = typer.Option(*((flag, "-o") if flag == "--out" else (flag,) if flag else ()), help=help)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[kind, decl])


def _request_from(request: type, values: dict):
    """The request the command line made, its fields validated; an error names the flag. An option left
    out is left out of the request too, so its declared default applies."""
    from pydantic import ValidationError

    from .requests import field_error

    fields = {k: v for k, v in values.items() if k in request.model_fields and v is not None}
    try:
        return request.model_validate(fields)
    except ValidationError as e:
        raise SpatialgenError(field_error(e, "cli")) from None


def job(name: str, request: type, head: list, quiet: bool = True) -> Callable[[Callable], Callable]:
    """Register ``run(values)`` as the command ``name`` with ``request``'s fields as its options; its
    docstring is the command's help."""

    def register(run: Callable[[dict], None]) -> Callable[[dict], None]:
        command = options_from(request, head, run, quiet)
        command.__doc__ = run.__doc__
        app.command(name)(command)
        return run

    return register


def _register_jobs() -> None:
    from .requests import (
        DiagnoseRequest,
        EvalRequest,
        ExportRequest,
        PushRequest,
        RejudgeRequest,
        RenderRequest,
        ToolExportRequest,
        TrainRequest,
    )

    out = _folder("out", "Output folder or fsspec URL (resumed if it holds this run).", "--out", kind=str)
    job("render", RenderRequest, [out])(_render)
    job(
        "export-2ds",
        ExportRequest,
        [
            _folder("folder", "A rendered folder.", argument=True),
            _folder("dest", "New folder for the export.", "--dest"),
        ],
        quiet=False,
    )(_export)
    job(
        "export",
        ToolExportRequest,
        [
            _folder("folder", "A rendered folder.", argument=True),
            _folder("dest", "New folder for the export.", argument=True),
        ],
        quiet=False,
    )(_export_for)
    job("push", PushRequest, [_folder("folder", "A finished render folder.", argument=True)], quiet=False)(_push)
    job("eval", EvalRequest, [_folder("out", "Results folder (resumed if it holds this run).", "--out")])(_eval)
    job("rejudge", RejudgeRequest, [_folder("out", "An evaluation's results folder.", "--out")], quiet=False)(_rejudge)
    train_head = [
        _folder("data", "A render folder: trained on its train split, scored on validation.", "--data"),
        _folder("out", "Model folder (resumed if it holds this training).", "--out"),
    ]
    job("train", TrainRequest, train_head)(_train)
    job("diagnose", DiagnoseRequest, [_folder("out", "Folder for KIND.csv and KIND.png.", "--out")], quiet=False)(
        _diagnose
    )


def _render(values: dict) -> None:
    """Render a dataset folder: parquet shards, a manifest and a dataset card."""
    from . import api
    from .requests import RenderRequest

    req = _request_from(RenderRequest, values)
    out = values["out"]
    _render_with_progress(
        out,
        req.n,
        values["quiet"],
        lambda on_progress, on_start: api.render(
            out,
            request=req,
            caller="cli",
            on_start=on_start,
            on_progress=on_progress,
            warn=lambda line: typer.echo(line, err=True),
        ),
    )


def _bar(label: str, unit: str = "", clock: str = "", disable: bool = False):
    """A job's progress bar on stderr: label, bar, done/total, unit, elapsed and/or remaining time. Transient, and
    drawn from its first step on, so an error before the work starts stays one line (a rich bar started and
    stopped with nothing in it still prints an empty line)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    class Lazy(Progress):
        drawn = False

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            if self.drawn:
                self.stop()

        def _draw(self) -> None:
            if not self.drawn:
                self.drawn = True
                self.start()

        def update(self, *args, **kwargs) -> None:
            self._draw()
            super().update(*args, **kwargs)

        def advance(self, *args, **kwargs) -> None:
            self._draw()
            super().advance(*args, **kwargs)

    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), *([TextColumn(unit)] if unit else [])]
    clocks = {
        "elapsed": [TimeElapsedColumn()],
        "remaining": [TimeRemainingColumn()],
        "both": [TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()],
    }
    columns += clocks.get(clock, [])
    console = Console(stderr=True)
    return Lazy(*columns, console=console, disable=disable or not console.is_terminal, transient=True)


def _export(values: dict) -> None:
    """Export to the paper's 2DS schema (entry_id, image_filename, test_category, qa_pairs, objects)."""

    from . import api
    from .requests import ExportRequest

    req = _request_from(ExportRequest, values)
    dest = values["dest"]
    n = _with_export_bar(api.export_2ds, values["folder"], dest, req)
    typer.echo(f"{n} entries written to {dest / ('data' if req.format == 'parquet' else 'data.json')}")


def _with_export_bar(run: Callable, folder: Path, dest: Path, req):
    """An export job under a progress bar of the images written."""
    with _bar("exporting", "images") as progress:
        task = progress.add_task("export", total=None)
        return run(
            folder,
            dest,
            req,
            caller="cli",
            on_start=lambda total: progress.update(task, total=total),
            on_row=lambda: progress.advance(task),
        )


def _export_for(values: dict) -> None:
    """Export for other tools: CLEVR's files (scenes, programs, metadata), a VLMEvalKit TSV, an lmms-eval task."""
    from . import api
    from .requests import ToolExportRequest

    req = _request_from(ToolExportRequest, values)
    dest = values["dest"]
    done = _with_export_bar(api.export, values["folder"], dest, req)
    if req.format == "clevr":
        left = ", ".join(f"{k} {v}" for k, v in done["left_out"].items()) or "none"
        typer.echo(
            f"{dest}: {done['scenes']} scenes, {done['questions']} questions with CLEVR programs "
            f"(left out, no CLEVR function: {left})"
        )
    elif req.format == "vlmevalkit":
        typer.echo(f"{dest}: {done['questions']} questions in {', '.join(done['files'])} (copy into $LMUData)")
    else:
        typer.echo(
            f"{dest}: task {done['task']} over {done['dataset_path']} ({done['split']}); "
            f"run: lmms_eval --include_path {dest} --tasks {done['task']} --model ..."
        )


def _push(values: dict) -> None:
    """Publish a rendered folder as a Hugging Face Hub dataset (resumable; token from HF_TOKEN or login)."""

    from . import api
    from .requests import PushRequest

    req = _request_from(PushRequest, values)
    with _bar("pushing", "commits", clock="elapsed") as progress:
        task = progress.add_task("push", total=None)
        api.push(
            values["folder"],
            req,
            caller="cli",
            log=typer.echo,
            on_commit=lambda k, n: progress.update(task, completed=k, total=n),
        )


def _rejudge(values: dict) -> None:
    """Judge an evaluation's stored replies again from predictions.jsonl alone; writes rejudge.md."""
    from . import api
    from .requests import RejudgeRequest

    req = _request_from(RejudgeRequest, values)
    text = api.rejudge(values["out"], req.judge_url)
    typer.echo(text.splitlines()[2])
    typer.echo(f"{values['out'] / 'rejudge.md'}")


def _eval(values: dict) -> None:
    """Score a VLM on generated data and public benchmarks, deterministically (judge-free; --judge adds one)."""
    from rich.console import Console

    from . import api
    from .requests import EvalRequest

    req = _request_from(EvalRequest, values)
    out, quiet = values["out"], values["quiet"]
    console = Console(stderr=True)
    progress = _bar("evaluating", clock="remaining", disable=quiet)
    state = {}

    def on_start(total: int, done: int) -> None:  # drawn from here: the inputs are read, the folder claimed
        state["task"] = progress.add_task("eval", total=total, completed=done)
        progress.update(state["task"])

    try:
        text = api.evaluate(
            out=out,
            request=req,
            caller="cli",
            on_start=on_start,
            on_progress=lambda k: progress.advance(state["task"], k),
            warn=lambda line: console.print(line, highlight=False),
        )
    finally:
        progress.__exit__(None, None, None)
    if not quiet:
        overall = text.split("## Overall")[1].split("##")[0].strip()
        typer.echo(overall)
    typer.echo(f"{out / 'summary.md'}")


def _train(values: dict) -> None:
    """Train a LLaVA-style model on generated data, with the paper's interventions built in. With no option
    but --data and --out, the README demo's recipe."""

    from . import api
    from .requests import TrainRequest
    from .training.train import tower_steps_for

    req = _request_from(TrainRequest, values)
    tower_total = tower_steps_for(req.model, req.tower_steps)
    start = {}
    with _bar(
        "{task.description}", "steps  loss {task.fields[loss]}  {task.fields[rate]}", "remaining", values["quiet"]
    ) as progress:
        task = progress.add_task("training", total=req.steps, loss="-", rate="")
        naming = {}

        def on_tower_step(k: int, loss: float) -> None:
            if not naming:
                naming["task"] = progress.add_task("naming patches", total=tower_total, loss="-", rate="")
            progress.update(naming["task"], completed=k, loss=f"{loss:.4f}")

        def on_step(k: int, loss: float) -> None:
            first = start.setdefault("at", (k - 1, time.perf_counter()))  # a resumed run starts past 0
            rate = (k - 1 - first[0]) / max(time.perf_counter() - first[1], 1e-9)
            progress.update(
                task, completed=k, loss=f"{loss:.4f}", rate=f"{rate:.1f} steps/s" if k > 1 + first[0] else ""
            )

        summary = api.train(
            values["data"], values["out"], req, caller="cli", on_step=on_step, on_tower_step=on_tower_step
        )
    typer.echo(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items()))
    typer.echo(str(values["out"]))


def _diagnose(values: dict) -> None:
    """Measure how a VLM treats its vision tokens; writes KIND.csv and KIND.png (docs/evaluation.md)."""

    from . import api
    from .requests import DiagnoseRequest

    req = _request_from(DiagnoseRequest, values)
    out = values["out"]
    with _bar(f"diagnose {req.kind}", clock="remaining") as progress:
        task = {}
        result = api.diagnose(
            out=out,
            request=req,
            caller="cli",
            on_start=lambda total: progress.update(task.setdefault("id", progress.add_task(req.kind, total=total))),
            on_progress=lambda k: progress.advance(task["id"], k),
        )
    typer.echo(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()))
    typer.echo(f"{out / (req.kind + '.csv')}  {out / (req.kind + '.png')}")


def _study(values: dict) -> None:
    """Sweep difficulty knobs with everything else fixed; curves with intervals per model x condition."""
    from .studies.study import EXAMPLES

    file, out = values["file"], values["out"]
    if values["example"]:
        name = str(file) if file is not None else "margin"
        if name not in EXAMPLES:
            _fail(f"no example study '{name}'; examples: {', '.join(EXAMPLES)}")
        typer.echo(EXAMPLES[name], nl=False)
        return
    if file is None or out is None:
        _fail("give a study file and --out (or --example to print one)")

    from . import api
    from .requests import StudyRequest

    req = _request_from(StudyRequest, values)
    with _bar("study", "renders + evaluations", clock="elapsed") as progress:
        task = progress.add_task("study", total=None)
        path = api.study(
            file,
            out,
            req,
            caller="cli",
            on_status=lambda m: progress.console.print(m, highlight=False),
            on_step=lambda k, n: progress.update(task, completed=k, total=n),
        )
    typer.echo(str(path))


def _study_command():
    import inspect

    from .requests import StudyRequest

    kw = inspect.Parameter.KEYWORD_ONLY
    example_help = (
        "Print a ready-to-edit study file: `--example` (a margin sweep) or `--example paper` (trains "
        "tiny models with and without the paper's interventions, then evaluates them with and without permute)."
    )
    head = [
        inspect.Parameter(
            "file",
            kw,
            default=None,
            annotation=Annotated[Path | None, typer.Argument(help="The study YAML (see --example).")],
        ),
        inspect.Parameter(
            "out",
            kw,
            default=None,
            annotation=Annotated[Path | None, typer.Option("--out", "-o", help="Report folder.")],
        ),
        inspect.Parameter(
            "example", kw, default=False, annotation=Annotated[bool, typer.Option("--example", help=example_help)]
        ),
    ]
    command = options_from(StudyRequest, head, _study, quiet=False)
    command.__doc__ = _study.__doc__
    return command


_register_jobs()
app.command("study")(_study_command())
# `spatialgen --help` lists the jobs first, in the order a user meets them, then the tools around them.
ORDER = ("render", "eval", "train", "study", "diagnose", "push", "export", "export-2ds", "rejudge")
app.registered_commands.sort(key=lambda c: ORDER.index(c.name) if c.name in ORDER else len(ORDER))


@app.command("convert-llava")
def convert_llava(
    src: Annotated[Path, typer.Argument(help="Original-LLaVA checkpoint folder (config.json + weights).")],
    dst: Annotated[Path, typer.Argument(help="New folder for the transformers (llava-hf) layout.")],
    processor: Annotated[Path, typer.Option(help="A llava-hf processor folder (tokenizer with <image>).")],
    vision_tower: Annotated[Path, typer.Option(help="CLIP vision folder (config; weights if SRC has none).")],
    feature_layers: Annotated[str | None, typer.Option(help="Concatenated CLIP layers [default: 12,16,20,24].")] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option(
            "--trust-pickle",
            help="Also read pytorch_model*.bin weights (torch's weights-only unpickler); only for files you trust.",
        ),
    ] = False,
) -> None:
    """Convert an original-LLaVA checkpoint (the paper's normalized / multi-layer variants included)."""
    from .models.convert import convert_llava as run

    try:
        layers = tuple(int(x) for x in feature_layers.split(",")) if feature_layers else None
    except ValueError:
        _fail(f"--feature-layers must be comma-separated integers, got '{feature_layers}'")
    meta = run(src, dst, processor, vision_tower, layers, trust_pickle)
    typer.echo(
        f"{dst}: projector {meta.layout}, vision_feature_layer {meta.vision_feature_layer}"
        f"{' (each through post_layernorm)' if meta.feature_norm else ''}, "
        f"normalized projector {'yes' if meta.projector_norm else 'no'}"
        f"{f', pooled to {meta.pool}x{meta.pool} tokens' if meta.pool else ''}, images {meta.image_mode}"
    )


def _os_error(e: OSError) -> str:
    where = f": {e.filename}" if e.filename else ""
    return f"{e.strerror or type(e).__name__}{where}"


def main(argv: list[str] | None = None) -> int:
    """Entry point: one line and exit code 2 for anything the user can fix; 130 and one line for Ctrl-C.

    A Ctrl-C is known by its signal, not by the exception it became on its way up (see ``interrupt``).
    Anything else unexpected is a bug and keeps its traceback.
    """
    from . import interrupt

    cmd = typer.main.get_command(app)
    with interrupt.watch() as ctrl_c:
        try:
            # Without standalone mode click hands back the code of an Exit (and of Ctrl-C: 130) instead of exiting.
            rc = cmd.main(args=argv, prog_name="spatialgen", standalone_mode=False)
        except Exit as e:
            rc = e.exit_code
        except (Abort, KeyboardInterrupt):
            rc = 130
        except Exception as e:
            if not ctrl_c.seen:
                code = _report(e)
                if code is None:
                    raise
                return code
            rc = 130  # a library turned the interrupt into an error of its own
    if rc == 130:
        print(interrupt.INTERRUPTED, file=sys.stderr)
    return rc if isinstance(rc, int) else 0


def _report(e: Exception) -> int | None:
    """The one place where known error classes become one line: SpatialgenError (raised with its own
    message wherever the cause is known), click's usage errors, pydantic validation errors, and, as the net
    under everything else, OSError (a path that cannot be read or written, a full disk). None: not known.
    """
    import errno

    from pydantic import ValidationError

    from .untrusted import shown

    if isinstance(e, (UsageError, ClickException)):
        msg = e.format_message()
    elif isinstance(e, SpatialgenError):
        msg = str(e)
    elif isinstance(e, ValidationError):
        from .scenes.config import format_validation_error

        msg = format_validation_error(e, "input")
    elif isinstance(e, OSError):
        if e.errno == errno.EPIPE:  # output piped into a program that stopped reading
            return 1
        msg = _os_error(e)
    elif type(e).__name__ == "DecompressionBombError":  # Pillow's own guard, under spatialgen/untrusted.py's
        msg = f"an image is over the pixel limit ({str(e).split('.')[0]})"
    else:
        return None
    print(f"error: {shown(msg)}", file=sys.stderr)  # a newline in a path must not make it two lines
    return 2


if __name__ == "__main__":
    sys.exit(main())
