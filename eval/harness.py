"""Retrieval evaluation: load the dev set, run any search function over it, score and summarise.

Trade-offs:
- Gold clauses are named by a verbatim phrase (`contains`), not by clause id, so the dev set survives
  re-splitting and can score methods whose units are not our clauses (the LangChain chunk baseline).
  The price: a phrase that happens to recur elsewhere also counts as found there.
- Matching is `match_key` (NFKC + no whitespace) substring containment: cheap and exact, so
  full-width digits, ideographic spaces and line breaks inside a clause cannot cause a miss.
- Only `PolicyQAError` from a search is recorded on its row and the run goes on; any other exception
  is a bug in the method under test and propagates.
- Rendering (Markdown) lives in `eval/report.py` to keep this module small.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from policyqa.text import match_key
from ingest.records import SearchResult
from policyqa.errors import PolicyQAError

SearchFn = Callable[[str], SearchResult]
METRICS = ("hit@1", "hit@k", "recall@k", "mrr")
_REQUIRED: dict[str, type] = {"id": str, "type": str, "question": str, "gold": list, "answerable": bool}
_OPTIONAL: dict[str, type] = {"any_of": bool, "answer_must": list, "yes_no": str}


@dataclass(frozen=True)
class Question:
    """One dev-set question: its gold phrases (one per gold clause) and how they combine."""

    id: str
    type: str
    question: str
    gold: tuple[str, ...]  # the `contains` phrase of each gold item
    any_of: bool = False  # True: any one gold clause answers it; False: all are needed
    answerable: bool = True
    answer_must: tuple[str, ...] = ()
    yes_no: str = ""  # the word a yes/no question's answer should open with (可以, 不可以, 有, 没有 …), read from its gold


@dataclass(frozen=True)
class RetrievalScore:
    """How well one ranked list covers one question's gold items."""

    hit_at_1: bool
    hit_at_k: bool
    recall_at_k: float
    reciprocal_rank: float
    missing: tuple[str, ...]  # gold phrases not found in the top k


@dataclass(frozen=True)
class QuestionRow:
    """One question's outcome: its score (None if unanswerable or errored), latency and top ids."""

    question: Question
    score: RetrievalScore | None
    latency_ms: float | None
    top_ids: tuple[str, ...]
    error: str = ""

    def to_json(self) -> dict:
        """The per-question row of the JSON report."""
        s = self.score
        return {
            "id": self.question.id,
            "type": self.question.type,
            "question": self.question.question,
            "hit@1": None if s is None else s.hit_at_1,
            "hit@k": None if s is None else s.hit_at_k,
            "recall@k": None if s is None else round(s.recall_at_k, 4),
            "rr": None if s is None else round(s.reciprocal_rank, 4),
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 2),
            "top_ids": list(self.top_ids),
            "missing": [] if s is None else list(s.missing),
            "error": self.error or None,
        }


@dataclass(frozen=True)
class EvalRun:
    """Every question row of one method's run, the k used, the caller's settings and skipped lines."""

    rows: tuple[QuestionRow, ...]
    k: int
    settings: dict = field(default_factory=dict)
    problems: tuple[str, ...] = ()  # from `load_questions`: lines that were skipped

    @property
    def summary(self) -> dict:
        """Aggregate metrics; see `summarize`."""
        return summarize(self.rows, self.k, self.settings)


def load_questions(path: Path) -> tuple[list[Question], list[str]]:
    """Parse a JSONL dev set; return the usable questions and one message per skipped line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise PolicyQAError(f"question file not found: {path} (pass the path of a .jsonl dev set, e.g. eval/questions.jsonl)") from None
    except (UnicodeDecodeError, IsADirectoryError) as e:
        raise PolicyQAError(f"cannot read question file {path}: {e} (it must be a UTF-8 JSONL file)") from None
    questions: list[Question] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name} line {n}"
        try:
            question = _parse_row(line)
        except ValueError as e:
            problems.append(f"{where}: {e}; skipped")
            continue
        if question.id in first_line:
            problems.append(f"{where}: duplicate id {question.id!r} (first on line {first_line[question.id]}); skipped")
            continue
        first_line[question.id] = n
        questions.append(question)
    return questions, problems


def _parse_row(line: str) -> Question:
    """One JSONL line as a Question; ValueError says what is wrong with it."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e})") from None
    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object, got {type(row).__name__}")
    for key, typ in (_REQUIRED | _OPTIONAL).items():
        if key not in row:
            if key in _REQUIRED:
                raise ValueError(f"missing key {key!r}")
        elif not isinstance(row[key], typ):
            raise ValueError(f"key {key!r} should be {typ.__name__}, got {type(row[key]).__name__} {row[key]!r}")
    gold = []
    for item in row["gold"]:
        phrase = item.get("contains") if isinstance(item, dict) else None
        if not isinstance(phrase, str) or not match_key(phrase):
            raise ValueError(f'gold item {item!r} should be {{"contains": "<non-empty phrase>"}}')
        gold.append(phrase)
    if row["answerable"] and not gold:
        raise ValueError(f"answerable question {row['id']!r} has no gold items (add gold or set answerable false)")
    return Question(
        id=row["id"],
        type=row["type"],
        question=row["question"],
        gold=tuple(gold),
        any_of=row.get("any_of", False),
        answerable=row["answerable"],
        answer_must=tuple(str(a) for a in row.get("answer_must", [])),
        yes_no=row.get("yes_no", ""),
    )


def found_in(phrase: str, texts: Sequence[str]) -> int | None:
    """The 1-based position of the first text containing `phrase` (match_key form), else None."""
    key = match_key(phrase)
    for i, text in enumerate(texts, 1):
        if key in match_key(text):
            return i
    return None


def score_retrieval(question: Question, ranked_texts: list[str], k: int) -> RetrievalScore | None:
    """Score the top k of `ranked_texts` against the gold items; None for unanswerable questions.

    - hit@1: the top-1 text contains at least one gold item, for any_of true *and* false. Read
      literally, "all gold within the top 1" can never hold for a comparison question whose gold
      clauses are distinct, so hit@1 would be 0 for them whatever the ranking; "the first text is
      useful" is what we measure instead (identical to the literal rule for single-gold questions).
    - hit@k: any_of false needs every gold item somewhere in the top k; any_of true needs one.
    - recall@k: share of gold items found in the top k. For any_of true the gold items are
      interchangeable alternatives, so finding one is full recall (recall@k == hit@k there).
    - reciprocal rank: 1 / rank of the first top-k text containing any gold item, else 0.
    """
    if not question.answerable:
        return None
    if k < 1:
        raise PolicyQAError(f"k must be at least 1, got {k} (use e.g. k=5)")
    top = ranked_texts[:k]
    ranks = {phrase: found_in(phrase, top) for phrase in question.gold}
    hit_ranks = [r for r in ranks.values() if r is not None]
    first = min(hit_ranks, default=None)
    if question.any_of:
        hit_k = bool(hit_ranks)
        recall = 1.0 if hit_k else 0.0
    else:
        hit_k = len(hit_ranks) == len(ranks)
        recall = len(hit_ranks) / len(ranks)
    return RetrievalScore(
        hit_at_1=first == 1,
        hit_at_k=hit_k,
        recall_at_k=recall,
        reciprocal_rank=0.0 if first is None else 1.0 / first,
        missing=tuple(p for p, r in ranks.items() if r is None),
    )


def evaluate(
    questions: Sequence[Question],
    search_fn: SearchFn,
    k: int,
    meta: dict | None = None,
    problems: Sequence[str] = (),
) -> EvalRun:
    """Run `search_fn` on every question (unanswerable ones too, for latency) and score the top k."""
    if k < 1:
        raise PolicyQAError(f"k must be at least 1, got {k} (use e.g. k=5)")
    rows = []
    for q in questions:
        start = time.perf_counter()
        try:
            result = search_fn(q.question)
        except PolicyQAError as e:
            rows.append(QuestionRow(q, None, None, (), error=f"{type(e).__name__}: {e}"))
            continue
        wall_ms = (time.perf_counter() - start) * 1000.0
        total = result.timings_ms.get("total")
        hits = sorted(result.hits, key=lambda h: h.rank)[:k]
        score = score_retrieval(q, [h.clause.text for h in hits], k)
        latency = float(total) if total is not None else wall_ms
        rows.append(QuestionRow(q, score, latency, tuple(h.clause.id for h in hits)))
    return EvalRun(tuple(rows), k, dict(meta or {}), tuple(problems))


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of an empty list is undefined (pass at least one value)")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile p must be within 0..100, got {p}")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _metrics(rows: Sequence[QuestionRow]) -> dict:
    """n, the four retrieval means over scored rows, and latency percentiles over searched rows."""
    scores = [r.score for r in rows if r.score is not None]
    latencies = [r.latency_ms for r in rows if r.latency_ms is not None]

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    def pct(p: float) -> float | None:
        return round(percentile(latencies, p), 4) if latencies else None

    return {
        "n": len(scores),
        "hit@1": mean([float(s.hit_at_1) for s in scores]),
        "hit@k": mean([float(s.hit_at_k) for s in scores]),
        "recall@k": mean([s.recall_at_k for s in scores]),
        "mrr": mean([s.reciprocal_rank for s in scores]),
        "latency_ms_p50": pct(50),
        "latency_ms_p95": pct(95),
    }


def summarize(rows: Sequence[QuestionRow], k: int, settings: dict | None = None) -> dict:
    """The summary dict: overall metrics, `by_type`, `k`, `n_unanswerable`, `errors`, `settings`.

    Retrieval metrics average over answerable questions whose search succeeded (`n` of them);
    latency percentiles cover every successful search, unanswerable questions included. A metric
    with nothing to average is None. Types with no scored question are left out of `by_type`.
    """
    by_type: dict[str, dict] = {}
    for t in sorted({r.question.type for r in rows}):
        group = [r for r in rows if r.question.type == t]
        if any(r.score is not None for r in group):
            by_type[t] = _metrics(group)
    return {
        **_metrics(rows),
        "by_type": by_type,
        "k": k,
        "n_unanswerable": sum(1 for r in rows if not r.question.answerable),
        "errors": sum(1 for r in rows if r.error),
        "settings": dict(settings or {}),
    }


def to_json(run: EvalRun) -> dict:
    """The JSON report: summary, one row per question, and the skipped question-file lines."""
    return {
        "summary": run.summary,
        "questions": [r.to_json() for r in run.rows],
        "problems": list(run.problems),
    }
