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
