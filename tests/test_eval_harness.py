"""The evaluation harness: hand-computed metrics, percentiles, question-file problems, reports."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
import pytest

from eval.harness import (
    EvalRun,
    Question,
    evaluate,
    load_questions,
    percentile,
    score_retrieval,
    to_json,
)
from eval.report import compare_markdown, to_markdown
from policyqa.text import match_key
from ingest.records import Clause, Hit, SearchResult
from policyqa.errors import PolicyQAError, QuestionError

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "eval" / "questions.jsonl"
E5_DIR = ROOT / "var" / "models" / "multilingual-e5-small"


def clause(cid: str, text: str) -> Clause:
    """A minimal clause for in-test corpora."""
    return Clause(id=cid, doc_id=cid.split("#")[0], doc_title="测试", path=(cid,), text=text, span=(0, len(text)))


class BigramSearch:
    """A real, tiny retriever: rank clauses by how many distinct character bigrams they share with the question."""

    def __init__(self, clauses: list[Clause], k: int = 5) -> None:
        self.clauses = clauses
        self.k = k
        self._keys = [match_key(c.text) for c in clauses]

    def __call__(self, question: str) -> SearchResult:
        """Search; an empty question raises QuestionError like the real pipeline."""
        start = time.perf_counter()
        q = match_key(question)
        if not q:
            raise QuestionError(f"empty question {question!r}")
        grams = {q[i:i + 2] for i in range(len(q) - 1)}
        scored = [(sum(g in key for g in grams), i) for i, key in enumerate(self._keys)]
        ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))[: self.k]
        hits = tuple(Hit(self.clauses[i], float(s), r) for r, (s, i) in enumerate(ranked, 1))
        return SearchResult(question, hits, {"total": (time.perf_counter() - start) * 1000.0})


class TableSearch:
    """A recorded ranking: each question text maps to a fixed list of clauses and a reported latency."""

    def __init__(self, table: dict[str, tuple[list[Clause], float | None]]) -> None:
        self.table = table

    def __call__(self, question: str) -> SearchResult:
        """Return the recorded ranking; `total` is omitted when the latency is None (wall time then)."""
        clauses, total = self.table[question]
        hits = tuple(Hit(c, 1.0 / r, r) for r, c in enumerate(clauses, 1))
        return SearchResult(question, hits, {} if total is None else {"total": total})


# The hand-computed example, k = 3.
QA = Question("qa", "subsidy", "上市挂牌有什么补助？", ("市级财政给予一次性补助",))
QB = Question("qb", "comparison", "研发补助比例和折旧政策？", ("补助比例为60%", "固定资产加速折旧"))
QC = Question("qc", "paraphrase", "政府采购怎么支持新产品？", ("定期公布科技创新产品目录", "首购首用"), any_of=True)
QD = Question("qd", "unanswerable", "北京的人才公寓怎么申请？", (), answerable=False)
RANKED = {
    # gold at rank 2, with a space inside the phrase: hit@1 0, hit@3 1, recall 1, rr 1/2
    "qa": [clause("d#1", "科技创新券用于购买服务。"), clause("d#2", "对上市挂牌企业，市级财政给予 一次性补助。"),
           clause("d#3", "加强人才引进。")],
    # one of two gold found, at rank 1, written with full-width ６０％: hit@1 1, hit@3 0, recall 1/2, rr 1
    "qb": [clause("d#4", "对研发投入，补助比例为６０％。"), clause("d#5", "落实研发费用加计扣除。"),
           clause("d#6", "加强知识产权保护。")],
    # any_of, second alternative at rank 3 split by a line break and an ideographic space:
    # hit@1 0, hit@3 1, recall 1 (one alternative suffices), rr 1/3
    "qc": [clause("d#7", "加强人才引进。"), clause("d#8", "科技创新产品目录由科技局管理。"),
           clause("d#9", "实行首购\n\u3000首用制度。")],
    "qd": [clause("d#10", "加强人才引进。")],
}
# Over the 3 scored questions: hit@1 = 1/3, hit@3 = 2/3, recall@3 = (1 + 0.5 + 1)/3 = 5/6,
# MRR = (1/2 + 1 + 1/3)/3 = 11/18 = 0.6111. Latencies 10, 20, 30, 40 ms (qd included):
# p50 = 25, p95 at position 3 * 0.95 = 2.85 -> 30 + 0.85 * 10 = 38.5.
LATENCY = {"qa": 10.0, "qb": 20.0, "qc": 30.0, "qd": 40.0}


def hand_run() -> EvalRun:
    """The hand-computed example run through `evaluate`."""
    qs = [QA, QB, QC, QD]
    table = {q.question: (RANKED[q.id], LATENCY[q.id]) for q in qs}
    return evaluate(qs, TableSearch(table), k=3, meta={"method": "table", "model": "none"})


def texts(qid: str) -> list[str]:
    """The hand-made ranked texts of one example question."""
    return [c.text for c in RANKED[qid]]


def test_score_retrieval_hand_computed() -> None:
    a = score_retrieval(QA, texts("qa"), k=3)
    assert a is not None
    assert (a.hit_at_1, a.hit_at_k, a.recall_at_k, a.reciprocal_rank, a.missing) == (False, True, 1.0, 0.5, ())
    b = score_retrieval(QB, texts("qb"), k=3)
    assert b is not None
    assert (b.hit_at_1, b.hit_at_k, b.recall_at_k, b.reciprocal_rank) == (True, False, 0.5, 1.0)
    assert b.missing == ("固定资产加速折旧",)
    c = score_retrieval(QC, texts("qc"), k=3)
    assert c is not None
    assert (c.hit_at_1, c.hit_at_k, c.recall_at_k, c.reciprocal_rank) == (False, True, 1.0, pytest.approx(1 / 3))
    assert c.missing == ("定期公布科技创新产品目录",)
    assert score_retrieval(QD, texts("qd"), k=3) is None


def test_score_retrieval_only_looks_at_top_k() -> None:
    a = score_retrieval(QA, texts("qa"), k=1)  # gold sits at rank 2
    assert a is not None
    assert (a.hit_at_1, a.hit_at_k, a.recall_at_k, a.reciprocal_rank) == (False, False, 0.0, 0.0)
    c = score_retrieval(QC, texts("qc"), k=2)  # the only alternative found sits at rank 3
    assert c is not None and (c.hit_at_k, c.recall_at_k, c.reciprocal_rank) == (False, 0.0, 0.0)
    with pytest.raises(PolicyQAError, match="k must be at least 1, got 0"):
        score_retrieval(QA, texts("qa"), k=0)


def test_all_gold_in_top_k_hits_for_comparison() -> None:
    ranked = ["加强人才引进。", "落实固定资产加速折旧政策。", "补助比例为 60 %。"]
    b = score_retrieval(QB, ranked, k=3)
    assert b is not None
    assert (b.hit_at_1, b.hit_at_k, b.recall_at_k, b.reciprocal_rank) == (False, True, 1.0, 0.5)


def test_evaluate_summary_hand_computed() -> None:
    s = hand_run().summary
    assert (s["n"], s["k"], s["n_unanswerable"], s["errors"]) == (3, 3, 1, 0)
    assert s["hit@1"] == 0.3333
    assert s["hit@k"] == 0.6667
    assert s["recall@k"] == 0.8333
    assert s["mrr"] == 0.6111
    assert (s["latency_ms_p50"], s["latency_ms_p95"]) == (25.0, 38.5)
    assert s["settings"] == {"method": "table", "model": "none"}


def test_by_type_breakdown() -> None:
    by_type = hand_run().summary["by_type"]
    assert set(by_type) == {"subsidy", "comparison", "paraphrase"}  # unanswerable has nothing to score
    assert by_type["comparison"] == {"n": 1, "hit@1": 1.0, "hit@k": 0.0, "recall@k": 0.5, "mrr": 1.0,
                                     "latency_ms_p50": 20.0, "latency_ms_p95": 20.0}
    assert by_type["paraphrase"]["mrr"] == 0.3333
    assert by_type["subsidy"]["hit@1"] == 0.0 and by_type["subsidy"]["mrr"] == 0.5


def test_to_json_rows_and_summary_keys() -> None:
    report = json.loads(json.dumps(to_json(hand_run()), ensure_ascii=False))
    assert set(report["summary"]) == {"n", "hit@1", "hit@k", "recall@k", "mrr", "latency_ms_p50", "latency_ms_p95",
                                      "by_type", "k", "n_unanswerable", "errors", "settings"}
    rows = {r["id"]: r for r in report["questions"]}
    assert rows["qb"] == {"id": "qb", "type": "comparison", "question": QB.question, "hit@1": True, "hit@k": False,
                          "recall@k": 0.5, "rr": 1.0, "latency_ms": 20.0, "top_ids": ["d#4", "d#5", "d#6"],
                          "missing": ["固定资产加速折旧"], "error": None}
    assert rows["qc"]["rr"] == 0.3333
    assert rows["qd"]["hit@k"] is None and rows["qd"]["top_ids"] == ["d#10"]


def test_latency_falls_back_to_wall_time() -> None:
    table = {QA.question: (RANKED["qa"], None)}
    run = evaluate([QA], TableSearch(table), k=3)
    assert run.rows[0].latency_ms is not None and 0.0 < run.rows[0].latency_ms < 1000.0


def test_search_error_is_recorded_and_run_continues() -> None:
    corpus = [clause("d#1", "对上市挂牌企业，市级财政给予一次性补助。"), clause("d#2", "实行首购首用制度。")]
    blank = Question("q2", "subsidy", "   ", ("首购首用",))
    alt = Question("q3", "paraphrase", "首购首用制度怎么执行？", ("定期公布科技创新产品目录", "首购首用"), any_of=True)
    run = evaluate([QA, blank, alt], BigramSearch(corpus), k=2)
    assert [r.question.id for r in run.rows] == ["qa", "q2", "q3"]
    bad = run.rows[1]
    assert bad.score is None and bad.latency_ms is None
    assert bad.error.startswith("QuestionError: empty question")
    s = run.summary
    assert (s["n"], s["errors"]) == (2, 1)
    assert s["hit@1"] == 1.0 and s["mrr"] == 1.0  # qa's gold and q3's second alternative both rank 1
    assert run.rows[0].top_ids[0] == "d#1"
    assert "QuestionError: empty question" in to_markdown(run, "t")


def test_percentile() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 20.0, 30.0, 40.0], 95) == pytest.approx(38.5)
    assert percentile([4.0, 1.0, 3.0, 2.0], 0) == 1.0 and percentile([4.0, 1.0, 3.0, 2.0], 100) == 4.0
    assert percentile([7.0], 95) == 7.0
    rng = random.Random(7)
    values = [rng.uniform(0, 100) for _ in range(37)]
    for p in (5, 25, 50, 90, 95, 99):
        assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)))
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)
    with pytest.raises(ValueError, match="got 101"):
        percentile([1.0], 101)


def test_load_questions_reports_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    good = {"id": "q1", "type": "subsidy", "question": "阳泉有什么补助？", "gold": [{"contains": "市级财政给予一次性补助"}],
            "any_of": False, "answerable": True, "answer_must": ["一次性补助"]}
    lines = [
        json.dumps(good, ensure_ascii=False),
        "",
        '{"id": "q2", "type": "subsidy" "question": "x"}',  # line 3: missing comma
        json.dumps({**good, "id": "q3", "question": "朔州的一次性补助呢？"}, ensure_ascii=False),
        json.dumps({k: v for k, v in good.items() if k != "question"} | {"id": "q4"}, ensure_ascii=False),
        json.dumps({**good, "id": "q1"}, ensure_ascii=False),  # line 6: duplicate id
        json.dumps({**good, "id": "q7", "gold": "市级财政"}, ensure_ascii=False),
        json.dumps({"id": "q8", "type": "unanswerable", "question": "北京呢？", "gold": [], "answerable": False}),
    ]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    questions, problems = load_questions(path)
    assert [q.id for q in questions] == ["q1", "q3", "q8"]
    assert questions[0] == Question("q1", "subsidy", "阳泉有什么补助？", ("市级财政给予一次性补助",), False, True, ("一次性补助",))
    assert questions[2].any_of is False and questions[2].answer_must == ()  # optional keys default
    assert len(problems) == 4
    assert problems[0].startswith("questions.jsonl line 3: not valid JSON (Expecting ',' delimiter")
    assert problems[0].endswith("; skipped")
    assert problems[1] == "questions.jsonl line 5: missing key 'question'; skipped"
    assert problems[2] == "questions.jsonl line 6: duplicate id 'q1' (first on line 1); skipped"
    assert problems[3].startswith("questions.jsonl line 7: key 'gold' should be list, got str")
    run = evaluate(questions, BigramSearch([clause("d#1", "市级财政给予一次性补助。")]), k=1, problems=problems)
    assert run.summary["n"] == 2 and run.summary["hit@1"] == 1.0
    assert "questions.jsonl line 5: missing key 'question'; skipped" in to_markdown(run, "t")


def test_load_questions_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(PolicyQAError, match=f"question file not found: {missing}"):
        load_questions(missing)


def test_load_real_devset() -> None:
    questions, problems = load_questions(DEVSET)
    assert problems == []
    assert len(questions) == 114
    assert sum(not q.answerable for q in questions) == 15


def test_markdown_report_contains_the_numbers() -> None:
    md = to_markdown(hand_run(), "Hand example")
    assert md.startswith("# Hand example\n")
    for number in ("0.3333", "0.6667", "0.8333", "0.6111", "25.0000", "38.5000"):
        assert number in md, number
    assert "| hit@3 |" in md and "## By question type" in md and "| comparison | 1 |" in md
    assert "## Misses (1:" in md  # only qb misses at k = 3
    assert "**qb**" in md and "「固定资产加速折旧」" in md and "`d#4`, `d#5`, `d#6`" in md
    assert "**qa**" not in md.split("## Misses")[1]
    assert "| method | table |" in md


def test_compare_markdown_is_one_table() -> None:
    first = hand_run()
    second = evaluate([QA], TableSearch({QA.question: (RANKED["qa"], 5.0)}), k=3)
    md = compare_markdown({"policyqa": first, "langchain": second})
    lines = md.strip().splitlines()
    assert all(line.startswith("|") for line in lines) and len(lines) == 4
    assert lines[0] == "| method | n | hit@1 | hit@3 | recall@3 | MRR | p50 ms | p95 ms |"
    assert lines[2] == "| policyqa | 3 | 0.3333 | 0.6667 | 0.8333 | 0.6111 | 25.0000 | 38.5000 |"
    assert lines[3] == "| langchain | 1 | 0.0000 | 1.0000 | 1.0000 | 0.5000 | 5.0000 | 5.0000 |"


def test_every_gold_phrase_lies_inside_one_seed_clause(seed_corpus) -> None:
    """An oracle retriever (clauses containing gold first) must score 1.0: no phrase straddles clauses."""
    questions, _ = load_questions(DEVSET)
    gold = {q.question: [match_key(p) for p in q.gold] for q in questions}
    keys = [match_key(c.text) for c in seed_corpus.clauses]

    def oracle(question: str) -> SearchResult:
        picked = [i for i, key in enumerate(keys) if any(p in key for p in gold[question])]
        hits = tuple(Hit(seed_corpus.clauses[i], 1.0, r) for r, i in enumerate(picked[:5], 1))
        return SearchResult(question, hits, {"total": 0.1})

    s = evaluate(questions, oracle, k=5).summary
    assert (s["n"], s["recall@k"], s["hit@k"]) == (99, 1.0, 1.0)
    bigram = evaluate(questions, BigramSearch(seed_corpus.clauses, k=5), k=5).summary
    assert set(bigram["by_type"]) == {"subsidy", "responsibility", "figure", "comparison", "paraphrase", "clause_ref"}
    assert sum(m["n"] for m in bigram["by_type"].values()) == 99
    assert 0.0 < bigram["hit@k"] < 1.0


def corpus_texts() -> dict[str, str]:
    """The seed documents keyed by file stem."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*.txt"))}


def test_baseline_chunks_are_500_chars_and_map_to_the_source() -> None:
    from eval.baseline import LangChainBaseline

    texts = corpus_texts()
    chunks = LangChainBaseline(texts, str(E5_DIR)).chunk()
    assert chunks and all(len(c.text) <= 500 for c in chunks)
    assert all(texts[c.doc_id][c.span[0]:c.span[1]] == c.text for c in chunks)
    assert chunks[0].id == f"lc#{chunks[0].doc_id}#1" and chunks[0].path_text == ""
    # Fairness of --compare: every gold phrase fits inside one chunk, so no miss is a matching artefact.
    keys = [match_key(c.text) for c in chunks]
    questions, _ = load_questions(DEVSET)
    assert all(any(match_key(p) in key for key in keys) for q in questions for p in q.gold)


def test_baseline_missing_model_folder_says_how_to_fix(tmp_path: Path) -> None:
    from eval.baseline import LangChainBaseline
    from policyqa.errors import ModelMissingError

    with pytest.raises(ModelMissingError, match="make setup"):
        LangChainBaseline({"d": "文本。"}, str(tmp_path / "absent")).search("补助")


@pytest.mark.model
@pytest.mark.skipif(not (E5_DIR / "policyqa_build.json").is_file(), reason="e5 model folder not built (make setup)")
def test_langchain_baseline_scores_on_the_devset() -> None:
    from eval.baseline import LangChainBaseline

    baseline = LangChainBaseline(corpus_texts(), str(E5_DIR), k=5)
    questions, _ = load_questions(DEVSET)
    run = evaluate(questions, baseline.search, k=5, meta={"method": "langchain"})
    s = run.summary
    assert s["n"] == 99 and s["errors"] == 0
    assert all(i.startswith("lc#") for r in run.rows for i in r.top_ids)
    assert all(len(r.top_ids) == 5 for r in run.rows)
    assert s["hit@k"] is not None and 0.2 < s["hit@k"] <= 1.0  # a real model finds much more than chance
    hit = baseline.search(questions[0].question).hits[0]
    assert -1.0 <= hit.score <= 1.0 and baseline.build_ms is not None
