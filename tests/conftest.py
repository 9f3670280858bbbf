"""Shared fixtures: the seed corpus, loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


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
