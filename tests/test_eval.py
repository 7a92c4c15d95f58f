"""The eval module on the CPU with tiny-random: loaders, scoring, resume, reports, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image

from spatialgen.eval.report import accuracy_rows, mcnemar_rows, twin_rows
from spatialgen.eval.sources import load_source
from spatialgen.eval.stats import mcnemar_exact, wilson

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def vlm():
    from spatialgen.models.loading import load_model

    return load_model("tiny-random", dtype="float32", device="cpu")


def _placeholder(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), (200, 50, 50)).save(path)


def test_nlvr_loader_real_rows():
    res = load_source(f"nlvr:{FIX / 'nlvr/dev'}")
    rows = [json.loads(line) for line in (FIX / "nlvr/dev/dev.json").read_text().splitlines()[:3]]
    assert res.problems == {"malformed row": 1, "missing image": 1}
    assert len(res.examples) == 12  # six images for each of the two rows whose images are here
    ex = res.examples[0]
    assert ex.answer == rows[0]["label"] and ex.candidates == ["true", "false"]
    assert rows[0]["sentence"] in ex.question and Path(ex.images[0]).exists()


def test_nlvr2_loader_pairs_images(tmp_path):
    rows = [json.loads(line) for line in (FIX / "nlvr2/dev.json").read_text().splitlines()]
    for r in rows[:2]:
        stem = r["identifier"].rsplit("-", 1)[0]
        _placeholder(tmp_path / f"{stem}-img0.png")
        _placeholder(tmp_path / f"{stem}-img1.png")
    res = load_source(f"nlvr2:{FIX / 'nlvr2/dev.json'}", images=tmp_path)
    assert len(res.examples) == 2 and res.problems == {"missing image": 1}
    assert [e.answer for e in res.examples] == [r["label"].lower() for r in rows[:2]]
    assert all(len(e.images) == 2 for e in res.examples)


def test_vsr_loader(tmp_path):
    rows = [json.loads(line) for line in (FIX / "vsr/zeroshot_test.jsonl").read_text().splitlines()]
    for r in rows[:3]:
        _placeholder(tmp_path / r["image"])
    res = load_source(f"vsr:{FIX / 'vsr/zeroshot_test.jsonl'}", images=tmp_path, limit=10)
    assert len(res.examples) == 3 and res.problems == {"missing image": 1}
    assert [e.answer for e in res.examples] == ["true" if r["label"] else "false" for r in rows[:3]]
    assert res.examples[0].categories["relation"] == rows[0]["relation"]


def test_spartqa_loader_text_only():
    res = load_source(f"spartqa:{FIX / 'spartqa/human_test.json'}")
    story = json.loads((FIX / "spartqa/human_test.json").read_text())["data"][0]
    yn = next(q for q in story["questions"] if q["q_type"] == "YN")
    ex = next(e for e in res.examples if e.question == yn["question"])
    assert ex.answer == yn["answer"][0].lower() and ex.images == [] and ex.context.startswith(story["story"][0][:40])
    assert res.problems["several answers"] >= 1  # e.g. the FR question answered [2, 5]
    mc = [e for e in res.examples if e.answer_type == "multiple_choice"]
    assert mc and all(e.answer in e.candidates for e in mc)


def test_cvbench_and_whatsup_layouts(tmp_path):
    _placeholder(tmp_path / "img/a.png")
    (tmp_path / "cv.jsonl").write_text(
        json.dumps(
            {
                "idx": 0,
                "type": "2D",
                "task": "Relation",
                "filename": "img/a.png",
                "question": "Is A left?",
                "choices": ["left", "right"],
                "answer": "(B)",
            }
        )
        + "\n"
        + json.dumps({"idx": 1, "filename": "img/none.png", "question": "q", "choices": ["x", "y"], "answer": "(A)"})
        + "\n{broken\n"
    )
    res = load_source(f"cvbench:{tmp_path / 'cv.jsonl'}")
    assert [e.answer for e in res.examples] == ["B"] and res.problems == {"missing image": 1, "malformed row": 1}
    (tmp_path / "wu.json").write_text(
        json.dumps(
            [
                {
                    "image_path": "img/a.png",
                    "caption_options": [
                        "A mug on a table",
                        "A mug under a table",
                        "A mug left of a table",
                        "A mug right of a table",
                    ],
                }
            ]
        )
    )
    ex = load_source(f"whatsup:{tmp_path / 'wu.json'}").examples[0]
    assert ex.options[ex.candidates.index(ex.answer)] == "A mug on a table"


def test_generated_and_2ds_sources(rendered, tmp_path):
    from spatialgen.exports.twods import export_2ds

    gen = load_source(str(rendered))
    n_questions = sum(1 for _ in gen.examples)
    assert n_questions > 100 and not gen.problems
    assert all(e.answer in e.candidates for e in gen.examples)
    export_2ds(rendered, tmp_path / "2ds", split="test")  # the paper's layout: parquet, image bytes inside
    two = load_source(f"2ds:{tmp_path / '2ds'}")
    assert len(two.examples) == n_questions and all(e.answer in e.candidates for e in two.examples)
    assert all(isinstance(e.images[0], bytes) for e in two.examples)
    assert {e.categories["test_category"] for e in two.examples} == {"medium"}
    export_2ds(rendered, tmp_path / "2ds-json", split="test", fmt="json")
    js = load_source(f"2ds:{tmp_path / '2ds-json/data.json'}")
    assert [e.answer for e in js.examples] == [e.answer for e in two.examples]


def test_likelihood_scoring_matches_brute_force(vlm, rendered):
    from spatialgen.eval.conditions import Condition
    from spatialgen.eval.scoring import brute_force_scores, score_batch

    exs = load_source(str(rendered), limit=12).examples
    exs[0] = exs[0].model_copy(update={"candidates": ["purple circle", "yes", "no no", "11"], "answer": "yes"})
    for cond in (Condition(), Condition("description", use_image=False, use_context=True)):
        for ex, scores in zip(exs, score_batch(vlm, exs, cond), strict=True):
            brute = brute_force_scores(vlm, ex, cond)
            assert max(abs(a - b) for a, b in zip(scores, brute, strict=True)) < 1e-4
            assert max(range(len(scores)), key=scores.__getitem__) == max(range(len(brute)), key=brute.__getitem__)


def test_batched_generation_equals_reference_loop(vlm, rendered):
    from spatialgen.eval.conditions import Condition
    from spatialgen.eval.scoring import generate_batch, reference_generate

    exs = load_source(str(rendered), limit=10).examples
    assert generate_batch(vlm, exs, Condition(), 6) == [reference_generate(vlm, e, Condition(), 6) for e in exs]


def test_normalize_is_strict():
    from spatialgen.eval.scoring import normalize

    assert normalize(" Yes.", ["yes", "no"]) == "yes"
    assert normalize("(B) the red circle", list("ABCD")) == "B"
    assert normalize("Answer: C", list("ABCD")) == "C"
    assert normalize("a red circle", list("ABCD")) is None
    assert normalize("maybe yes", ["yes", "no"]) is None
    assert normalize("near to the box", ["near to", "far from"]) == "near to"


def test_wilson_and_mcnemar_known_values():
    lo, hi = wilson(8, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)
    assert wilson(0, 0) == (0.0, 1.0)
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0


def test_report_arithmetic():
    preds = [
        {
            "id": str(i),
            "source": "s",
            "condition": c,
            "correct": ok,
            "categories": {"family": "f"},
            "twin_id": f"t{i // 2}",
            "twin_role": "original" if i % 2 == 0 else "twin",
            "probe": True,
        }
        for c, oks in (("a", [1, 1, 0, 1]), ("b", [0, 1, 0, 0]))
        for i, ok in enumerate(oks)
    ]
    acc = {(r["condition"], r["group"]): r for r in accuracy_rows(preds)}
    assert acc[("a", "all")]["correct"] == 3 and acc[("a", "family")]["accuracy"] == 0.75
    tw = {r["condition"]: r for r in twin_rows(preds)}
    assert (tw["a"]["pairs"], tw["a"]["both_right"]) == (2, 1) and tw["b"]["both_right"] == 0
    (m,) = mcnemar_rows(preds)
    assert (m["only_a_right"], m["only_b_right"]) == (2, 0) and m["p_value"] == pytest.approx(0.5)


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "spatialgen", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def test_eval_cli_end_to_end_and_resume(rendered, tmp_path):
    args = [
        "eval",
        "--model",
        "tiny-random",
        "--data",
        str(rendered),
        "--limit",
        "40",
        "--controls",
        "--intervention",
        "norm:text-mean",
        "-q",
    ]
    r = cli(*args, "--out", str(tmp_path / "full"))
    assert r.returncode == 0, r.stderr
    full = (tmp_path / "full/predictions.jsonl").read_text().splitlines()
    assert len(full) == 40 * 4
    summary = (tmp_path / "full/summary.md").read_text()
    assert "likelihood" in summary and "Twin consistency" in summary and "McNemar" in summary
    # Interrupted: keep the first 70 lines and half of the 71st.
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "run.json").write_text((tmp_path / "full/run.json").read_text())
    (cut / "predictions.jsonl").write_text("\n".join(full[:70]) + "\n" + full[70][:30])
    r = cli(*args, "--out", str(cut))
    assert r.returncode == 0, r.stderr
    resumed = (cut / "predictions.jsonl").read_text().splitlines()
    assert len(resumed) == len(full) and sorted(resumed) == sorted(full)
    assert (cut / "summary.csv").read_text() == (tmp_path / "full/summary.csv").read_text()


def test_eval_scores_on_its_threads_and_records_them_with_the_batch_size(rendered, tmp_path, monkeypatch):
    """On the CPU a sum split across threads rounds by the split, and a prompt is padded to its batch's
    longest, so both move a score's last bits (measured on a trained tiny-init: README "Outputs"): they are
    part of run.json, a resume with another of either is refused, and the scoring runs on the asked count."""
    import torch

    import spatialgen
    from spatialgen.errors import SpatialgenError
    from spatialgen.eval import runner

    seen, real = [], runner.run

    def run(*a, **k):
        seen.append(torch.get_num_threads())
        return real(*a, **k)

    monkeypatch.setattr(runner, "run", run)
    before = torch.get_num_threads()
    n = 2 if before != 2 else 3
    args = dict(limit=6, device="cpu", batch_size=4)
    spatialgen.evaluate("tiny-random", [rendered], tmp_path / "o", threads=n, **args)
    assert seen == [n] and torch.get_num_threads() == before
    spec = json.loads((tmp_path / "o/run.json").read_text())
    assert spec["threads"] == n and spec["batch_size"] == 4
    for other in (dict(args, threads=1), dict(args, threads=n, batch_size=8)):
        with pytest.raises(SpatialgenError, match="holds a different evaluation"):
            spatialgen.evaluate("tiny-random", [rendered], tmp_path / "o", **other)
    spatialgen.evaluate("tiny-random", [rendered], tmp_path / "one", **args)  # default: one thread
    assert seen[-1] == 1 and json.loads((tmp_path / "one/run.json").read_text())["threads"] == 1


def test_eval_generate_mode(rendered, tmp_path):
    r = cli(
        "eval",
        "--model",
        "tiny-random",
        "--data",
        str(rendered),
        "--limit",
        "8",
        "--mode",
        "generate",
        "--out",
        str(tmp_path / "g"),
        "-q",
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in (tmp_path / "g/predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and all(x["raw"] is not None for x in rows)
    assert "greedy generation" in (tmp_path / "g/summary.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "nope:x.json"], "unknown source kind 'nope'"),
        (["--data", "vsr:/no/such.jsonl"], "does not exist"),
        (["--mode", "vote"], "--mode: Input should be 'likelihood' or 'generate'"),
        (["--intervention", "shuffle"], "unknown intervention 'shuffle'"),
        (["--intervention", "pool:x"], "bad argument 'x' for pool"),
        (["--dtype", "int3"], "--dtype: Input should be 'auto'"),
    ],
)
def test_eval_bad_input(rendered, tmp_path, args, message):
    base = {"--model": "tiny-random", "--data": str(rendered), "--out": str(tmp_path / "o")}
    for k in range(0, len(args), 2):
        base[args[k]] = args[k + 1]
    r = cli("eval", *[x for kv in base.items() for x in kv])
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_offline_model_not_cached(rendered, tmp_path):
    r = cli(
        "eval",
        "--model",
        "llava-hf/llava-1.5-7b-hf",
        "--data",
        str(rendered),
        "--out",
        str(tmp_path / "o"),
        env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty")},
    )
    assert r.returncode == 2 and "could not be loaded" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow  # several full eval runs (about 20 s)
def test_results_folder_of_another_run_is_refused(rendered, tmp_path):
    out = tmp_path / "o"
    assert (
        cli(
            "eval", "--model", "tiny-random", "--data", str(rendered), "--limit", "4", "--out", str(out), "-q"
        ).returncode
        == 0
    )
    before = (out / "predictions.jsonl").read_bytes()
    r = cli("eval", "--model", "tiny-random", "--data", str(rendered), "--limit", "5", "--out", str(out))
    assert r.returncode == 2 and "different evaluation" in r.stderr
    assert (out / "predictions.jsonl").read_bytes() == before
