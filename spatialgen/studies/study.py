"""Controlled difficulty studies: sweep knobs, keep everything else fixed, evaluate, plot curves.

A study renders every cell (one combination of knob values) into a cache keyed by the cell's run spec, so
cells are reused across studies and re-runs; evaluates each model x condition on each cell with the
resumable runner; then writes the report from the predictions files alone.

A study may also train its own models (``train:``): one render of training data, one ``spatialgen train``
run per recipe (the paper's interventions built in), each cached by its training spec and then evaluated
exactly as a downloaded or converted model folder is, under the name ``trained:RECIPE``.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import itertools
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spatialgen.errors import SpatialgenError
from spatialgen.eval.report import accuracy_rows, mcnemar_rows, read_predictions, twin_rows
from spatialgen.requests import EvalRequest, RenderRequest, TrainRequest
from spatialgen.scenes.config import format_validation_error, load_preset, read_mapping
from spatialgen.scenes.domain_config import DomainConfig

# Knob name -> how a value changes the scene config.
KNOBS: dict[str, str] = {
    "margin": "relation margin in px (margins.margin_px)",
    "objects": "object count: N or [min, max]",
    "distractors": "share of objects copying a shape or color (distractor_share)",
    "size": "object size scale (size_scale)",
    "clutter": "background strokes",
    "noise": "pixel noise amplitude",
    "image_size": "image size in px (every pixel knob scales with it)",
    "family": "the only question family asked",
    "overlap": "allow_overlap true/false",
    "hops": "relate steps of compositional questions (0-4; give the relate_* families weight)",
    "strict": "perceptual rules on/off (margins.strict: true/false)",
    "backend": "2d or 3d, as the preset renders (3D presets sweep margin, objects, family, image_size, hops)",
}

EXAMPLE = """\
# spatialgen study: how does accuracy on left/right fall as the margin shrinks, with and without
# vision-norm normalization? Everything not named under `knobs` stays as in the base preset.
name: margin-left-right
preset: medium
fixed:                      # config fields held fixed for every cell
  families: {left_right: 1}
knobs:                      # one or more knobs; every combination is a cell
  margin: [4, 8, 16, 32]
n: 200                      # scenes per cell
seed: 0
twins: true                 # minimal pairs: twin consistency per cell
models: [llava-hf/llava-1.5-7b-hf]
conditions: [norm:text-mean]    # interventions; the plain image condition is always included
controls: true              # text-only control curves (no image; scene description)
mode: likelihood
batch_size: 16
threads: 1                  # CPU threads while evaluating on the CPU (in each cell's run.json, as batch_size)
"""


PAPER_EXAMPLE = """\
# spatialgen study: the paper's experiment (Qi et al. 2025, "Beyond Semantics", arXiv 2503.17349) on a
# laptop. Tiny LLaVA models are trained from scratch on the same rendered data: plain, with the normalized
# projector (norm:paper), and with multi-layer vision features; each is then evaluated with and without
# `permute` (the image tokens shuffled), with Wilson intervals per cell, twin consistency and exact McNemar
# tests between conditions. Tiny-init's tower first learns to name each patch (its default), so `permute`
# shuffles tokens that carry their own x and y: twin consistency is the test of reading positions. Some
# 30 minutes of one CPU thread per trained model (README "Training": what such a model learns).
name: paper
preset: easy
fixed:
  families: {left_right: 1, above_below: 1}
knobs:
  family: [left_right, above_below]
n: 300                      # test scenes per cell
seed: 1                     # not the training seed: the test scenes are other scenes
twins: true
models: []                  # only the trained ones below
conditions: [permute]
controls: false
mode: likelihood
batch_size: 32
train:                      # models this study trains (spatialgen train), evaluated as trained:NAME
  preset: easy
  fixed:
    families: {left_right: 1, above_below: 1}
  n: 4000                   # training scenes (its train split is used)
  model: tiny-init
  recipe: full
  steps: 9000               # the README's demo
  batch_size: 32
  lr: 0.001
  threads: 2
  recipes:                  # pool:4 (16 image tokens): the setting README "Training" measures
    plain: [pool:4]
    norm: [pool:4, norm:paper]
    multilayer: ["layers:2,3,4", pool:4]
"""


EXAMPLES = {"margin": EXAMPLE, "paper": PAPER_EXAMPLE}


class TrainPlan(TrainRequest):
    """Models a study trains itself: one training render, one ``spatialgen train`` run per recipe. Its
    training fields are ``spatialgen train``'s own (spatialgen/requests.py: same defaults, same bounds); the
    interventions come from ``recipes``, one model each."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    preset: str = "easy"
    fixed: dict[str, Any] = Field(default_factory=dict)
    n: int = Field(4000, gt=0, le=10**7)
    recipes: dict[str, list[str]] = Field(min_length=1)  # name -> interventions built into the model

    @field_validator("interventions")
    @classmethod
    def _by_recipe(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            raise ValueError("a study's interventions are given per model, in recipes")
        return v

    @field_validator("recipes")
    @classmethod
    def _names(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in v:
            if not re.fullmatch(r"[\w.-]+", name):
                raise ValueError(f"recipe name '{name}': letters, digits, '.', '-' and '_' only")
        return v


class Study(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = "study"
    preset: str = "medium"
    fixed: dict[str, Any] = Field(default_factory=dict)
    knobs: dict[str, list[Any]]
    n: int = Field(200, gt=0)
    seed: int = 0
    twins: bool = True
    models: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    controls: bool = True
    mode: str = "likelihood"
    batch_size: int = Field(16, gt=0)
    threads: int = Field(1, gt=0)  # torch's CPU threads while evaluating on the CPU (in each cell's run.json)
    # A cell is a test set of its own: every scene is evaluated unless a split is named.
    split: Literal["all", "train", "validation", "test"] = "all"
    train: TrainPlan | None = None

    @model_validator(mode="after")
    def _some_model(self) -> Study:
        if not self.models and self.train is None:
            raise ValueError("name at least one model under models, or train some under train")
        return self

    @property
    def model_names(self) -> list[str]:
        """Every model the report shows: the named ones, then the trained ones as trained:NAME."""
        return [*self.models, *(f"trained:{k}" for k in (self.train.recipes if self.train else {}))]

    @field_validator("knobs")
    @classmethod
    def _knobs(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if not v:
            raise ValueError("name at least one knob")
        for k, values in v.items():
            if k not in knob_names():
                raise ValueError(f"unknown knob '{k}'; knobs: {', '.join(knob_names())}")
            if not values:
                raise ValueError(f"knob '{k}' has no values")
        return v

    @field_validator("mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in ("likelihood", "generate"):
            raise ValueError("must be likelihood or generate")
        return v


# Knobs every domain has: the object count, the one family asked, the image size, the backend. The knobs
# that set one config field are each domain's own (its Plugin's ``knobs``, scenes/domains.py).
COMMON_KNOBS = ("objects", "family", "image_size", "backend")


def knob_names() -> list[str]:
    """Every knob some domain has: the common ones and each domain plug-in's own."""
    from spatialgen.scenes.config import configs

    own = [k for c in configs().values() for k in c.knobs]
    return list(dict.fromkeys([*KNOBS, *own]))


def apply_knob(cfg: DomainConfig, knob: str, value: Any) -> DomainConfig:
    """The config with one knob set; 2D and 3D configs alike (a knob a backend lacks is one clear error)."""
    data = cfg.model_dump()
    cls = type(cfg)
    fields = cls.knobs
    if knob in fields:
        *parents, leaf = fields[knob]
        node = data
        for p in parents:
            node = node[p]
        node[leaf] = value
    elif knob == "objects":
        data["objects"] = (value, value) if isinstance(value, int) else tuple(value)
    elif knob == "family":
        if value not in cfg.family_order:
            raise ValueError(f"unknown family '{value}'")
        data["families"] = {value: 1.0}
    elif knob == "image_size":
        return cls.model_validate(data).at_image_size(int(value))
    elif knob == "backend":
        if value != cfg.backend:
            raise ValueError(f"backend '{value}': the preset renders {cfg.backend}; pick a {value} preset instead")
        return cfg
    else:
        have = ", ".join([*fields, *COMMON_KNOBS])
        raise ValueError(f"knob '{knob}' is not a knob of {cfg.backend.upper()} presets; theirs: {have}")
    return cls.model_validate(data)


def load_study(path: Path, n: int | None = None, models: list[str] | None = None) -> Study:
    """A study YAML validated into a Study (``n`` and ``models`` override the file); bad input: one SpatialgenError."""
    data = read_mapping(path)
    if n is not None:
        data["n"] = n
    if models:
        data["models"] = models
    try:
        study = Study.model_validate(data)
    except ValidationError as e:
        raise SpatialgenError(format_validation_error(e, f"study {path}")) from None
    for m in study.models:
        check_model_name(m)
    if study.train is not None:
        check_train_plan(study.train)
    from spatialgen.eval.conditions import conditions_for

    conditions_for(study.conditions, study.controls)  # validates intervention names
    for cell in cells(study):  # every cell config must validate before anything runs
        cell_config(study, cell)
    return study


def check_model_name(name: str) -> None:
    """Refuse, in one line, a model name that no loader knows (before anything renders)."""
    from spatialgen.models.loading import LOADERS
    from spatialgen.models.registry import ANY, check, names

    try:
        entry = check(LOADERS, name)
    except SpatialgenError as e:
        raise SpatialgenError(f"unknown model '{name}'; {str(e).split(': ', 1)[-1]}") from None
    if entry.key != ANY or Path(name).is_dir():
        return
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", name):
        raise SpatialgenError(f"unknown model '{name}': not {names(LOADERS)}")


def check_train_plan(plan: TrainPlan) -> None:
    """Everything a study's training can get wrong, found before anything is rendered or trained."""
    from spatialgen.models.interventions import parse_all
    from spatialgen.models.registry import ANY, check
    from spatialgen.models.starts import STARTS
    from spatialgen.training.train import _sidecar

    if check(STARTS, plan.model).key == ANY:
        check_model_name(plan.model)
    for name, interventions in plan.recipes.items():
        try:
            _sidecar(parse_all(interventions), "")
        except SpatialgenError as e:
            raise SpatialgenError(f"train.recipes.{name}: {e}") from None
    _config(plan.preset, plan.fixed, "study train data")


def _config(preset: str, fixed: dict[str, Any], where: str):
    try:
        base = load_preset(preset).config
        data = base.model_dump()
        fixed = dict(fixed)
        for part in ("margins", "render"):
            if isinstance(fixed.get(part), dict) and isinstance(data.get(part), dict):
                fixed[part] = {**data[part], **fixed[part]}
        return type(base).model_validate({**data, **fixed})
    except ValidationError as e:
        raise SpatialgenError(format_validation_error(e, where)) from None


def _key(spec: BaseModel) -> str:
    return hashlib.blake2b(spec.model_dump_json().encode(), digest_size=8).hexdigest()


def trained_folders(plan: TrainPlan, cache: Path) -> dict[str, Path]:
    """trained:NAME -> its model folder, keyed by everything that decides the weights (known before any
    rendering, so a changed plan never reuses another plan's model or predictions)."""
    from spatialgen import __version__

    out = {}
    for name, interventions in plan.recipes.items():
        what = plan.model_dump(exclude={"recipes"}) | {"interventions": interventions, "version": __version__}
        key = hashlib.blake2b(json.dumps(what, sort_keys=True).encode(), digest_size=8).hexdigest()
        out[f"trained:{name}"] = cache / "trained" / key
    return out


def train_models(plan: TrainPlan, cache: Path, workers: int, on_status=print) -> dict[str, Path]:
    """Render the training data (cached like a cell) and train every recipe into its folder (resumed after
    an interruption, reused when finished)."""
    from spatialgen.generator.card import write_card
    from spatialgen.generator.manifest import run_spec
    from spatialgen.generator.run import preflight, render_run
    from spatialgen.training.train import train_on_folder, train_spec

    folders = trained_folders(plan, cache)
    todo = {k: f for k, f in folders.items() if not (f / "train-summary.json").exists()}
    if not todo:
        return folders
    cfg = _config(plan.preset, plan.fixed, "study train data")
    data_request = RenderRequest(n=plan.n, seed=plan.seed, twins=True)
    spec = run_spec(data_request, plan.preset, load_preset(plan.preset).level, cfg)
    preflight(spec)
    data = cache / _key(spec)
    on_status(f"training data: rendering {plan.n} scenes into {data}")
    render_run(data, spec, workers, finish=write_card)
    tenth = max(1, plan.steps // 10)
    for name, folder in todo.items():
        interventions = plan.recipes[name.removeprefix("trained:")]
        tspec = train_spec(plan.model_copy(update={"interventions": interventions}), data)
        on_status(
            f"{name}: training {plan.model} ({plan.recipe}, {', '.join(interventions) or 'no intervention'}, "
            f"{plan.steps} steps) into {folder}"
        )

        def tick(step: int, loss: float, name=name) -> None:
            if step % tenth == 0:
                on_status(f"{name}: step {step}/{plan.steps}, loss {loss:.4f}")

        summary = train_on_folder(tspec, folder, plan.device, on_step=tick)
        on_status(f"{name}: validation accuracy {summary.get('validation_accuracy', float('nan')):.3f}")
    return folders


def cells(study: Study) -> list[dict[str, Any]]:
    """Every combination of the study's knob values, in order."""
    names = list(study.knobs)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*study.knobs.values())]


def cell_config(study: Study, cell: dict[str, Any]) -> DomainConfig:
    """A cell's scene config: the preset, the fixed fields, then the cell's knob values."""
    cfg = _config(study.preset, study.fixed, f"study cell {cell}")
    try:
        for knob, value in cell.items():
            cfg = apply_knob(cfg, knob, value)
    except ValidationError as e:
        raise SpatialgenError(format_validation_error(e, f"study cell {cell}")) from None
    except (ValueError, TypeError) as e:
        raise SpatialgenError(f"study cell {cell}: {e}") from None
    return cfg


def cell_id(cell: dict[str, Any]) -> str:
    """A cell's folder name (knob=value pairs)."""
    return "_".join(f"{k}={v}" for k, v in cell.items()).replace("/", "-").replace(" ", "")


def default_cache() -> Path:
    """Where rendered cells and trained models are cached: ``~/.cache/spatialgen/cells``."""
    return Path(os.environ.get("SPATIALGEN_CACHE", Path.home() / ".cache" / "spatialgen")) / "cells"


def _slug(model: str) -> str:
    return re.sub(r"[^\w.-]+", "_", model)


def run_study(
    study: Study, out: Path, cache: Path, workers: int, on_status=print, on_step=lambda done, total: None
) -> Path:
    """Render every cell (cached), evaluate every model x cell (resumable), write the report. ``on_step``
    hears (steps done, steps in all) over the cells' renders and evaluations."""
    from spatialgen.eval.conditions import conditions_for
    from spatialgen.eval.runner import EvalSpec, check_resumable, eval_spec, evaluate_into
    from spatialgen.eval.sources import load_source
    from spatialgen.generator.card import write_card
    from spatialgen.generator.manifest import run_spec
    from spatialgen.generator.run import preflight, render_run
    from spatialgen.models.loading import check_loadable, cpu_threads, load_model, resolve_device

    if cache.exists() and not cache.is_dir():
        raise SpatialgenError(f"--cache {cache} is a file, not a folder")
    conds = conditions_for(study.conditions, study.controls)
    for model in study.models:  # a model that cannot load is found before any cell is rendered
        check_loadable(model)
    if study.train is not None:
        check_train_plan(study.train)
    level = load_preset(study.preset).level
    plan = []
    for cell in cells(study):
        cfg = cell_config(study, cell)
        spec = run_spec(RenderRequest(n=study.n, seed=study.seed, twins=study.twins), study.preset, level, cfg)
        preflight(spec)  # every cell can render (2D: feasible layouts; 3D: Blender found) before any renders
        plan.append((cell, spec, cache / _key(spec)))

    def cell_eval(model: str, folder: Path) -> EvalSpec:
        """A model x cell evaluation: the request the study's eval options make, as `spatialgen eval` runs it."""
        asked = study.model_dump(include={"split", "mode", "batch_size", "threads", "controls"})
        request = EvalRequest(model=model, data=[str(folder)], interventions=study.conditions, **asked)
        return eval_spec(request, [c.name for c in conds], "crop")

    trained = trained_folders(study.train, cache) if study.train else {}
    where = {m: m for m in study.models} | {k: str(f) for k, f in trained.items()}
    for model in study.model_names:  # nothing is written before every results folder is known to fit
        for cell, _, folder in plan:
            check_resumable(out / "evals" / cell_id(cell) / _slug(model), cell_eval(where[model], folder))
    from spatialgen.lock import folder_lock

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SpatialgenError(f"cannot write to {out}: {e.strerror or e}") from None
    with folder_lock(out):  # one study writes a report folder at a time
        old = out / "study.yaml"
        if old.exists() and old.read_text() != yaml.safe_dump(study.model_dump(), sort_keys=False):
            raise SpatialgenError(f"{out} holds the report of a different study; use another --out")
        try:
            old.write_text(yaml.safe_dump(study.model_dump(), sort_keys=False))
        except OSError as e:
            raise SpatialgenError(f"cannot write to {out}: {e.strerror or e}") from None
        if study.train is not None:
            train_models(study.train, cache, workers, on_status)
        steps, total = 0, len(plan) * (1 + len(study.model_names))
        for cell, spec, folder in plan:
            on_status(f"cell {cell_id(cell)}: rendering {spec.n} scenes into {folder}")
            render_run(folder, spec, workers, finish=write_card)  # a cell is a dataset like any render
            steps += 1
            on_step(steps, total)
        device = resolve_device("auto")  # where load_model puts each model
        for model in study.model_names:
            vlm = functools.cache(lambda m=where[model]: load_model(m))  # loaded once, by the first cell with work
            for cell, _, folder in plan:
                res_dir = out / "evals" / cell_id(cell) / _slug(model)
                examples = load_source(str(folder), split=study.split).examples
                what = f"cell {cell_id(cell)}: evaluating {model}"

                def started(pairs: int, done: int, what: str = what) -> None:
                    if done < pairs:
                        on_status(what)

                how = cell_eval(where[model], folder)
                with cpu_threads(study.threads, device):
                    evaluate_into(res_dir, how, examples, conds, vlm, study.batch_size, None, started)
                steps += 1
                on_step(steps, total)
        write_report(study, out)
    return out / "summary.md"


def cell_rows(study: Study, out: Path) -> list[dict[str, Any]]:
    """Accuracy, Wilson interval and twin consistency per model x cell x condition, from the predictions."""
    rows = []
    for model in study.model_names:
        for cell in cells(study):
            path = out / "evals" / cell_id(cell) / _slug(model) / "predictions.jsonl"
            preds = read_predictions(path)
            twins = {t["condition"]: t for t in twin_rows(preds)}
            for r in accuracy_rows(preds):
                if r["group"] != "all":
                    continue
                t = twins.get(r["condition"], {})
                rows.append(
                    {
                        "model": model,
                        **cell,
                        "condition": r["condition"],
                        "n": r["n"],
                        "correct": r["correct"],
                        "accuracy": r["accuracy"],
                        "ci_low": r["ci_low"],
                        "ci_high": r["ci_high"],
                        "twin_pairs": t.get("pairs", 0),
                        "twin_consistency": t.get("consistency", ""),
                        "twin_ci_low": t.get("ci_low", ""),
                        "twin_ci_high": t.get("ci_high", ""),
                    }
                )
    return rows


def write_report(study: Study, out: Path) -> None:
    """Write ``cells.csv``, the plots and ``summary.md`` (largest effects with McNemar tests) into ``out``."""
    rows = cell_rows(study, out)
    with open(out / "cells.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    knob = next(iter(study.knobs))
    others = [k for k in study.knobs if k != knob]
    _plots(study, rows, knob, others, out)
    effects = []
    for model in study.model_names:
        for cell in cells(study):
            preds = read_predictions(out / "evals" / cell_id(cell) / _slug(model) / "predictions.jsonl")
            for t in mcnemar_rows(preds):
                effects.append({"model": model, "cell": cell_id(cell), **t, "diff": t["acc_b"] - t["acc_a"]})
    effects.sort(key=lambda e: -abs(e["diff"]))
    lines = [
        f"# Study: {study.name}",
        "",
        f"Preset `{study.preset}`, {study.n} scenes per cell, seed {study.seed}, scoring {study.mode}; "
        f"knobs: {', '.join(f'{k} = {v}' for k, v in study.knobs.items())}; fixed: {study.fixed or 'nothing'}.",
        "",
        "## Accuracy per cell (95 % Wilson intervals)",
        "",
        "| model | " + " | ".join(study.knobs) + " | condition | n | accuracy | 95 % CI | twin consistency |",
        "|---|" + "---|" * len(study.knobs) + "---|---|---|---|---|",
    ]
    for r in rows:
        tc = f"{r['twin_consistency']:.3f} ({r['twin_pairs']} pairs)" if r["twin_pairs"] else "-"
        lines.append(
            f"| {r['model']} | "
            + " | ".join(str(r[k]) for k in study.knobs)
            + f" | {r['condition']} | {r['n']} | {r['accuracy']:.3f} | {r['ci_low']:.3f}-{r['ci_high']:.3f} "
            f"| {tc} |"
        )
    lines += [
        "",
        "## Largest effects between conditions (paired, exact McNemar, same questions)",
        "",
        "| model | cell | a | b | acc a | acc b | b - a | p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in effects[:10]:
        lines.append(
            f"| {e['model']} | {e['cell']} | {e['a']} | {e['b']} | {e['acc_a']:.3f} | {e['acc_b']:.3f} "
            f"| {e['diff']:+.3f} | {e['p_value']:.3g} |"
        )
    lines += ["", "## Largest effects of the knob (per condition, first vs last value)", ""]
    for model in study.model_names:
        for cond in dict.fromkeys(r["condition"] for r in rows):
            sel = [r for r in rows if r["model"] == model and r["condition"] == cond]
            if len(sel) >= 2:
                a, b = sel[0], sel[-1]
                lines.append(
                    f"- {model}, {cond}: {knob} {a[knob]} -> {b[knob]}: accuracy {a['accuracy']:.3f} -> "
                    f"{b['accuracy']:.3f} ({b['accuracy'] - a['accuracy']:+.3f}); intervals "
                    f"{a['ci_low']:.3f}-{a['ci_high']:.3f} vs {b['ci_low']:.3f}-{b['ci_high']:.3f}"
                )
    lines += ["", "Plots: " + ", ".join(sorted(p.name for p in out.glob("*.png"))), ""]
    (out / "summary.md").write_text("\n".join(lines))


def _plots(study: Study, rows: list[dict], knob: str, others: list[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["model"], *(r[k] for k in others)), []).append(r)
    for key, sel in groups.items():
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        xs_all = [str(v) for v in study.knobs[knob]]
        for cond in dict.fromkeys(r["condition"] for r in sel):
            pts = [r for r in sel if r["condition"] == cond]
            xs = [xs_all.index(str(r[knob])) for r in pts]
            style = "--" if cond in ("no-image", "description") else "-"
            a1.plot(xs, [r["accuracy"] for r in pts], style, marker="o", label=cond)
            a1.fill_between(xs, [r["ci_low"] for r in pts], [r["ci_high"] for r in pts], alpha=0.15)
            tw = [r for r in pts if r["twin_pairs"]]
            if tw:
                a2.plot(
                    [xs_all.index(str(r[knob])) for r in tw],
                    [r["twin_consistency"] for r in tw],
                    style,
                    marker="o",
                    label=cond,
                )
                a2.fill_between(
                    [xs_all.index(str(r[knob])) for r in tw],
                    [r["twin_ci_low"] for r in tw],
                    [r["twin_ci_high"] for r in tw],
                    alpha=0.15,
                )
        for ax, title in ((a1, "accuracy"), (a2, "twin consistency (both twins right)")):
            ax.set_xticks(range(len(xs_all)), xs_all)
            ax.set_xlabel(knob)
            ax.set_ylim(0, 1)
            ax.set_title(title, fontsize=10)
        a1.legend(fontsize=7)
        fig.suptitle(" ".join(str(k) for k in key), fontsize=9)
        fig.tight_layout()
        fig.savefig(out / f"{_slug('_'.join(str(k) for k in key))}_{knob}.png", dpi=110)
        plt.close(fig)
