"""Requests: what a user asks a job for, declared once, with defaults, bounds and help.

A request is a pydantic model whose fields are the job's options. The CLI builds its options from the
fields (help and defaults read off the model: spatialgen/cli.py ``options_from``), the Python API takes the
same fields as keywords, and a study's YAML block is the same model, so ``spatialgen train --help``,
``spatialgen.api.train`` and a study's ``train:`` block cannot disagree. An error names the field in the
caller's own terms (``field_error``): a flag on the CLI, a key in a YAML file, a keyword in Python.
Every job is declared here: render, eval, train, diagnose, study, push, export-2ds, export, rejudge. What
stays outside a request is where a job reads and writes (its folders: the CLI's arguments, the API's positional
parameters) and how it reports progress (callbacks).

Defaults are the ones that work: ``spatialgen train`` with no option but its data and folder is the
README demo's recipe (tiny-init, pool:4, 9,000 steps of 32 examples at lr 1e-3 on two threads).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .eval.benchmarks import BENCHMARKS, WITH_IMAGES  # light: declarations and file readers, no torch
from .models.registry import TINY_INIT

MAX_WORKERS = 1024  # worker processes one run may start: past a cluster's cores, a typo
ARGUMENT = {"argument": True}  # json_schema_extra: the CLI takes this field as a positional argument

Caller = Literal["cli", "yaml", "python"]


def field_name(loc: tuple, caller: Caller, prefix: str = "") -> str:
    """A field's location as the caller wrote it: ``--batch-size``, ``train.batch_size``, ``batch_size=``."""
    parts = [str(x) for x in loc if not isinstance(x, int)]
    name = parts[0] if parts else ""
    if caller == "cli":
        return "--" + CLI_NAMES.get(name, name).replace("_", "-")
    if caller == "yaml":
        return ".".join(p for p in (prefix, *parts) if p)
    return f"{name}="


def field_error(e: ValidationError, caller: Caller, prefix: str = "") -> str:
    """A request's validation error as one line in the caller's terms (the first field that failed)."""
    err = e.errors()[0]
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"{field_name(err['loc'], caller, prefix)}: not an option of this job"
    got = err.get("input")
    shown = f", got {got!r}"[:80] if isinstance(got, str | int | float) and not isinstance(got, bool) else ""
    return f"{field_name(err['loc'], caller, prefix)}: {msg}{shown}"


# The CLI's singular for a repeatable option (``--intervention A --intervention B``).
CLI_NAMES = {"interventions": "intervention", "models": "model"}


class Request(BaseModel):
    """A job's options: unknown ones refused, NaN and infinity refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class RenderRequest(Request):
    """``spatialgen render``: how many scenes, from which preset, rendered how. None: the preset's own."""

    n: int = Field(1000, ge=1, le=10**9, description="Number of scenes.")
    seed: int = Field(0, ge=0, lt=2**63, description="Run seed: scene i is a pure function of (seed, i, config).")
    preset: str | None = Field(None, description="Named preset [default: medium, or 3d with --backend 3d].")
    config: Path | None = Field(None, description="YAML/JSON file of config fields laid over the preset.")
    workers: int | None = Field(
        None, ge=1, le=MAX_WORKERS, description="Worker processes [default: all cores; 3D: one per 4 cores]."
    )
    image_size: int | None = Field(None, ge=32, le=4096, description="Render the preset at this size; px knobs scale.")
    twins: bool = Field(False, description="Add a minimal-pair twin image per scene.")
    format: Literal["png", "jpeg"] = Field("png", description="png or jpeg.")
    jpeg_quality: int = Field(90, ge=1, le=100, description="JPEG quality (with --format jpeg).")
    backend: str | None = Field(None, description="2d (Pillow) or 3d (Blender) [default: the preset's].")
    engine: Literal["cycles", "eevee", "workbench"] | None = Field(None, description="3D: cycles, eevee or workbench.")
    samples: int | None = Field(None, ge=1, le=65_536, description="3D: render samples.")
    device: Literal["cpu", "gpu"] | None = Field(None, description="3D: cpu or gpu (CUDA/OptiX found automatically).")
    depth: bool = Field(False, description="3D: also store a depth map per image.")
    denoise: bool | None = Field(
        None, description="3D, Cycles: denoise (on in the presets; off gives byte-identical re-renders)."
    )
    executor: Literal["local", "ray"] = Field("local", description="local (process pool) or ray.")
    ray_address: str | None = Field(None, description="Ray cluster address [default: start a local one].")

    def render3d(self) -> dict:
        """The 3D render options given (engine, samples, device, denoise, depth), for the config's ``render``."""
        opts = {"engine": self.engine, "samples": self.samples, "device": self.device, "denoise": self.denoise}
        return {k: v for k, v in {**opts, "depth": self.depth or None}.items() if v is not None}


MODEL_HELP = "Hub id, local path, tiny-random or random:ARCH."
DATA_HELP = f"A render folder, a Hub id, or KIND:PATH (KIND: {', '.join(BENCHMARKS)})"


class ModelRequest(Request):
    """What eval and diagnose share: the model, how it is loaded and prompted, and the data asked."""

    model: str = Field(description=MODEL_HELP)
    split: str = Field("test", description="Split of a generated dataset: train, validation or test.")
    batch_size: int = Field(8, ge=1, le=65_536, description="Examples per forward pass.")
    dtype: Literal["auto", "float32", "fp32", "bfloat16", "bf16", "float16", "fp16"] = Field(
        "auto", description="auto (bf16 on GPU, fp32 on CPU), float32, bfloat16, float16."
    )
    device: str = Field("auto", description="auto (GPU when present), cpu, cuda, cuda:N.")
    image_mode: Literal["pad", "crop"] | None = Field(
        None,
        description="pad (the paper: expand to square) or crop (the processor's center crop) "
        "[default: a converted paper checkpoint's own (pad), else crop].",
    )
    prompt: Literal["default", "paper"] = Field(
        "default", description="default (the model's chat template) or paper (LLaVA v1 conversation, raw question)."
    )
    images: Path | None = Field(None, description=f"Image folder for {', '.join(WITH_IMAGES)}.")
    max_new_tokens: int = Field(8, ge=1, le=65_536, description="Generation length in generate mode.")
    threads: int = Field(
        1,
        ge=1,
        le=1024,
        description="CPU threads while scoring on the CPU. Recorded in run.json: other counts round the scores' "
        "last bits differently; 1 gives the same bytes whatever the core count.",
    )


class EvalRequest(ModelRequest):
    """``spatialgen eval``: a model scored on generated splits and public benchmarks, per condition."""

    data: list[str] = Field(min_length=1, description=DATA_HELP + " (repeatable).")
    limit: int | None = Field(None, ge=1, description="First N examples of each source.")
    mode: Literal["likelihood", "generate"] = Field(
        "likelihood", description="likelihood (score candidates) or generate (decode a reply, --decode)."
    )
    decode: Literal["greedy", "sample"] = Field(
        "greedy",
        description="generate mode: greedy, or sample as the paper does (--temperature; seeded by --seed, the "
        "condition and the batch, so a run is reproducible).",
    )
    temperature: float = Field(0.2, gt=0, le=10, description="sample: the sampling temperature (the paper's 0.2).")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="sample: the seed every batch's draw is derived from.")
    judge: Literal["none", "rule", "llm"] = Field(
        "none",
        description="generate mode: also judge every reply, beside the judge-free score: rule (the paper's simple "
        "graders) or llm (--judge-url, --judge-model).",
    )
    judge_url: str | None = Field(
        None, description="llm judge: an OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (a local server)."
    )
    judge_model: str | None = Field(None, description="llm judge: the model name the endpoint serves.")
    judge_temperature: float = Field(
        0.0, ge=0, le=2, description="llm judge: its temperature (0: re-judging gives the same decisions; paper: 0.2)."
    )
    controls: bool = Field(
        False, description="Add text-only controls: no image; scene description instead of the image."
    )
    interventions: list[str] = Field(
        [],
        description="NAME[:ARGS], one condition each (repeatable): norm:text-mean|value=X|paper, layers:L[,L...], "
        "permute[:SEED], pool:K; '+' combines. norm:paper on a vanilla model is an untrained ablation: with "
        "gain 1 it equals norm:value=1.0126.",
    )


DIAGNOSTICS = ("norms", "hidden-norms", "balance", "rope", "position", "balance-lastq", "rope-shift")


class DiagnoseRequest(ModelRequest):
    """``spatialgen diagnose KIND``: how a model treats its vision tokens, written as KIND.csv and KIND.png."""

    kind: Literal[DIAGNOSTICS] = Field(
        description="The paper's norms, hidden-norms, balance, rope; ours: position, balance-lastq, rope-shift.",
        json_schema_extra=ARGUMENT,
    )
    data: str = Field(description=DATA_HELP + ".")
    limit: int = Field(100, ge=1, description="Examples read (the paper's measures use their distinct images).")
    batch_size: int = Field(4, ge=1, le=65_536, description="Examples per forward pass.")
    seeds: int = Field(3, ge=1, le=10_000, description="position: permutations per question.")
    max_new_tokens: int = Field(32, ge=1, le=65_536, description="balance: caption length in tokens.")
    upscale: float | None = Field(
        None, gt=0, le=16, description="Resize each image by this factor first (Lanczos; the paper's norms: 3)."
    )
    strip_system_prompt: bool = Field(
        False, description="With --prompt paper: LLaVA v1's system prompt removed, as the paper's COCO diagnostics."
    )


class StudyRequest(Request):
    """``spatialgen study FILE``: what overrides the study file, and where its cells are cached."""

    n: int | None = Field(None, ge=1, le=10**9, description="Scenes per cell (overrides the file).")
    models: list[str] | None = Field(None, description="Model(s) (override the file).")
    cache: Path | None = Field(None, description="Cell cache [default: ~/.cache/spatialgen/cells].")
    workers: int | None = Field(None, ge=1, le=MAX_WORKERS, description="Render workers [default: all cores].")


LICENSE = r"[a-z0-9][a-z0-9.+-]{1,63}"


class PushRequest(Request):
    """``spatialgen push FOLDER``: which Hub repo, and how."""

    repo_id: str = Field(description="USER/NAME of the Hub dataset repo.")
    private: bool = Field(False, description="Make the repo private (a public one is switched to private).")
    revision: str | None = Field(None, description="Branch to push to (created if missing).")
    dry_run: bool = Field(False, description="List what would be uploaded; send nothing.")
    delete_missing: bool = Field(False, description="Delete remote files the folder does not have.")
    license: str | None = Field(
        None,
        pattern=LICENSE,
        description="Rewrite the card with this SPDX license id first (e.g. cc-by-4.0, mit, cc0-1.0).",
    )


class ExportRequest(Request):
    """``spatialgen export-2ds FOLDER --dest DEST``: the paper's 2DS schema."""

    split: Literal["train", "validation", "test"] | None = Field(None, description="Only this split.")
    format: Literal["parquet", "json"] = Field(
        "parquet", description="parquet (the paper's 2DS layout, image bytes inside) or json."
    )


class ToolExportRequest(Request):
    """``spatialgen export FOLDER DEST --format F``: a rendered folder in a format other tools read."""

    format: Literal["clevr", "vlmevalkit", "lmms-eval"] = Field(
        description="clevr (CLEVR's scenes, questions with programs, metadata, images), vlmevalkit (a "
        "multiple-choice TSV per split) or lmms-eval (a task YAML and its utils.py)."
    )
    split: Literal["train", "validation", "test"] | None = Field(
        None, description="Only this split [default: every split; lmms-eval: test]."
    )
    name: str = Field(
        "spatialgen",
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$",
        description="The dataset's name in VLMEvalKit (NAME_SPLIT.tsv) or the lmms-eval task's.",
    )
    dataset: str | None = Field(
        None,
        description="lmms-eval: the dataset the task loads, a Hub repo id (spatialgen push's) or a folder "
        "[default: FOLDER itself].",
    )


class RejudgeRequest(Request):
    """``spatialgen rejudge --out RESULTS``: an evaluation's stored replies judged again."""

    judge_url: str | None = Field(None, description="An LLM judge's OpenAI-compatible base URL, where it runs now.")


class TrainRequest(Request):
    """``spatialgen train``: what to train and how. None means "the model's own default", said per field."""

    model: str = Field(
        TINY_INIT, description=f"{TINY_INIT} (a small LLaVA from scratch), a llava-hf folder, or random:ARCH (timing)."
    )
    recipe: Literal["full", "projector", "lora"] = Field(
        "full", description="full, projector (LLaVA stage 1) or lora (peft on the LLM)."
    )
    interventions: list[str] | None = Field(
        None,
        description="Built into the model: norm:paper, layers:L1,L2,..., pool:K (repeatable) "
        "[default: pool:4 for tiny-init, none otherwise].",
    )
    steps: int = Field(9000, ge=1, le=10**8, description="Optimizer steps (the length of the cosine schedule).")
    batch_size: int = Field(32, ge=1, le=65_536, description="Examples per step.")
    lr: float = Field(1e-3, gt=0, le=10, description="Peak learning rate (warm-up, then cosine decay).")
    seed: int = Field(0, ge=0, lt=2**63, description="Initialization and example order.")
    save_every: int = Field(50, ge=1, le=10**8, description="Checkpoint every N steps (resume point after a kill).")
    device: str = Field("auto", description="cpu, cuda or cuda:N (auto: GPU when present).")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="auto (bf16 autocast on a GPU, float32 on the CPU), fp32 or bf16."
    )
    captions: bool | None = Field(
        None, description="Also train on grounding captions of each scene [default: on for tiny-init only]."
    )
    restate: bool | None = Field(
        None,
        description="Also ask each left/right-style yes/no question in one wording, answer flipped where the "
        "inverse was used [default: on for tiny-init only].",
    )
    captions_per_scene: int = Field(
        12, ge=1, le=1000, description="Grounding captions of each training scene, each in its own object order."
    )
    tower_steps: int | None = Field(
        None,
        ge=0,
        le=10**8,
        description="First train the vision tower alone to name each patch, then hold it fixed "
        "[default: 400 for tiny-init, 0 otherwise].",
    )
    threads: int = Field(
        2,
        ge=1,
        le=1024,
        description="CPU threads while training on the CPU. Part of the training: other counts round sums "
        "differently and end at other weights; a count gives the same weights whatever the core count.",
    )
    loss_average: Literal["token", "example"] | None = Field(
        None,
        description="token (the mean over the batch's answer tokens, LLaVA's) or example (each example's mean "
        "first, so short answers count as much as long captions) [default: example for tiny-init, token otherwise].",
    )


def default(request: type[BaseModel], name: str):  # noqa: ANN201 - the field's own type
    """A request field's declared default, for the internal records that store it (training/train.TrainSpec)."""
    return request.model_fields[name].default
