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
- pass_rate: the field rule (../shared/field/README.md). An answerable question passes when it is not
  refused, its answer contains every `answer_must` phrase and, for every gold phrase (one of them with
  any_of), some cited clause contains it: the answer cites the clause that states it. Without gold the
  last test is not made (a sheet may give only answer points). An unanswerable question passes when it
  is refused. Each failed question keeps the reasons it failed, with its answer and citations.
- yes_no_first_word: on questions that ask a yes or a no (qa/intent.py) and carry the word their gold
  clause settles (`"yes_no": "可以"`), the share whose answer opens with that word (the text before
  the first punctuation mark); a refusal counts as wrong.
"""

from __future__ import annotations

from collections import Counter
import re
from dataclasses import dataclass
from typing import Callable

from eval.harness import Question, percentile
from policyqa.text import match_key
from policyqa.errors import PolicyQAError
from qa.answer import Answer
from qa.intent import asks_yes_no

AskFn = Callable[[Question], Answer]


@dataclass(frozen=True)
class AnswerRow:
    """One question's answer and how it scored."""

    question: Question
    answer: Answer | None
    key_facts_ok: bool | None
    cited_gold: int
    cited_total: int
    error: str = ""
    reasons: tuple[str, ...] = ()  # why it fails the field rule; empty when it passes
    yes_no_ok: bool | None = None  # the answer opens with the question's `yes_no` word (None: not a yes/no question)

    @property
    def passed(self) -> bool:
        """Whether the question passes the field rule (see the module docstring)."""
        return not self.reasons

    def to_json(self) -> dict:
        """Per-question row of the JSON report."""
        a = self.answer
        return {
            "id": self.question.id, "type": self.question.type, "question": self.question.question,
            "history": list(self.question.history), "answerable": self.question.answerable,
            "standalone_question": a.standalone_question or None if a else None,
            "answer": a.text if a else None, "refused": a.refused if a else None,
            "passed": self.passed, "reasons": list(self.reasons),
            "key_facts_ok": self.key_facts_ok, "citations": [c.clause.id for c in a.citations] if a else [],
            "cited_gold": self.cited_gold, "cited_total": self.cited_total, "yes_no_ok": self.yes_no_ok,
            "generator": a.generator if a else None,
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
    yes_no = None
    if q.yes_no and asks_yes_no(q.question):
        yes_no = (not answer.refused) and first_word(answer.text) == q.yes_no
    return AnswerRow(q, answer, facts, cited_gold, len(answer.citations) if gold and not answer.refused else 0,
                     reasons=fail_reasons(q, answer), yes_no_ok=yes_no)


_FIRST_WORD_END = re.compile(r"[。，,；;：:！!？?\s\[【（(“]")


def first_word(text: str) -> str:
    """What an answer opens with: its text up to the first punctuation mark, space or citation marker."""
    return _FIRST_WORD_END.split(text.strip(), maxsplit=1)[0]


def fail_reasons(q: Question, answer: Answer) -> tuple[str, ...]:
    """Why `answer` fails the field rule for `q` (empty: it passes)."""
    if not q.answerable:
        return () if answer.refused else ("not refused, but the documents do not answer it",)
    if answer.refused:
        return ("refused",)
    text = match_key(answer.text)
    reasons = [f"answer lacks 「{p}」" for p in q.answer_must if match_key(p) not in text]
    cited = [match_key(c.clause.text) for c in answer.citations]
    unstated = [g for g in q.gold if not any(match_key(g) in c for c in cited)]
    if q.gold and (len(unstated) == len(q.gold) if q.any_of else unstated):
        which = "、".join(c.clause.id for c in answer.citations) or "nothing"
        reasons += [f"cites {which}, not the clause stating 「{g}」" for g in (unstated[:1] if q.any_of else unstated)]
    return tuple(reasons)


def evaluate_answers(questions: list[Question], ask: AskFn) -> list[AnswerRow]:
    """Ask every question (`ask` receives the Question, history and all); a PolicyQAError is recorded
    on its row, which then fails."""
    rows = []
    for q in questions:
        try:
            rows.append(score_answer(q, ask(q)))
        except PolicyQAError as exc:
            error = f"{type(exc).__name__}: {exc}"
            rows.append(AnswerRow(q, None, False if q.answer_must else None, 0, 0, error=error, reasons=(error,)))
    return rows


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def answer_summary(rows: list[AnswerRow]) -> dict:
    """The answer metrics of a run (keys named as in the issue), rounded to 4 places."""
    answerable = [r for r in rows if r.question.answerable]
    unanswerable = [r for r in rows if not r.question.answerable]
    facts = [r.key_facts_ok for r in rows if r.key_facts_ok is not None]
    cited = [r for r in answerable if r.cited_total]
    yes_no = [r.yes_no_ok for r in rows if r.yes_no_ok is not None]
    first = [r.answer.timings_ms.get("first_token", 0.0) for r in rows if r.answer]
    total = [r.answer.timings_ms.get("total", 0.0) for r in rows if r.answer]
    generated = [r for r in rows if r.answer and r.answer.checked.status != "not_needed"]
    return {
        "key_fact_accuracy": _mean([float(x) for x in facts]),
        "refusal_accuracy": _mean([float(bool(r.answer and r.answer.refused)) for r in unanswerable]),
        "false_refusal_rate": _mean([float(bool(r.answer is None or r.answer.refused)) for r in answerable]),
        "citation_precision": round(sum(r.cited_gold for r in cited) / sum(r.cited_total for r in cited), 4) if cited else None,
        "citation_precision_macro": _mean([r.cited_gold / r.cited_total for r in cited]),
        "yes_no_first_word": _mean([float(x) for x in yes_no]),
        "first_token_ms_p50": round(percentile(first, 50), 1) if first else None,
        "first_token_ms_p95": round(percentile(first, 95), 1) if first else None,
        "total_ms_p50": round(percentile(total, 50), 1) if total else None,
        "total_ms_p95": round(percentile(total, 95), 1) if total else None,
        "answer_errors": sum(1 for r in rows if r.error),
        "pass_rate": _mean([float(r.passed) for r in rows]),
        "passed": sum(1 for r in rows if r.passed),
        "questions": len(rows),
        "checked": dict(sorted(Counter(r.answer.checked.status for r in rows if r.answer).items())),
        "generated_passed": _mean([float(r.answer.checked.status == "passed") for r in generated]),
    }



def answers_markdown(summary: dict, rows: list[AnswerRow]) -> str:
    """Markdown section: answer metrics, then every failed question with its reasons, answer and citations."""
    lines = ["## Answers", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary.items() if k != "checked"]
    failed = [r for r in rows if not r.passed]
    lines += [f"| checked | {summary['checked']} |", "", f"### Failed questions ({len(failed)} of {len(rows)})", ""]
    for r in failed:
        lines += failure_lines(r)
    if not failed:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def failure_lines(r: AnswerRow) -> list[str]:
    """One failed question as Markdown: what was asked, why it failed, the answer and its citations."""
    q, a = r.question, r.answer
    asked = " → ".join([*q.history, q.question])
    lines = [f"- **{q.id}**{f' ({q.type})' if q.type else ''} {asked}", f"  - fails: {'; '.join(r.reasons)}"]
    if q.answer_must or q.gold:
        lines.append(f"  - expected: {'、'.join(q.answer_must) or '–'}; gold 「{'」「'.join(q.gold)}」")
    if a is not None:
        if a.standalone_question:
            lines.append(f"  - rewritten: {a.standalone_question}")
        lines.append(f"  - answer{' (refused)' if a.refused else ''}: {' '.join(a.text.split())[:300]}")
        lines += [f"  - [{c.n}] `{c.clause.id}` {' '.join(c.clause.text.split())[:80]}" for c in a.citations]
    return lines
