"""The Milvus engine end to end on an embedded Milvus Lite file (the `milvus` tier, in `make test`):
builds and incremental changes, persistence across processes, one process per Lite file with a clear
message for the next one, the Service's upload and delete, the CLI, and the dev set against FAISS.
POLICYQA_TEST_MILVUS_URI (and _TOKEN) points the tests that do not test Lite itself at a server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT, hashing_settings
from eval.harness import evaluate, load_questions, summarize
from index import milvus_lite
from index.build import build_index
from index.embedder import HashingEmbedder
from index.engine import EngineSpec
from index.engine_milvus import collection_name
from index.search import Retriever
from index.store import current_version, open_index
from qa.service import Service
from serving import app_env

pytestmark = pytest.mark.milvus
SERVER = bool(os.environ.get("POLICYQA_TEST_MILVUS_URI"))
lite_only = pytest.mark.skipif(SERVER, reason="tests Milvus Lite itself (POLICYQA_TEST_MILVUS_URI names a server)")
NEW_DOC = ("测试市促进量子计算产业发展若干措施\n\n一、支持量子计算企业\n"
           "(一)设立量子计算专项基金。市财政每年安排5000万元设立量子计算专项基金，支持企业开展量子芯片攻关。"
           "(牵头单位：市科技局)\n(二)建设量子计算公共平台。依托高校建设量子计算公共算力平台，向中小企业开放。\n")


@pytest.fixture()
def spec(milvus_spec) -> EngineSpec:
    """The server when there is one, else the default: a Lite file inside each test's index folder."""
    return milvus_spec if SERVER else EngineSpec("milvus")


@pytest.fixture()
def corpus(tmp_path) -> Path:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    return tmp_path / "corpus"


def run_policyqa(root: Path, *args: str, timeout: float = 120, **settings: str) -> subprocess.CompletedProcess:
    """`policyqa ARGS` in a fresh process over root/corpus and root/index with the milvus engine."""
    env = app_env(root, engine="milvus", **settings)
    return subprocess.run([sys.executable, "-m", "faces.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_manifest_names_engine_uri_and_collection_and_incremental_builds_embed_only_changes(corpus, tmp_path, spec):
    index_dir = tmp_path / "index"
    first = build_index(corpus, index_dir, HashingEmbedder(), engine=spec, keep_versions=1)
    data = open_index(index_dir, engine=spec)
    info = data.manifest["engine"]
    assert info["name"] == "milvus" and info["collection"] == collection_name(current_version(index_dir).name)
    assert info["uri"] == ("milvus.db" if not SERVER else info["uri"]) and "token" not in info
    assert data.engine.count() == first.clauses == len(data.clauses)
    data.engine.close()
    (corpus / "xinzhou-2021.txt").unlink()
    embedder = HashingEmbedder()
    second = build_index(corpus, index_dir, embedder, engine=spec, keep_versions=1)
    assert second.removed == ["xinzhou-2021"] and second.embedded == 0 and embedder.passages_embedded == 0
    third = build_index(corpus, index_dir, embedder, engine=spec, keep_versions=1)
    retriever = Retriever(index_dir, HashingEmbedder(), engine=spec)
    try:
        hits = retriever.search("忻州 人才", k=20, steer=False).hits
        assert hits and not any(h.clause.doc_id == "xinzhou-2021" for h in hits)
        assert retriever.snapshot().version == third.version
        from index.engine_milvus import Connection
        conn = Connection(index_dir, data.manifest["engine"]["uri"], spec)  # versions pruned with their folders
        mine = {collection_name(v) for v in (first.version, second.version, third.version)}
        assert set(conn.call("list_collections")) & mine == {collection_name(second.version), collection_name(third.version)}
        conn.close()
    finally:
        retriever.close()


def test_switching_engines_reuses_every_vector(corpus, tmp_path, spec):
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, HashingEmbedder())  # FAISS
    faiss_hits = Retriever(index_dir, HashingEmbedder()).search("科技创新券", k=5).hits
    embedder = HashingEmbedder()
    report = build_index(corpus, index_dir, embedder, engine=spec)
    assert report.embedded == 0 and embedder.passages_embedded == 0
    retriever = Retriever(index_dir, HashingEmbedder(), engine=spec)
    try:
        hits = retriever.search("科技创新券", k=5).hits
        assert [h.clause.id for h in hits] == [h.clause.id for h in faiss_hits]
        assert [round(h.score, 4) for h in hits] == [round(h.score, 4) for h in faiss_hits]
    finally:
        retriever.close()


@lite_only
def test_an_index_persists_across_processes(corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, HashingEmbedder(), engine=EngineSpec("milvus"))
    assert milvus_lite.users(index_dir / "milvus.db") == 0  # the build let the file go
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from index.embedder import HashingEmbedder
        from index.search import Retriever
        hits = Retriever(Path({str(index_dir)!r}), HashingEmbedder()).search("科技型中小企业贷款", k=5).hits
        print(json.dumps([h.clause.id for h in hits]))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    retriever = Retriever(index_dir, HashingEmbedder())
    try:
        assert json.loads(out.stdout.strip().splitlines()[-1]) == [h.clause.id for h in retriever.search("科技型中小企业贷款", k=5).hits]
    finally:
        retriever.close()


ACQUIRE = "import sys; from pathlib import Path; from index import milvus_lite; milvus_lite.acquire(Path(sys.argv[1]))"


@lite_only
def test_a_second_process_gets_a_clear_message_not_a_hang(corpus, tmp_path):
    build_index(corpus, tmp_path / "index", HashingEmbedder(), engine=EngineSpec("milvus"))
    retriever = Retriever(tmp_path / "index", HashingEmbedder())
    retriever.search("人才引进", k=3)  # this process now owns index/milvus.db
    lite = tmp_path / "index" / "milvus.db"
    try:
        started = time.monotonic()
        refused = run_policyqa(tmp_path, "search", "人才引进", timeout=120)
        assert refused.returncode == 1
        line = refused.stderr.strip().splitlines()[-1]
        assert line.startswith("Error: the Milvus Lite file") and str(lite) in line
        assert f"pid {os.getpid()}" in line and "/api/search" in line and "POLICYQA_MILVUS_URI" in line
        assert time.monotonic() - started < 120
        # the refused process must not break the lock for the one after it (milvus-lite's own would)
        again = subprocess.run([sys.executable, "-c", ACQUIRE, str(lite)], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert again.returncode == 1 and "is open in another process" in again.stderr
        assert retriever.search("人才引进", k=3).hits  # the owner is unharmed
    finally:
        retriever.close()
    free = subprocess.run([sys.executable, "-c", ACQUIRE, str(lite)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert free.returncode == 0, free.stderr[-2000:]


def test_upload_and_delete_through_the_service(tmp_path, spec):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    settings = hashing_settings(tmp_path, engine="milvus", milvus_uri=spec.uri, milvus_token=spec.token)
    build_index(settings.corpus_dir, settings.index_dir, HashingEmbedder(), engine=spec)
    service = Service.from_settings(settings, embedder=HashingEmbedder(), generators={}).warm_up()
    try:
        change = service.upload("量子.txt", NEW_DOC.encode())
        assert change.action == "upload" and change.clauses >= 2
        hits = service.search("量子计算专项基金", k=3).hits
        assert hits[0].clause.doc_id == change.doc_id and "市科技局" in hits[0].clause.lead
        led = service.retriever.search("专项基金", k=5, department="市科技局", steer=False).hits
        assert led and all("市科技局" in h.clause.departments for h in led)
        service.remove(change.doc_id)
        assert not any(h.clause.doc_id == change.doc_id for h in service.search("量子计算专项基金", k=10).hits)
        assert open_index(settings.index_dir, engine=spec).manifest["engine"]["name"] == "milvus"
    finally:
        service.retriever.close()


def _dev_set(retriever) -> dict:
    questions, _ = load_questions(ROOT / "eval" / "questions.jsonl")
    return summarize(evaluate(questions, lambda q: retriever.search(q, k=5), 5).rows, 5)


def test_dev_set_retrieval_on_milvus_matches_faiss(corpus, tmp_path, spec):
    build_index(corpus, tmp_path / "faiss", HashingEmbedder())
    build_index(corpus, tmp_path / "milvus", HashingEmbedder(), engine=spec)
    faiss = _dev_set(Retriever(tmp_path / "faiss", HashingEmbedder()))
    retriever = Retriever(tmp_path / "milvus", HashingEmbedder(), engine=spec)
    try:
        milvus = _dev_set(retriever)
    finally:
        retriever.close()
    for metric in ("hit@1", "hit@k", "mrr"):
        assert abs(milvus[metric] - faiss[metric]) <= 0.01, (metric, milvus[metric], faiss[metric])


@pytest.mark.model
def test_dev_set_with_the_real_model_on_milvus_matches_faiss(real_retriever, tmp_path, spec):
    build_index(CORPUS, tmp_path / "index", real_retriever.embedder, engine=spec)
    retriever = Retriever(tmp_path / "index", real_retriever.embedder, engine=spec)
    try:
        faiss, milvus = _dev_set(real_retriever), _dev_set(retriever)
    finally:
        retriever.close()
    assert faiss["hit@k"] >= 0.95
    for metric in ("hit@1", "hit@k", "mrr"):
        assert abs(milvus[metric] - faiss[metric]) <= 0.01, (metric, milvus[metric], faiss[metric])
