"""Shared fixtures: the seed corpus, its hashing index (built once), and Services over copies of both."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tests never read or write the real data folder (a developer's or operator's uploads and index): every
# Settings() made here or in a subprocess defaults to this empty one instead.
TEST_DATA_DIR = Path(tempfile.mkdtemp(prefix="policyqa-test-data-"))
os.environ["POLICYQA_DATA_DIR"] = str(TEST_DATA_DIR)
for _name in ("POLICYQA_CORPUS_DIR", "POLICYQA_INDEX_DIR"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def seed_corpus():
    """The four seed documents and their clauses."""
    from ingest.corpus import load_corpus

    loaded = load_corpus(CORPUS)
    assert not loaded.skipped, loaded.skipped
    return loaded


@pytest.fixture(scope="session")
def real_retriever(tmp_path_factory):
    """A Retriever over an index of the seed corpus built with the real embedding model (built once)."""
    from index.build import build_index
    from index.embedder import SentenceTransformerEmbedder
    from index.search import Retriever
    from policyqa.settings import Settings

    model = Settings().embedding_model
    if not Path(model).exists():
        pytest.skip(f"embedding model not built at {model}; run `make setup`")
    index_dir = tmp_path_factory.mktemp("real") / "index"
    embedder = SentenceTransformerEmbedder(model)
    build_index(CORPUS, index_dir, embedder)
    return Retriever(index_dir, embedder).warm_up()


def hashing_settings(root: Path, **extra):
    """Settings for a corpus and index under `root`, the hashing embedder and extractive answers."""
    from policyqa.settings import Settings

    fields = dict(corpus_dir=root / "corpus", index_dir=root / "index", embedding_model="hashing-bigram-256",
                  generator="extractive")
    return Settings(**{**fields, **extra})


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    """The seed corpus and its hashing index, built once; each Service works on its own copy."""
    from index.build import build_index
    from index.embedder import HashingEmbedder

    root = tmp_path_factory.mktemp("template")
    shutil.copytree(CORPUS, root / "corpus")
    build_index(root / "corpus", root / "index", HashingEmbedder())
    return root


def make_service(template: Path, root: Path, *, generators=None, gate=None, embedder=None, **extra):
    """A warmed-up Service over a copy of `template` in `root`; `extra` are Settings fields."""
    from index.embedder import HashingEmbedder
    from faces.wiring import build_service

    for part in ("corpus", "index"):
        shutil.copytree(template / part, root / part)
    settings = hashing_settings(root, **extra)
    return build_service(settings, embedder=embedder or HashingEmbedder(), generators=generators or {},
                         gate=gate).warm_up()


@pytest.fixture()
def fresh(template, tmp_path):
    """A Service whose corpus and index this test may change; uploads limited to 0.05 MB."""
    return make_service(template, tmp_path, max_file_mb=0.05)


@pytest.fixture(scope="session")
def milvus_spec(tmp_path_factory):
    """Where the Milvus tests write: the server POLICYQA_TEST_MILVUS_URI names (token in
    POLICYQA_TEST_MILVUS_TOKEN) when one exists, else one Milvus Lite file for the session, held open so
    its engine starts once (each test makes its own collections)."""
    from pydantic import SecretStr

    from index import milvus_lite
    from index.engine import EngineSpec

    server = os.environ.get("POLICYQA_TEST_MILVUS_URI", "")
    if server:
        yield EngineSpec("milvus", server, SecretStr(os.environ.get("POLICYQA_TEST_MILVUS_TOKEN", "")))
        return
    path = tmp_path_factory.mktemp("milvus") / "tests.db"
    milvus_lite.acquire(path)
    try:
        yield EngineSpec("milvus", str(path))
    finally:
        milvus_lite.release(path)
