"""Requests are declared once (spatialgen/requests.py): the CLI, the Python API and a study's YAML read the
same fields, so their defaults cannot disagree, and the defaults are the README demo's recipe."""

from __future__ import annotations

import inspect
import re

import pytest
import typer

from spatialgen.cli import app
from spatialgen.requests import TrainRequest


def _cli_params(name: str) -> dict:
    cmd = typer.main.get_command(app).commands[name]
    return {p.name: p for p in cmd.params}


def test_train_help_api_and_study_show_the_same_defaults():
    from spatialgen.studies.study import TrainPlan

    cli = _cli_params("train")
    for name, field in TrainRequest.model_fields.items():
        assert cli[name].default == field.default, name
        assert cli[name].help == field.description, name
        assert TrainPlan.model_fields[name].default == field.default, name
    # The API takes the request (or its fields) and retypes none of them.
    sig = inspect.signature(__import__("spatialgen.api", fromlist=["train"]).train)
    assert not set(sig.parameters) & set(TrainRequest.model_fields)


def test_the_defaults_are_the_readme_demo(rendered):
    """`spatialgen train --data D --out M` with no other option trains exactly what the README demo's flags
    train: the same spec, so (training being byte-deterministic for a spec) the same weights."""
    from spatialgen.training.train import train_spec

    readme = (__import__("pathlib").Path(__file__).parents[1] / "README.md").read_text()
    assert "spatialgen train --data data/easy-lr --out models/tiny\n" in readme, "README's demo grew options"
    spelled = re.search(r"\(`(--intervention pool:4 [^`]+)`\) give the same spec", readme)
    assert spelled, "README no longer spells the demo's options out"
    flags = spelled.group(1).split()
    fields = {}
    while flags:
        flag, value = flags.pop(0), flags.pop(0)
        name = flag[2:].replace("-", "_")
        name = "interventions" if name == "intervention" else name
        fields[name] = [value] if name == "interventions" else value
    assert train_spec(TrainRequest.model_validate(fields), rendered) == train_spec(TrainRequest(), rendered)
    spec = train_spec(TrainRequest(), rendered)
    assert (spec.steps, spec.batch_size, spec.lr, spec.threads, spec.interventions) == (9000, 32, 1e-3, 2, ["pool:4"])
    assert (spec.tower_steps, spec.loss_average, spec.captions, spec.restate) == (400, "example", True, True)


@pytest.mark.parametrize(
    ("caller", "kwargs", "expected"),
    [
        ("python", {"steps": 0}, "steps=: Input should be greater than or equal to 1"),
        ("python", {"batchsize": 3}, "batchsize=: not an option of this job"),
        ("python", {"recipe": "half"}, "recipe=: Input should be 'full', 'projector' or 'lora'"),
    ],
)
def test_an_api_error_names_the_keyword(rendered, tmp_path, caller, kwargs, expected):
    from spatialgen import api
    from spatialgen.errors import SpatialgenError

    with pytest.raises(SpatialgenError) as e:
        api.train(rendered, tmp_path / "m", **kwargs)
    assert str(e.value).startswith(expected) and not (tmp_path / "m").exists()


def test_an_empty_split_names_the_splits_there_are(tmp_path, capsys):
    from spatialgen.cli import main

    assert main(["render", "--n", "3", "--out", str(tmp_path / "ds"), "-q"]) == 0
    capsys.readouterr()
    rc = main(["eval", "--model", "tiny-random", "--data", str(tmp_path / "ds"), "--split", "validation",
               "--out", str(tmp_path / "r")])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "split 'validation' has no rows; its splits: train (3 rows)" in err, err
    assert not (tmp_path / "r").exists()
