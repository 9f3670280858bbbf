"""Answer metrics for `policyqa eval` (without --retrieval-only): key facts, refusals, citations.

- key_fact_accuracy: on answerable questions with `answer_must`, every phrase appears in the answer
  (NFKC, whitespace removed); a refused answer counts as wrong.
- refusal_accuracy: share of `answerable: false` questions that were refused.
- false_refusal_rate: share of answerable questions that were refused.
- generated_passed: share of the answers that went through generation whose check passed whole
  (Check status "passed"; the others: "dropped", "fallback", "declined").
- citation_precision: share of all citations (on answerable, non-refused questions with gold) whose
  clause contains a gold phrase; `citation_precision_macro` averages that share per question, so a
  long whole-list answer counts once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from eval.harness import Question, percentile
from policyqa.text import match_key
from policyqa.errors import PolicyQAError
from qa.answer import Answer

AskFn = Callable[[str], Answer]


@dataclass(frozen=True)
class AnswerRow:
    """One question's answer and how it scored."""

    question: Question
    answer: Answer | None
    key_facts_ok: bool | None
    cited_gold: int
    cited_total: int
    error: str = ""

    def to_json(self) -> dict:
        """Per-question row of the JSON report."""
        a = self.answer
        return {
            "id": self.question.id, "type": self.question.type, "question": self.question.question,
            "answerable": self.question.answerable, "answer": a.text if a else None, "refused": a.refused if a else None,
            "key_facts_ok": self.key_facts_ok, "citations": [c.clause.id for c in a.citations] if a else [],
            "cited_gold": self.cited_gold, "cited_total": self.cited_total, "generator": a.generator if a else None,
            "checked": a.checked.to_json() if a else None, "prompt_hash": a.prompt_hash if a else None,
            "timings_ms": a.timings_ms if a else {}, "error": self.error,
        }


def score_answer(q: Question, answer: Answer) -> AnswerRow:
    """Key facts and citation counts for one answer."""
    text = match_key(answer.text)
    facts = None
    if q.answerable and q.answer_must:
        facts = (not answer.refused) and all(match_key(p) in text for p in q.answer_must)
    gold = [match_key(g) for g in q.gold]
    cited_gold = sum(1 for c in answer.citations if any(g in match_key(c.clause.text) for g in gold)) if gold else 0
    return AnswerRow(q, answer, facts, cited_gold, len(answer.citations) if gold and not answer.refused else 0)


def evaluate_answers(questions: list[Question], ask: AskFn) -> list[AnswerRow]:
    """Ask every question; a PolicyQAError is recorded on its row."""
    rows = []
    for q in questions:
        try:
            rows.append(score_answer(q, ask(q.question)))
        except PolicyQAError as exc:
            rows.append(AnswerRow(q, None, False if q.answer_must else None, 0, 0, error=f"{type(exc).__name__}: {exc}"))
    return rows


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def answer_summary(rows: list[AnswerRow]) -> dict:
    """The answer metrics of a run (keys named as in the issue), rounded to 4 places."""
    answerable = [r for r in rows if r.question.answerable]
    unanswerable = [r for r in rows if not r.question.answerable]
    facts = [r.key_facts_ok for r in rows if r.key_facts_ok is not None]
    cited = [r for r in answerable if r.cited_total]
    first = [r.answer.timings_ms.get("first_token", 0.0) for r in rows if r.answer]
    total = [r.answer.timings_ms.get("total", 0.0) for r in rows if r.answer]
    generated = [r for r in rows if r.answer and r.answer.checked.status != "not_needed"]
    return {
        "key_fact_accuracy": _mean([float(x) for x in facts]),
        "refusal_accuracy": _mean([float(bool(r.answer and r.answer.refused)) for r in unanswerable]),
        "false_refusal_rate": _mean([float(bool(r.answer is None or r.answer.refused)) for r in answerable]),
        "citation_precision": round(sum(r.cited_gold for r in cited) / sum(r.cited_total for r in cited), 4) if cited else None,
        "citation_precision_macro": _mean([r.cited_gold / r.cited_total for r in cited]),
        "first_token_ms_p50": round(percentile(first, 50), 1) if first else None,
        "first_token_ms_p95": round(percentile(first, 95), 1) if first else None,
        "total_ms_p50": round(percentile(total, 50), 1) if total else None,
        "total_ms_p95": round(percentile(total, 95), 1) if total else None,
        "answer_errors": sum(1 for r in rows if r.error),
        "checked": {k: sum(1 for r in rows if r.answer and r.answer.checked.status == k)
                    for k in sorted({r.answer.checked.status for r in rows if r.answer})},
        "generated_passed": _mean([float(r.answer.checked.status == "passed") for r in generated]),
    }


def answers_markdown(summary: dict, rows: list[AnswerRow]) -> str:
    """Markdown section: answer metrics and the failures worth reading."""
    lines = ["## Answers", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary.items() if k != "checked"]
    lines += [f"| checked | {summary['checked']} |", "", "### Failures", ""]
    for r in rows:
        wrong_refusal = (not r.question.answerable) and not (r.answer and r.answer.refused)
        if r.key_facts_ok is False or wrong_refusal or r.error:
            answer = (r.answer.text if r.answer else r.error).replace("\n", " ")[:160]
            lines.append(f"- {r.question.id} ({r.question.type}) {r.question.question} → {answer} (must: {'、'.join(r.question.answer_must)})")
    return "\n".join(lines) + "\n"
