"""Test helpers for a real HTTP server: the app under uvicorn in a thread, and index versions replayed.

A real server (not TestClient) because what the consistency tests look for happens on the wire:
500s, connections closed after an error, requests that overlap a reload.
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import uvicorn
from fake_openai import free_port

from conftest import ROOT, hashing_settings

FIELD = ROOT.parent / "shared" / "field"


def app_env(root: Path, **settings: str) -> dict[str, str]:
    """The environment of a policyqa subprocess over `root`/corpus and `root`/index with the hashing
    embedder and extractive answers; `settings` are more POLICYQA_ fields (keep_versions="100")."""
    return dict(os.environ, PYTHONPATH=str(ROOT), POLICYQA_CORPUS_DIR=str(root / "corpus"),
                POLICYQA_INDEX_DIR=str(root / "index"), POLICYQA_EMBEDDING_MODEL="hashing-bigram-256",
                POLICYQA_GENERATOR="extractive", **{f"POLICYQA_{k.upper()}": v for k, v in settings.items()})


@contextmanager
def serving(app) -> Iterator[str]:
    """Run `app` on a free loopback port in a thread (lifespan on: the index watcher runs); yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def field_documents() -> list[Path]:
    """Every document of the field cases (../shared/field/*/docs/*), sorted."""
    return sorted(FIELD.glob("*/docs/*"))


def field_questions(per_case: int = 2) -> list[str]:
    """The first `per_case` questions of every field case."""
    out = []
    for path in sorted(FIELD.glob("*/questions.jsonl")):
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        out += [q["question"] for q in lines[:per_case]]
    return out


def seed_questions(n: int = 12) -> list[str]:
    """The first `n` dev-set questions."""
    lines = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()][:n]


@dataclass
class Timeline:
    """When each index version can have been live: a change's version became live during its request, and
    the version before it stopped being live during the same request."""

    first: str
    changes: list[tuple[float, float, str]] = field(default_factory=list)  # (sent, answered, version)

    def windows(self) -> dict[str, tuple[float, float]]:
        """version → (earliest start, latest end) of its time live."""
        out, start, name = {}, float("-inf"), self.first
        for sent, answered, version in sorted(self.changes):
            out[name] = (start, answered)
            start, name = sent, version
        out[name] = (start, float("inf"))
        return out

    def live_during(self, version: str, sent: float, answered: float) -> bool:
        """Whether `version` may have been live at some moment between `sent` and `answered`."""
        window = self.windows().get(version)
        return window is not None and sent <= window[1] and answered >= window[0]


def replay_service(index_dir: Path, version: str, root: Path):
    """A Service that reads exactly one kept version of `index_dir` (for re-asking what the app answered)."""
    from index.embedder import HashingEmbedder
    from faces.wiring import build_service

    folder = root / "replay" / version / "index"
    folder.mkdir(parents=True)
    (folder / version).symlink_to(index_dir / version, target_is_directory=True)
    (folder / "CURRENT").write_text(version, encoding="utf-8")
    settings = hashing_settings(folder.parent)
    return build_service(settings, embedder=HashingEmbedder(), generators={})
