"""Requests: what a user asks a job for, declared once, with defaults, bounds and help.

A request is a pydantic model whose fields are the job's options. The CLI builds its options from the
fields (help and defaults read off the model: spatialgen/cli.py ``options_from``), the Python API takes the
same fields as keywords, and a study's YAML block is the same model, so ``spatialgen train --help``,
``spatialgen.api.train`` and a study's ``train:`` block cannot disagree. An error names the field in the
caller's own terms (``field_error``): a flag on the CLI, a key in a YAML file, a keyword in Python.
``train`` is declared here today; the other jobs' options still live in cli.py and api.py (DESIGN.md).

Defaults are the ones that work: ``spatialgen train`` with no option but its data and folder is the
README demo's recipe (tiny-init, pool:4, 6,000 steps of 32 examples at lr 1e-3 on two threads).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
CLI_NAMES = {"interventions": "intervention"}


class TrainRequest(BaseModel):
    """``spatialgen train``: what to train and how. None means "the model's own default", said per field."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    model: str = Field(
        "tiny-init", description="tiny-init (a small LLaVA from scratch), a llava-hf folder, or random:ARCH (timing)."
    )
    recipe: Literal["full", "projector", "lora"] = Field(
        "full", description="full, projector (LLaVA stage 1) or lora (peft on the LLM)."
    )
    interventions: list[str] | None = Field(
        None,
        description="Built into the model: norm:paper, layers:L1,L2,..., pool:K (repeatable) "
        "[default: pool:4 for tiny-init, none otherwise].",
    )
    steps: int = Field(6000, ge=1, le=10**8, description="Optimizer steps.")
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
