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


@app.command()
def render(
    out: Annotated[
        str, typer.Option("--out", "-o", help="Output folder or fsspec URL (resumed if it holds this run).")
    ],
    n: Annotated[int, typer.Option(help="Number of scenes.")] = 1000,
    seed: Annotated[int, typer.Option(help="Run seed: scene i is a pure function of (seed, i, config).")] = 0,
    preset: Annotated[str | None, typer.Option(help="Named preset [default: medium, or 3d with --backend 3d].")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML/JSON file of config fields laid over the preset.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes [default: all cores; 3D: one per 4 cores].")
    ] = None,
    image_size: Annotated[int | None, typer.Option(help="Render the preset at this size; px knobs scale.")] = None,
    twins: Annotated[bool, typer.Option("--twins", help="Add a minimal-pair twin image per scene.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="png or jpeg.")] = "png",
    jpeg_quality: Annotated[int, typer.Option(help="JPEG quality (with --format jpeg).")] = 90,
    backend: Annotated[str | None, typer.Option(help="2d (Pillow) or 3d (Blender) [default: the preset's].")] = None,
    engine: Annotated[str | None, typer.Option(help="3D: cycles, eevee or workbench.")] = None,
    samples: Annotated[int | None, typer.Option(help="3D: render samples.")] = None,
    device: Annotated[str | None, typer.Option(help="3D: cpu or gpu (CUDA/OptiX found automatically).")] = None,
    depth: Annotated[bool, typer.Option("--depth", help="3D: also store a depth map per image.")] = False,
    denoise: Annotated[
        bool | None,
        typer.Option(
            "--denoise/--no-denoise",
            help="3D, Cycles: denoise (on in the presets; off gives byte-identical re-renders).",
        ),
    ] = None,
    executor: Annotated[str, typer.Option(help="local (process pool) or ray.")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address [default: start a local one].")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Render a dataset folder: parquet shards, a manifest and a dataset card."""
    from . import api

    render3d = {"engine": engine, "samples": samples, "device": device, "denoise": denoise, "depth": depth or None}
    _render_with_progress(
        out,
        n,
        quiet,
        lambda on_progress, on_start: api.render(
            out,
            n,
            seed=seed,
            preset=preset,
            config=config,
            workers=workers,
            image_size=image_size,
            twins=twins,
            fmt=fmt,
            jpeg_quality=jpeg_quality,
            backend=backend,
            render3d=render3d,
            executor=executor,
            ray_address=ray_address,
            on_start=on_start,
            on_progress=on_progress,
            warn=lambda line: typer.echo(line, err=True),
        ),
    )


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
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    start = time.perf_counter()
    progress = Progress(
        TextColumn("rendering"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("scenes"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
    )
    state = {"task": None, "resumed": 0}

    def on_start(total: int, done: int) -> None:
        state["resumed"] = done
        state["task"] = progress.add_task("render", total=total, completed=done, rate="")

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


def _images_help() -> str:
    from .eval.benchmarks import WITH_IMAGES  # light: declarations and file readers, no torch

    return f"Image folder for {', '.join(WITH_IMAGES)}."


def _data_help(repeatable: bool) -> str:
    from .eval.benchmarks import BENCHMARKS

    kinds = ", ".join(BENCHMARKS)
    return f"A render folder, a Hub id, or KIND:PATH (KIND: {kinds}){' (repeatable)' if repeatable else ''}."


IMAGES_HELP = _images_help()
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


@app.command("export-2ds")
def export_2ds(
    folder: Annotated[Path, typer.Argument(help="A rendered folder.")],
    dest: Annotated[Path, typer.Option("--dest", help="New folder for the export.")],
    split: Annotated[str | None, typer.Option(help="Only this split (train, validation or test).")] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="parquet (the paper's 2DS layout, image bytes inside) or json.")
    ] = "parquet",
) -> None:
    """Export to the paper's 2DS schema (entry_id, image_filename, test_category, qa_pairs, objects)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .generator.export2ds import export_2ds as run
    from .generator.folder import finished

    total = sum(c for s, c in finished(folder).counts().items() if split in (None, s))
    with Progress(
        TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True), transient=True
    ) as progress:
        task = progress.add_task("export", total=total)
        n = run(folder, dest, split, fmt, lambda: progress.advance(task))
    typer.echo(f"{n} entries written to {dest / ('data' if fmt == 'parquet' else 'data.json')}")


@app.command()
def push(
    folder: Annotated[Path, typer.Argument(help="A finished render folder.")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="USER/NAME of the Hub dataset repo.")],
    private: Annotated[
        bool, typer.Option("--private", help="Make the repo private (a public one is switched to private).")
    ] = False,
    revision: Annotated[str | None, typer.Option(help="Branch to push to (created if missing).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be uploaded; send nothing.")] = False,
    delete_missing: Annotated[
        bool, typer.Option("--delete-missing", help="Delete remote files the folder does not have.")
    ] = False,
    license: Annotated[
        str | None, typer.Option(help="Rewrite the card with this license first. " + LICENSE_HELP)
    ] = None,
) -> None:
    """Publish a rendered folder as a Hugging Face Hub dataset (resumable; token from HF_TOKEN or login)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .generator.hub import push as run

    if _license(license) is not None and not dry_run:
        from .generator.card import write_card
        from .generator.folder import finished

        write_card(folder, finished(folder), license)
    with Progress(
        TextColumn("pushing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("commits"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("push", total=None)
        run(
            folder,
            repo_id,
            private=private,
            revision=revision,
            dry_run=dry_run,
            delete_missing=delete_missing,
            log=typer.echo,
            on_commit=lambda k, n: progress.update(task, completed=k, total=n),
        )


@app.command("eval")
def eval_(
    model: Annotated[str, typer.Option(help="Hub id, local path, tiny-random or random:ARCH.")],
    data: Annotated[list[str], typer.Option(help=_data_help(True))],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results folder (resumed if it holds this run).")],
    split: Annotated[str, typer.Option(help="Split of a generated dataset: train, validation or test.")] = "test",
    limit: Annotated[int | None, typer.Option(help="First N examples of each source.")] = None,
    mode: Annotated[str, typer.Option(help="likelihood (score candidates) or generate (greedy).")] = "likelihood",
    batch_size: Annotated[int, typer.Option(help="Examples per forward pass.")] = 8,
    dtype: Annotated[str, typer.Option(help="auto (bf16 on GPU, fp32 on CPU), float32, bfloat16, float16.")] = "auto",
    device: Annotated[str, typer.Option(help="auto (GPU when present), cpu, cuda, cuda:N.")] = "auto",
    controls: Annotated[
        bool,
        typer.Option("--controls", help="Add text-only controls: no image; scene description instead of the image."),
    ] = False,
    intervention: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME[:ARGS], one condition each (repeatable): norm:text-mean|value=X|paper, layers:L[,L...], "
            "permute[:SEED], pool:K; '+' combines. norm:paper on a vanilla model is an untrained ablation: with "
            "gain 1 it equals norm:value=1.0126."
        ),
    ] = None,
    image_mode: Annotated[
        str | None,
        typer.Option(
            help="pad (the paper: expand to square) or crop (the processor's center crop). "
            "Default: a converted paper checkpoint's own (pad), else crop."
        ),
    ] = None,
    prompt: Annotated[
        str, typer.Option(help="default (the model's chat template) or paper (LLaVA v1 conversation, raw question).")
    ] = "default",
    images: Annotated[Path | None, typer.Option(help=IMAGES_HELP)] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Generation length in generate mode.")] = 8,
    threads: Annotated[
        int,
        typer.Option(
            help="CPU threads while scoring on the CPU. Recorded in run.json: other counts round the scores' "
            "last bits differently; 1 gives the same bytes whatever the core count."
        ),
    ] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary table.")] = False,
) -> None:
    """Score a VLM on generated data and public benchmarks, deterministically (no LLM judge)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from . import api

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
        transient=True,  # an error after the start stays one line
    )
    state = {}

    def on_start(total: int, done: int) -> None:
        progress.start()
        state["task"] = progress.add_task("eval", total=total, completed=done)

    try:
        text = api.evaluate(
            model,
            data,
            out,
            split=split,
            limit=limit,
            mode=mode,
            batch_size=batch_size,
            dtype=dtype,
            device=device,
            controls=controls,
            interventions=intervention or [],
            image_mode=image_mode,
            prompt=prompt,
            images=images,
            max_new_tokens=max_new_tokens,
            threads=threads,
            on_start=on_start,
            on_progress=lambda k: progress.advance(state["task"], k),
            warn=lambda line: console.print(line, highlight=False),
        )
    finally:
        progress.stop()
    if not quiet:
        overall = text.split("## Overall")[1].split("##")[0].strip()
        typer.echo(overall)
    typer.echo(f"{out / 'summary.md'}")


def options_from(request: type, head: list, run: Callable[[dict], None]) -> Callable[..., None]:
    """A typer command whose options are ``request``'s fields (spatialgen/requests.py): each option's type,
    default and help read off the field, so the CLI cannot say other than the API and the study YAML.
    ``head`` are the command's own parameters before them (folders); ``run(values)`` gets every value by
    name. A bool|None field is an --x/--no-x switch, a list a repeatable option, a Literal a str the request
    validates (its choices are in the help)."""
    import inspect
    import typing

    from .requests import CLI_NAMES

    params = list(head)
    for name, f in request.model_fields.items():
        ann = f.annotation
        args = typing.get_args(ann)
        flag = "--" + CLI_NAMES.get(name, name).replace("_", "-")
        optional = type(None) in args
        core = next((a for a in args if a is not type(None)), ann) if optional else ann
        show = f.default is not None
        if core is bool:
            decl = typer.Option(f"{flag}/--no-{flag[2:]}", help=f.description, show_default=show)
            kind = bool | None if optional else bool
        elif typing.get_origin(core) is list:
            decl = typer.Option(flag, help=f.description, show_default=show, metavar="<spec>")
            kind = list[str] | None
        elif typing.get_origin(core) is typing.Literal:
            decl, kind = typer.Option(flag, help=f.description, show_default=show), str
        else:
            decl, kind = typer.Option(flag, help=f.description, show_default=show), core | None if optional else core
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=Annotated[kind, decl])
        )
    params.append(
        inspect.Parameter(
            "quiet",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")],
        )
    )

    def command(**values):
        run(values)

    command.__signature__ = inspect.Signature(params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


def _request_from(request: type, values: dict):
    """The request the command line made, its fields validated; an error names the flag."""
    from pydantic import ValidationError

    from .requests import field_error

    fields = {k: v for k, v in values.items() if k in request.model_fields}
    try:
        return request.model_validate(fields)
    except ValidationError as e:
        raise SpatialgenError(field_error(e, "cli")) from None


def _train(values: dict) -> None:
    """Train a LLaVA-style model on generated data, with the paper's interventions built in. With no option
    but --data and --out, the README demo's recipe."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from . import api
    from .requests import TrainRequest
    from .training.train import tower_steps_for

    req = _request_from(TrainRequest, values)
    tower_total = tower_steps_for(req.model, req.tower_steps)
    start = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("steps  loss {task.fields[loss]}  {task.fields[rate]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=values["quiet"],
        transient=True,
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

        summary = api.train(values["data"], values["out"], req, on_step=on_step, on_tower_step=on_tower_step)
    typer.echo(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items()))
    typer.echo(str(values["out"]))


def _train_command():
    import inspect

    from .requests import TrainRequest

    head = [
        inspect.Parameter(
            "data",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[
                Path, typer.Option(help="A render folder: trained on its train split, scored on validation.")
            ],
        ),
        inspect.Parameter(
            "out",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[
                Path, typer.Option("--out", "-o", help="Model folder (resumed if it holds this training).")
            ],
        ),
    ]
    command = options_from(TrainRequest, head, _train)
    command.__doc__ = _train.__doc__
    return command


app.command("train")(_train_command())


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


@app.command()
def diagnose(
    kind: Annotated[
        str,
        typer.Argument(
            help="The paper's norms, hidden-norms, balance, rope; ours: position, balance-lastq, rope-shift."
        ),
    ],
    model: Annotated[str, typer.Option(help="Hub id, local path, tiny-random or random:ARCH.")],
    data: Annotated[str, typer.Option(help=_data_help(False))],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for KIND.csv and KIND.png.")],
    split: Annotated[str, typer.Option(help="Split of a generated dataset.")] = "test",
    limit: Annotated[int, typer.Option(help="Examples read (the paper's measures use their distinct images).")] = 100,
    batch_size: Annotated[int, typer.Option(help="Examples per forward pass.")] = 4,
    seeds: Annotated[int, typer.Option(help="position: permutations per question.")] = 3,
    max_new_tokens: Annotated[int, typer.Option(help="balance: caption length in tokens.")] = 32,
    prompt: Annotated[
        str, typer.Option(help="default (chat template) or paper (LLaVA v1, with system prompt).")
    ] = "default",
    image_mode: Annotated[str | None, typer.Option(help="pad or crop (default: the model's own).")] = None,
    dtype: Annotated[str, typer.Option(help="auto, float32, bfloat16 or float16.")] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    images: Annotated[Path | None, typer.Option(help=IMAGES_HELP)] = None,
    threads: Annotated[
        int, typer.Option(help="CPU threads on the CPU (as eval's: other counts round the last bits differently).")
    ] = 1,
) -> None:
    """Measure how a VLM treats its vision tokens; writes KIND.csv and KIND.png (see README)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from . import api

    with Progress(
        TextColumn(f"diagnose {kind}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = {}
        result = api.diagnose(
            kind,
            model,
            data,
            out,
            split=split,
            limit=limit,
            batch_size=batch_size,
            seeds=seeds,
            max_new_tokens=max_new_tokens,
            prompt=prompt,
            image_mode=image_mode,
            dtype=dtype,
            device=device,
            images=images,
            threads=threads,
            on_start=lambda total: task.setdefault("id", progress.add_task(kind, total=total)),
            on_progress=lambda k: progress.advance(task["id"], k),
        )
    typer.echo(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()))
    typer.echo(f"{out / (kind + '.csv')}  {out / (kind + '.png')}")


@app.command()
def study(
    file: Annotated[Path | None, typer.Argument(help="The study YAML (see --example).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Report folder.")] = None,
    example: Annotated[
        bool,
        typer.Option(
            "--example",
            help="Print a ready-to-edit study file: `--example` (a margin sweep) or `--example paper` (trains "
            "tiny models with and without the paper's interventions, then evaluates them with and without permute).",
        ),
    ] = False,
    n: Annotated[int | None, typer.Option(help="Scenes per cell (overrides the file).")] = None,
    model: Annotated[list[str] | None, typer.Option(help="Model(s) (override the file).")] = None,
    cache: Annotated[Path | None, typer.Option(help="Cell cache [default: ~/.cache/spatialgen/cells].")] = None,
    workers: Annotated[int | None, typer.Option(help="Render workers [default: all cores].")] = None,
) -> None:
    """Sweep difficulty knobs with everything else fixed; curves with intervals per model x condition."""
    from .studies.study import EXAMPLES

    if example:
        name = str(file) if file is not None else "margin"
        if name not in EXAMPLES:
            _fail(f"no example study '{name}'; examples: {', '.join(EXAMPLES)}")
        typer.echo(EXAMPLES[name], nl=False)
        return
    if file is None or out is None:
        _fail("give a study file and --out (or --example to print one)")
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from . import api

    with Progress(
        TextColumn("study"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("renders + evaluations"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("study", total=None)
        path = api.study(
            file,
            out,
            n=n,
            models=model,
            cache=cache,
            workers=workers,
            on_status=lambda m: progress.console.print(m, highlight=False),
            on_step=lambda k, n: progress.update(task, completed=k, total=n),
        )
    typer.echo(str(path))


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
