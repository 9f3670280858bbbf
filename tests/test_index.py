"""The index folder and hybrid search, on the seed corpus with the hashing embedder (fast tier)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import CORPUS, ROOT
from index.build import BuildLockedError, BuildLock, build_index, clause_vectors, passage_parts
from index.embedder import HashingEmbedder
from index.search import Retriever
from index.store import current_version, open_index
from policyqa.errors import IndexFolderError, IndexMismatchError, PolicyQAError, QuestionError


@pytest.fixture()
def corpus(tmp_path):
    root = tmp_path / "corpus"
    shutil.copytree(CORPUS, root)
    return root


@pytest.fixture()
def built(corpus, tmp_path):
    index_dir = tmp_path / "index"
    report = build_index(corpus, index_dir, HashingEmbedder())
    return corpus, index_dir, report


def test_first_build_embeds_everything(built):
    _, index_dir, report = built
    data = open_index(index_dir, model="hashing-bigram-256")
    assert report.embedded == report.clauses == len(data.clauses) == data.engine.count()
    assert sorted(report.added) == ["county-innovation", "shuozhou-2014", "xinzhou-2021", "yangquan-2017"]
    m = data.manifest
    assert m["dimension"] == 256 and m["metric"] == "inner_product" and m["counts"]["documents"] == 4
    assert set(m["documents"]["shuozhou-2014"]) >= {"content_hash", "title", "region", "clauses"}
    assert "faiss-cpu" in m["library_versions"] and "jieba" in m["library_versions"]


def test_editing_one_document_embeds_only_its_clauses(built):
    corpus, index_dir, first = built
    path = corpus / "county-innovation.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n(五)加强督查\n各县(区)要定期报告落实情况。\n", encoding="utf-8")
    embedder = HashingEmbedder()
    report = build_index(corpus, index_dir, embedder)
    data = open_index(index_dir)
    county = [c for c in data.clauses if c.doc_id == "county-innovation"]
    assert report.changed == ["county-innovation"]
    assert sorted(report.unchanged) == ["shuozhou-2014", "xinzhou-2021", "yangquan-2017"]
    contexts = {passage_parts(c, data.documents["county-innovation"])[0] for c in county}
    assert report.embedded == len(county)
    assert embedder.passages_embedded == len(county) + len(contexts)  # its clauses, and each context once
    assert any("定期报告落实情况" in c.text for c in county)
    assert report.clauses == first.clauses + 1


def test_unchanged_rebuild_embeds_nothing(built):
    corpus, index_dir, _ = built
    embedder = HashingEmbedder()
    report = build_index(corpus, index_dir, embedder)
    assert embedder.passages_embedded == 0 and report.embedded == 0


def test_clause_vectors_sum_the_clause_and_its_context_embedding_each_context_once():
    embedder = HashingEmbedder()
    parts = [("太原市 科技创新若干措施 一、企业", "（一）支持研发投入。"), ("太原市 科技创新若干措施 一、企业", "（二）培育高新技术企业。"),
             ("", "附则")]
    vectors = clause_vectors(embedder, parts, weight=0.7)
    assert embedder.passages_embedded == 3 + 1  # three clauses, the shared context once, the empty one never
    body, context = embedder.embed_query(parts[0][1]), embedder.embed_query(parts[0][0])
    expected = (body + 0.7 * context) / np.linalg.norm(body + 0.7 * context)
    assert np.allclose(vectors[0], expected, atol=1e-6)
    assert np.allclose(vectors[2], embedder.embed_query("附则"), atol=1e-6)  # no context: the clause alone
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    joint = clause_vectors(HashingEmbedder(), parts, weight=None)
    assert np.allclose(joint[0], embedder.embed_query(parts[0][0] + "\n" + parts[0][1]), atol=1e-6)


def test_passage_context_leaves_out_the_label_the_clause_starts_with(built):
    data = open_index(built[1])
    metas = data.documents
    whole = next(c for c in data.clauses if c.path and c.text.startswith(c.path[-1]) and len(c.path) > 1)
    context, text = passage_parts(whole, metas[whole.doc_id])
    assert text == whole.text and whole.path[-2] in context and not context.endswith(whole.path[-1])
    assert metas[whole.doc_id].title[:20] in context


def test_changing_how_clause_vectors_are_made_rebuilds_every_clause(built):
    corpus, index_dir, first = built
    report = build_index(corpus, index_dir, HashingEmbedder(), context_weight=None)
    assert report.embedded == first.clauses and not report.unchanged
    assert open_index(index_dir).manifest["passage"] == {"context_weight": None}


def test_deleting_a_document_removes_its_clauses(built):
    corpus, index_dir, _ = built
    (corpus / "xinzhou-2021.txt").unlink()
    report = build_index(corpus, index_dir, HashingEmbedder())
    data = open_index(index_dir)
    assert report.removed == ["xinzhou-2021"]
    assert not any(c.doc_id == "xinzhou-2021" for c in data.clauses)
    assert "xinzhou-2021" not in data.manifest["documents"]
    assert len(list(index_dir.glob("v-*"))) == 1  # the old version is cleaned up


def test_build_killed_midway_leaves_previous_index_loadable(built, tmp_path):
    corpus, index_dir, first = built
    (corpus / "shuozhou-2014.txt").write_text("第一条 新内容。\n" * 50, encoding="utf-8")
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from index.build import build_index
        from index.embedder import HashingEmbedder
        class Slow(HashingEmbedder):
            def embed_passages(self, texts, progress=None):
                print("embedding", flush=True)
                time.sleep(60)
        build_index(Path({str(corpus)!r}), Path({str(index_dir)!r}), Slow())
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "embedding"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    data = open_index(index_dir)  # still the first version, complete and consistent
    assert len(data.clauses) == first.clauses
    assert build_index(corpus, index_dir, HashingEmbedder()).changed == ["shuozhou-2014"]


def test_model_mismatch_fails_with_rebuild_hint(built):
    _, index_dir, _ = built
    with pytest.raises(IndexMismatchError, match=r"hashing-bigram-256.*policyqa build --index"):
        open_index(index_dir, model="hashing-bigram-128")


def test_corrupted_file_is_refused_with_rebuild_hint(built):
    _, index_dir, _ = built
    dense = current_version(index_dir) / "dense.faiss"
    dense.write_bytes(dense.read_bytes()[: dense.stat().st_size // 2])
    with pytest.raises(IndexFolderError, match=r"corrupted.*policyqa build --index"):
        open_index(index_dir)


def test_second_concurrent_build_fails_clearly(built):
    corpus, index_dir, _ = built
    with BuildLock(index_dir):
        with pytest.raises(BuildLockedError, match="another build is running"):
            build_index(corpus, index_dir, HashingEmbedder())
    open_index(index_dir)


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexFolderError, match="policyqa build --index"):
        open_index(tmp_path / "nothing")


@pytest.fixture()
def retriever(built):
    return Retriever(built[1], HashingEmbedder())


def test_place_named_in_question_steers_to_its_document(retriever):
    result = retriever.search("朔州的高新技术企业培育目标是什么", k=5)
    assert result.hits and {h.clause.doc_id for h in result.hits} == {"shuozhou-2014"}
    assert any("restricted" in n for n in result.notes)


def test_clause_number_is_looked_up_exactly(retriever):
    result = retriever.search("阳泉意见 二(一)3 是什么", k=3)
    assert result.hits[0].clause.id == "yangquan-2017#二.(一).3"


def test_department_filter_and_doc_filter(retriever):
    result = retriever.search("人才", k=50, department="市人社局", doc="忻州")
    assert result.hits
    assert all("市人社局" in h.clause.departments and h.clause.doc_id == "xinzhou-2021" for h in result.hits)
    with pytest.raises(PolicyQAError, match="no document matches '大同'"):
        retriever.search("人才", doc="大同")


def test_hits_are_ranked_and_json_shaped(retriever):
    result = retriever.search("科技创新券", k=4)
    assert [h.rank for h in result.hits] == [1, 2, 3, 4]
    row = result.to_json()["hits"][0]
    assert set(row) == {"rank", "score", "clause_id", "doc_id", "doc_title", "path", "text", "lead", "departments", "cooperating", "kind"}
    assert "total" in result.to_json()["timings_ms"]


@pytest.mark.parametrize("question", ["", "   ", "x" * 10_000, "？？！！……", "。，、"])
def test_bad_questions_get_clear_errors(retriever, question):
    with pytest.raises(QuestionError) as err:
        retriever.search(question)
    assert "问题" in err.value.zh and "question" in str(err.value)


def test_english_only_question_still_searches(retriever):
    result = retriever.search("What support do small tech companies get?", k=3)
    assert len(result.hits) == 3
