"""The paper's protocol as an option: sampled replies (--decode sample) judged by rule or by an LLM behind an
OpenAI-compatible endpoint, every decision stored and re-judged from predictions.jsonl alone.

Facts and where they come from:
- The paper's harness samples at temperature 0.2 with one beam (evaluation/conf/config.yaml llava_config)
  and grades with evaluation/grader/*: POPE's rule (a reply is "no" if its first sentence has No/no/not),
  MMVP's option letter (the first standalone letter after "answer is"), GQA's exact match after
  strip().lower().rstrip("."); its LLM grader sends the system message "You are a helpful and precise
  assistant for checking the quality of the answer. Please answer with exactly 'yes' or 'no' only." and the
  prompt "Given the question: '...'\\nThe correct answer is: '...'.\\nThe model responded: '...'.\\nDoes the
  model's response correctly answer the question? Please respond with only 'yes' or 'no'.", and reads the
  first yes/no word of the reply.
- OpenAI's Chat Completions API (what vLLM, llama.cpp's server and Ollama's /v1 serve): POST
  {base}/chat/completions with {"model", "messages": [{"role", "content"}], "temperature"}; the reply is
  {"id", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant",
  "content": ...}, "finish_reason": "stop"}]}.
"""

from __future__ import annotations

import json
import threading
import typing
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image

import spatialgen
from spatialgen.errors import SpatialgenError
from spatialgen.eval.judges import JUDGE_SYSTEM, Judge, rule_answer


def test_rule_reads_each_answer_type():
    assert rule_answer("yes_no", "No, there is none.", ["yes", "no"]) == "no"
    assert rule_answer("yes_no", "I see one.", ["yes", "no"]) == "yes"
    assert rule_answer("multiple_choice", "The answer is (B).", ["A", "B"]) == "B"
    assert rule_answer("multiple_choice", "b", ["A", "B"]) == "B"
    assert rule_answer("multiple_choice", "Neither", ["A", "B"]) is None
    assert rule_answer("true_false", "That is False.", ["true", "false"]) == "false"
    assert rule_answer("number", "There are 03 cubes", ["0", "1", "2", "3"]) == "3"
    assert rule_answer("number", "many", ["0", "1"]) is None
    assert rule_answer("open", " Brown. ", ["brown"]) == "brown"
    j = Judge("rule")
    assert j("Q?", "B", "multiple_choice", ["A", "B"], "answer: B")["correct"] is True
    assert j("Q?", "yes", "yes_no", ["yes", "no"], "No, not at all.")["correct"] is False
    # POPE's rule looks for "No", "no" and "not" only: a capital "Not" reads as yes, as in POPE itself
    assert j("Q?", "yes", "yes_no", ["yes", "no"], "Not at all.")["correct"] is True


class _Endpoint(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint on the loopback: says "Yes." when the model's reply (quoted in the
    paper's prompt) contains the correct answer, else "no"; keeps every request it served."""

    seen: typing.ClassVar[list[dict]] = []

    def do_POST(self):  # http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, **body})
        prompt = body["messages"][1]["content"]
        answer = prompt.split("The correct answer is: '")[1].split("'.")[0]
        reply = prompt.split("The model responded: '")[1].split("'.\n")[0]
        said = "Yes." if answer.lower() in reply.lower() else "no"
        out = {
            "id": "x",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": said}, "finish_reason": "stop"}],
        }
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


@pytest.fixture()
def endpoint():
    _Endpoint.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture()
def pope(tmp_path) -> Path:
    lines = []
    for k in range(6):
        img = f"COCO_val2014_{k:012d}.jpg"
        (tmp_path / "val2014").mkdir(exist_ok=True)
        Image.new("RGB", (40, 30), (30 * k, 90, 160)).save(tmp_path / "val2014" / img, "JPEG")
        label = "yes" if k % 2 else "no"
        lines.append(json.dumps({"question_id": k, "image": img, "text": f"Is there a cat {k}?", "label": label}))
    (tmp_path / "coco_pope_random.json").write_text("\n".join(lines) + "\n")
    return tmp_path / "coco_pope_random.json"


def _eval(pope, out, **kw):
    return spatialgen.evaluate(
        "tiny-random", [f"pope:{pope}"], out, images=pope.parent / "val2014", mode="generate", max_new_tokens=6, **kw
    )


def _preds(out) -> list[dict]:
    return [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]


def test_sampled_and_rule_judged_run_is_reproducible_and_rejudged(pope, tmp_path):
    summary = _eval(pope, tmp_path / "a", decode="sample", judge="rule", seed=3)
    _eval(pope, tmp_path / "b", decode="sample", judge="rule", seed=3)
    assert (tmp_path / "a/predictions.jsonl").read_bytes() == (tmp_path / "b/predictions.jsonl").read_bytes()
    _eval(pope, tmp_path / "c", decode="sample", judge="rule", seed=4)
    raws = lambda o: [p["raw"] for p in _preds(o)]  # noqa: E731
    assert raws(tmp_path / "a") != raws(tmp_path / "c")  # the seed matters: it samples
    spec = json.loads((tmp_path / "a/run.json").read_text())
    assert (spec["decode"], spec["temperature"], spec["seed"], spec["judge"]) == ("sample", 0.2, 3, "rule")
    for p in _preds(tmp_path / "a"):
        assert p["judge"]["method"] == "rule" and p["judge"]["read"] in ("yes", "no")  # POPE's rule reads any reply
        assert p["judged_correct"] == (p["judge"]["read"] == p["answer"])
    assert "sampled at temperature 0.2 (seed 3)" in summary and "## Judged replies" in summary
    text = spatialgen.rejudge(tmp_path / "a")
    assert "0 decisions changed" in text
    stored, again = text.split("## Stored")[1].split("## Again")
    assert stored.strip() == again.strip()


def test_llm_judge_through_a_loopback_endpoint(pope, tmp_path, endpoint):
    _eval(pope, tmp_path / "o", judge="llm", judge_url=endpoint, judge_model="judge-1")
    preds = _preds(tmp_path / "o")
    assert len(_Endpoint.seen) == len(preds) == 6
    sent = _Endpoint.seen[0]
    assert sent["path"] == "/v1/chat/completions" and sent["model"] == "judge-1" and sent["temperature"] == 0.0
    assert sent["messages"][0] == {"role": "system", "content": JUDGE_SYSTEM}
    for p in preds:
        j = p["judge"]
        assert (j["method"], j["model"], j["temperature"]) == ("llm", "judge-1", 0.0)
        assert j["prompt"].startswith("Given the question: 'Is there a cat") and f"'{p['raw']}'" in j["prompt"]
        assert j["reply"] in ("Yes.", "no") and p["judged_correct"] == (j["reply"] == "Yes.")
    # re-judged from predictions.jsonl alone, against the endpoint where it runs now: the same numbers
    assert "0 decisions changed" in spatialgen.rejudge(tmp_path / "o", endpoint)
    assert len(_Endpoint.seen) == 12
    with pytest.raises(SpatialgenError, match=r"give --judge-url|judge_url"):
        spatialgen.rejudge(tmp_path / "o")


def test_bad_decoding_requests_are_one_line(pope, tmp_path):
    with pytest.raises(SpatialgenError, match=r"decode= sample acts on decoded replies: add mode= generate"):
        spatialgen.evaluate("tiny-random", [f"pope:{pope}"], tmp_path / "x", images=pope.parent / "val2014",
                            decode="sample")  # fmt: skip
    with pytest.raises(SpatialgenError, match=r"judge= llm needs judge_url= and judge_model="):
        _eval(pope, tmp_path / "y", judge="llm")
    with pytest.raises(SpatialgenError, match="did not answer"):
        _eval(pope, tmp_path / "z", judge="llm", judge_url="http://127.0.0.1:9/v1", judge_model="m")
    with pytest.raises(SpatialgenError, match="judged nothing"):
        _eval(pope, tmp_path / "g")
        spatialgen.rejudge(tmp_path / "g")
