"""Crash recovery (fast tier): the app is killed (SIGKILL) at each step of an upload or a removal, then started
again; after start-up the corpus and the index agree every time, and the log says what was completed or
rolled back.

The app runs in its own process (uvicorn, the hashing embedder, the seed corpus); a step is made fatal by
wrapping the function that performs it so that the process kills itself right after (or, for embedding,
instead of) it. The restart is `create_app(settings)`, as `policyqa serve` does it.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from fake_openai import free_port
from fastapi.testclient import TestClient

from app import create_app
from conftest import hashing_settings
from index.store import live_version_name, open_index
from qa.journal import JOURNAL, corpus_mismatch
from serving import app_env
from test_faults import NEW_DOC, copy_template

# step → (module, function, kill before or after it runs)
STEPS = {
    "staged": ("qa.changes", "CorpusEditor._stage", "after"),
    "journaled": ("qa.changes", "write_journal", "after"),
    "placed": ("qa.changes", "CorpusEditor._link", "after"),
    "embedding": ("index.embedder", "HashingEmbedder.embed_passages", "before"),
    "written": ("index.writer", "_write_version", "after"),
    "published": ("index.writer", "_publish_or_discard", "after"),
    "swapped": ("qa.changes", "clear_journal", "before"),  # the new version is in memory, the journal not yet cleared
}
UPLOAD_OUTCOME = {"staged": "", "journaled": "rolled back", "placed": "rolled back", "embedding": "rolled back",
                  "written": "rolled back", "published": "completed", "swapped": "completed"}
REMOVE_OUTCOME = {"journaled": "rolled back", "written": "rolled back", "published": "completed", "swapped": "completed"}

APP = textwrap.dedent("""
    import importlib, os, signal, sys
    import uvicorn
    module, name, when = sys.argv[1], sys.argv[2], sys.argv[3]
    owner = importlib.import_module(module)
    holder, attr = (getattr(owner, name.split(".")[0]), name.split(".")[1]) if "." in name else (owner, name)
    real = getattr(holder, attr)
    def fatal(*args, **kwargs):
        if when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result
    setattr(holder, attr, fatal)
    from app import create_app
    from policyqa.settings import Settings
    uvicorn.run(create_app(Settings(), ui=False), host="127.0.0.1", port=int(sys.argv[4]), log_level="warning")
""")


def _crash_during(root: Path, step: str, request) -> None:
    """Start the app with `step` made fatal, send `request(client)`, and wait for the process to die."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", APP, *STEPS[step], str(port)], cwd=root, env=app_env(root),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, proc.stderr.read()
                try:
                    client.get("/api/health")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the app did not start"
                    time.sleep(0.1)
            with pytest.raises(httpx.TransportError):  # the app dies mid-request: no answer
                request(client)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _restart(root: Path, caplog) -> tuple[TestClient, list[str]]:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        client = TestClient(create_app(hashing_settings(root), ui=False), base_url="http://127.0.0.1:7860")
    return client, [r.getMessage() for r in caplog.records]


def _agree(root: Path, client: TestClient) -> None:
    corpus, index_dir = root / "corpus", root / "index"
    assert corpus_mismatch(corpus, index_dir) == ((), ())
    assert not (index_dir / JOURNAL).exists()
    assert not [p.name for p in corpus.iterdir() if p.name.startswith(".")]  # no staged or parked files left
    assert all(p.name <= live_version_name(index_dir) for p in index_dir.glob("v-*"))  # nothing unpublished left
    assert client.get("/api/health").json()["index_version"] == live_version_name(index_dir)
    open_index(index_dir)  # every file verifies


@pytest.mark.parametrize("step", list(UPLOAD_OUTCOME))
def test_a_killed_upload_is_completed_or_rolled_back_at_restart(template, tmp_path, step, caplog):
    copy_template(template, tmp_path)
    _crash_during(tmp_path, step, lambda c: c.post("/api/documents", files={"file": ("量子.txt", NEW_DOC.encode())}))
    client, log = _restart(tmp_path, caplog)
    _agree(tmp_path, client)
    outcome = UPLOAD_OUTCOME[step]
    stored = (tmp_path / "corpus" / "量子.txt").exists()
    assert stored == (outcome == "completed")
    hits = client.post("/api/search", json={"question": "量子计算专项基金", "k": 1}).json()["hits"]
    assert (hits[0]["doc_id"] == "量子") == stored
    said = [line for line in log if "interrupted upload of 量子.txt" in line]
    if outcome:
        assert len(said) == 1 and outcome in said[0], log
    else:
        assert not said and any("left behind" in line for line in log), log  # the staged copy was removed
    if outcome == "rolled back":  # and the same upload works afterwards
        assert client.post("/api/documents", files={"file": ("量子.txt", NEW_DOC.encode())}).json()["action"] == "upload"
        _agree(tmp_path, client)


@pytest.mark.parametrize("step", list(REMOVE_OUTCOME))
def test_a_killed_removal_is_completed_or_rolled_back_at_restart(template, tmp_path, step, caplog):
    copy_template(template, tmp_path)
    source = tmp_path / "corpus" / "shuozhou-2014.txt"
    text = source.read_bytes()
    _crash_during(tmp_path, step, lambda c: c.delete("/api/documents/shuozhou-2014"))
    client, log = _restart(tmp_path, caplog)
    _agree(tmp_path, client)
    outcome = REMOVE_OUTCOME[step]
    assert source.exists() == (outcome == "rolled back")
    if source.exists():
        assert source.read_bytes() == text
    said = [line for line in log if "interrupted removal of shuozhou-2014.txt" in line]
    assert len(said) == 1 and outcome in said[0], log
    docs = {d["doc_id"] for d in client.get("/api/documents").json()}
    assert ("shuozhou-2014" in docs) == (outcome == "rolled back")


def test_a_file_added_by_hand_is_reported_at_start_up_not_silently_embedded(template, tmp_path, caplog):
    copy_template(template, tmp_path)
    (tmp_path / "corpus" / "手工.txt").write_text(NEW_DOC, encoding="utf-8")
    (tmp_path / "corpus" / "xinzhou-2021.txt").unlink()
    client, log = _restart(tmp_path, caplog)
    corpus = client.get("/api/health").json()["corpus"]
    assert corpus["unindexed"] == ["手工.txt"] and corpus["missing"] == ["xinzhou-2021.txt"]
    assert any("policyqa build" in line and "手工.txt" in line for line in log)
