"""The engine contract (index/engine.py), one routine run unchanged over every engine: build, save,
reopen, the same top-k as brute force (dense and BM25, with and without filters), filters honoured
for documents and each department role, delete by document, upsert, counts. Adding an engine is one
line in ENGINES. The oracle below is written from the formulas, not from any engine's code."""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from conftest import ROOT
from index.build import lexical_text
from index.embedder import HashingEmbedder
from index.engine import EngineIndex, EngineSpec, Rows, Where
from index.engines import engine_class
from index.lexical import Tokenizer
from index.vocabulary import corpus_vocabulary

ENGINES = ["numpy", "faiss", pytest.param("milvus", marks=pytest.mark.milvus)]
K = 10


@pytest.fixture(scope="module")
def rows(seed_corpus) -> Rows:
    """The seed corpus's 190-odd clauses with hashing vectors and jieba tokens, rows 0..n-1. The seeds
    name no cooperating unit, so every seventh clause gets 市审计局 as one (each role then has rows)."""
    metas = {d.meta.doc_id: d.meta for d in seed_corpus.documents}
    clauses = [replace(c, departments=c.departments + ("市审计局",), cooperating=("市审计局",)) if i % 7 == 0 else c
               for i, c in enumerate(seed_corpus.clauses)]
    tokenizer = Tokenizer(set(corpus_vocabulary(seed_corpus).terms) | {u for c in clauses for u in c.departments})
    tokens = [tokenizer.tokens(lexical_text(c, metas[c.doc_id])) for c in clauses]
    vectors = HashingEmbedder().embed_passages([c.text for c in clauses])
    return Rows.of(clauses, tokens, vectors)


@pytest.fixture(scope="module")
def queries() -> list[str]:
    lines = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines[:12]]


@pytest.fixture()
def spec(request) -> EngineSpec:
    """The engine under test; milvus writes to the session's Lite file or server (`milvus_spec`)."""
    return request.getfixturevalue("milvus_spec") if request.param == "milvus" else EngineSpec(request.param)


@pytest.fixture()
def built(spec, rows, tmp_path):
    """A saved index of every row, in a fresh version folder; closed and dropped afterwards."""
    folder = tmp_path / f"v-{uuid.uuid4().hex[:12]}"
    folder.mkdir()
    engine = engine_class(spec.name).create(folder, spec, rows.vectors.shape[1])
    engine.upsert(rows)
    info = engine.save()
    yield folder, info, engine
    engine.drop()
    engine.close()


def reopen(spec, rows, folder, info):
    return engine_class(spec.name).open(folder, info, spec, rows.clauses, rows.tokens)


def oracle_bm25(token_lists, query, k1=1.2, b=0.75) -> np.ndarray:
    """BM25 with Lucene's idf, straight from the formula, over every stored row."""
    n, lengths = len(token_lists), np.array([len(t) for t in token_lists], float)
    avgdl, counts = lengths.mean(), [Counter(t) for t in token_lists]
    out = np.zeros(n)
    for term, times in Counter(query).items():
        df = sum(1 for c in counts if term in c)
        if df:
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = np.array([c.get(term, 0) for c in counts], float)
            out += times * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths / avgdl))
    return out


def allowed_mask(rows: Rows, where: Where | None) -> np.ndarray:
    def units(c):
        lead, coop = set(c.lead), set(c.cooperating)
        return {"any": set(c.departments), "lead": lead, "cooperating": coop,
                "responsible": set(c.departments) - lead - coop}[where.role]
    if where is None:
        return np.ones(len(rows.ids), bool)
    return np.array([(where.doc_ids is None or c.doc_id in where.doc_ids)
                     and (where.units is None or bool(units(c) & set(where.units))) for c in rows.clauses])


def assert_top_k(got, oracle: np.ndarray, allowed: np.ndarray, *, positive: bool, proportional: bool) -> None:
    """`got` is a top-K of the oracle's scores over the allowed rows (ties in any order)."""
    candidates = np.where(allowed & (oracle > 1e-9) if positive else allowed)[0]
    expected = min(K, len(candidates))
    got_rows = [r for r, _ in got]
    assert len(got_rows) == expected and len(set(got_rows)) == expected, (len(got_rows), expected)
    assert all(allowed[r] for r in got_rows)
    if not expected:
        return
    kth = np.sort(oracle[candidates])[::-1][expected - 1]
    assert all(oracle[r] >= kth - 1e-4 * max(1.0, abs(kth)) for r in got_rows), (got, kth)
    if proportional:  # engines may scale BM25 by a constant (bm25s leaves out the k1 + 1)
        ratios = [s / oracle[r] for r, s in got]
        assert max(ratios) - min(ratios) <= 2e-3 * max(ratios), ratios
    else:
        assert all(abs(s - oracle[r]) < 1e-4 for r, s in got)


def filters(rows: Rows) -> list[Where | None]:
    def most_common(role):
        names = Counter(u for c in rows.clauses for u in
                        {"lead": c.lead, "cooperating": c.cooperating, "any": c.departments}[role])
        return names.most_common(1)[0][0]
    responsible = Counter(u for c in rows.clauses for u in c.departments if u not in c.lead and u not in c.cooperating)
    return [None, Where(doc_ids=("shuozhou-2014",)), Where(doc_ids=("yangquan-2017", "xinzhou-2021")),
            Where(units=(most_common("lead"),), role="lead"), Where(units=(most_common("cooperating"),), role="cooperating"),
            Where(units=(responsible.most_common(1)[0][0],), role="responsible"),
            Where(doc_ids=("xinzhou-2021",), units=(most_common("any"), "不存在的单位"), role="any")]


@pytest.mark.parametrize("spec", ENGINES, indirect=True)
def test_saved_index_reopens_with_the_same_rows_and_vectors(spec, rows, built):
    folder, info, engine = built
    secret = spec.token.get_secret_value()
    assert info["name"] == spec.name and "token" not in info and (not secret or secret not in json.dumps(info))
    again = reopen(spec, rows, folder, info)
    try:
        assert again.count() == engine.count() == len(rows.ids)
        picked = [0, 7, len(rows.ids) - 1, 3]
        assert np.allclose(again.vectors(picked), rows.vectors[picked], atol=1e-6)
    finally:
        again.close()


@pytest.mark.parametrize("spec", ENGINES, indirect=True)
def test_dense_and_bm25_top_k_match_brute_force_with_and_without_filters(spec, rows, built, queries, seed_corpus):
    _, _, engine = built
    tokenizer = Tokenizer(set(corpus_vocabulary(seed_corpus).terms) | {u for c in rows.clauses for u in c.departments})
    embedder = HashingEmbedder()
    for where in filters(rows):
        allowed = allowed_mask(rows, where)
        assert allowed.any(), where
        for q in queries:
            qvec = embedder.embed_query(q)
            assert_top_k(engine.dense(qvec, K, where), rows.vectors @ qvec, allowed, positive=False, proportional=False)
            qtokens = tokenizer.tokens(q)
            assert_top_k(engine.lexical(qtokens, K, where), oracle_bm25(rows.tokens, qtokens), allowed,
                         positive=True, proportional=True)


@pytest.mark.parametrize("spec", ENGINES, indirect=True)
def test_bm25_of_given_rows_is_the_engines_own_bm25(spec, rows, built, queries, seed_corpus):
    """What fusion asks for a candidate only the dense route found: the score `lexical` would give it
    (the base class's generic way agrees with each engine's own), 0 for a row sharing no token."""
    _, _, engine = built
    tokenizer = Tokenizer(set(corpus_vocabulary(seed_corpus).terms) | {u for c in rows.clauses for u in c.departments})
    picked = [5, 0, 17, len(rows.ids) - 1, 42, 99]
    for q in queries[:6]:
        qtokens = tokenizer.tokens(q)
        own = dict(engine.lexical(qtokens, len(rows.ids)))
        got = engine.lexical_scores(qtokens, picked)
        assert got.shape == (len(picked),)
        assert np.allclose(got, [own.get(r, 0.0) for r in picked], rtol=1e-4, atol=1e-6), q
        assert np.array_equal(got > 1e-9, oracle_bm25(rows.tokens, qtokens)[picked] > 1e-9), q
        assert np.allclose(EngineIndex.lexical_scores(engine, qtokens, picked), got, rtol=1e-4, atol=1e-6)
    assert engine.lexical_scores([], picked).tolist() == [0.0] * len(picked)


@pytest.mark.parametrize("spec", ENGINES, indirect=True)
def test_a_filter_that_matches_nothing_returns_nothing(spec, rows, built):
    _, _, engine = built
    qvec = HashingEmbedder().embed_query("科技创新")
    for where in (Where(doc_ids=()), Where(units=("不存在的单位",)), Where(doc_ids=("no-such-doc",))):
        assert engine.dense(qvec, K, where) == [] and engine.lexical(["科技"], K, where) == []
    assert engine.lexical([], K) == [] and engine.lexical(["不会出现的词语"], K) == []


@pytest.mark.parametrize("spec", ENGINES, indirect=True)
def test_delete_by_document_and_upsert_survive_save_and_reopen(spec, rows, built):
    folder, _, engine = built
    gone = [int(r) for r, c in zip(rows.ids, rows.clauses) if c.doc_id == "xinzhou-2021"]
    assert engine.delete_documents(["xinzhou-2021", "no-such-doc"]) == len(gone)
    assert engine.count() == len(rows.ids) - len(gone)
    target = int(next(r for r, c in zip(rows.ids, rows.clauses) if c.doc_id == "shuozhou-2014"))
    moved = HashingEmbedder().embed_query("一句全新的条款文本")
    engine.upsert(Rows(np.array([target]), [rows.clauses[target]], [["全新", "条款"]], moved.reshape(1, -1)))
    assert engine.count() == len(rows.ids) - len(gone)
    info = engine.save()
    tokens = list(rows.tokens)
    tokens[target] = ["全新", "条款"]  # the version's records by row, as the store keeps them
    again = engine_class(spec.name).open(folder, info, spec, rows.clauses, tokens)
    try:
        assert again.count() == len(rows.ids) - len(gone)
        for index in (engine, again):
            assert np.allclose(index.vectors([target]), moved.reshape(1, -1), atol=1e-6)
            assert index.dense(moved, 1)[0][0] == target
            assert index.lexical(["全新", "条款"], 1)[0][0] == target
            every = index.dense(moved, len(rows.ids)) + index.lexical(["人才", "科技", "企业"], len(rows.ids))
            assert not set(gone) & {r for r, _ in every}
        with pytest.raises(KeyError):
            again.vectors([gone[0]])
    finally:
        again.close()
