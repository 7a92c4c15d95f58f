"""Answer judges for free-form replies, as the paper's harness grades its sampled answers (evaluation/grader/).

Beside spatialgen's judge-free scoring, ``eval --mode generate --judge rule|llm`` records a judge's decision
on every reply. ``rule`` reads the reply as the paper's "simple" graders do, per answer type; ``llm`` asks a
model behind any OpenAI-compatible endpoint (a local server is the expected way: vLLM, llama.cpp, Ollama's
/v1) with the paper's grading prompt. Each decision is stored with everything that made it (the judge, its
model and temperature, the prompt, the judge's own reply), so ``rejudge`` can recompute every number from
``predictions.jsonl`` alone.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from spatialgen.errors import SpatialgenError

from .example import open_answer

# The paper's LLM grader (evaluation/grader/grader_gqa.py, grader_mmvp.py): its system message and prompt.
JUDGE_SYSTEM = (
    "You are a helpful and precise assistant for checking the quality of the answer. "
    "Please answer with exactly 'yes' or 'no' only."
)
JUDGE_PROMPT = (
    "Given the question: '{question}'\nThe correct answer is: '{answer}'.\nThe model responded: '{reply}'.\n"
    "Does the model's response correctly answer the question? Please respond with only 'yes' or 'no'."
)
TIMEOUT_S = 120.0
_YES_NO = re.compile(r"\b(yes|no)\b", re.I)
_LETTER = re.compile(r"\b([A-Ja-j])\b")
_NUMBER = re.compile(r"-?\d+")
_TRUE_FALSE = re.compile(r"\b(true|false)\b", re.I)


def _after_keyword(text: str) -> str:
    """The part after "answer is" / "answer:" (the paper's grader_mmvp.py extract_mcq_answer)."""
    low = text.lower().strip()
    for key in ("answer is", "answer is:", "answer:"):
        if key in low:
            low = low.split(key)[-1]
    return low.strip().rstrip(".:,").lstrip("(").rstrip(")")


def rule_answer(answer_type: str, reply: str, candidates: list[str]) -> str | None:
    """What a reply answers, read by rule: yes/no as POPE reads it, an option letter as the paper's MMVP
    grader finds it (first standalone letter after "answer is"), the first true/false or number word, an open
    answer normalized as GQA compares it; None when the reply names none of the candidates."""
    from .benchmarks.pope import reply_answer

    if answer_type == "yes_no":
        return reply_answer(reply)
    if answer_type == "open":
        return open_answer(reply)
    if answer_type == "multiple_choice":
        m = _LETTER.search(_after_keyword(reply))
        said = m.group(1).upper() if m else None
    elif answer_type == "true_false":
        m = _TRUE_FALSE.search(reply)
        said = m.group(1).lower() if m else None
    elif answer_type == "number":
        m = _NUMBER.search(reply)
        said = str(int(m.group(0))) if m else None
    else:
        words = reply.strip().lower().split()
        said = words[0].strip(".,;:!?") if words else None
    if said is None:
        return None
    return next((c for c in candidates if c.lower() == said.lower()), None)


@dataclass(frozen=True)
class Judge:
    """``rule``, or ``llm`` at ``url`` (an OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1) with
    ``model`` at ``temperature`` (0 by default, so re-judging gives the same decisions; the paper's is 0.2)."""

    method: str
    url: str | None = None
    model: str | None = None
    temperature: float = 0.0

    def __call__(self, question: str, answer: str, answer_type: str, candidates: list[str], reply: str) -> dict:
        """The judge's record for one reply: its decision (``correct``) and what it was made from."""
        rec: dict[str, Any] = {"method": self.method, "question": question, "answer_type": answer_type}
        rec["candidates"] = candidates
        if self.method == "rule":
            said = rule_answer(answer_type, reply, candidates)
            return {**rec, "read": said, "correct": said is not None and said.lower() == answer.lower()}
        prompt = JUDGE_PROMPT.format(question=question, answer=answer, reply=reply)
        said = self.ask(prompt)
        m = _YES_NO.search(said)
        decision = m.group(1).lower() if m else None
        rec |= {"model": self.model, "temperature": self.temperature, "prompt": prompt, "reply": said}
        return {**rec, "read": decision, "correct": decision == "yes"}

    def ask(self, prompt: str) -> str:
        """One chat completion from the endpoint (``POST {url}/chat/completions``); failures are one line."""
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": prompt}],
            "temperature": self.temperature,
        }
        req = urllib.request.Request(
            f"{(self.url or '').rstrip('/')}/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r:
                data = json.loads(r.read(1 << 20))
            return str(data["choices"][0]["message"]["content"])
        except urllib.error.HTTPError as e:
            raise SpatialgenError(f"the judge at {self.url} answered HTTP {e.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise SpatialgenError(f"the judge at {self.url} did not answer ({reason})") from None
        except (ValueError, KeyError, IndexError, TypeError):
            raise SpatialgenError(f"the judge at {self.url} did not answer as an OpenAI chat endpoint") from None


def judge_of(spec: Any, url: str | None = None) -> Judge | None:
    """The judge an evaluation spec names (``url``: where its LLM judge runs now), or None."""
    if spec.judge == "none":
        return None
    return Judge(spec.judge, url, spec.judge_model, spec.judge_temperature)


def rejudge(records: list[dict[str, Any]], judge: Judge) -> tuple[list[dict[str, Any]], int]:
    """Every judged record judged again from what it stores (the question, answer, answer type, candidates and
    the model's raw reply); returns the new records and how many decisions changed."""
    out, changed = [], 0
    for r in records:
        if "judge" not in r:
            out.append(r)
            continue
        j = r["judge"]
        new = judge(j["question"], r["answer"], j["answer_type"], j["candidates"], r["raw"] or "")
        changed += new["correct"] != r["judged_correct"]
        out.append({**r, "judge": new, "judged_correct": new["correct"]})
    return out, changed
