"""Faults (fast tier): a full disk mid-build, a killed build and a restart, a corrupted index, the answer
endpoint down or slow, and two changes at once, each seen from the index and from the app.

Uses the seed corpus with the hashing embedder (tests/test_index.py covers the library-level SIGKILL,
truncated-file and build-lock cases). Each test checks the protection it names, so removing it fails it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from fake_openai import free_port, serve_fake_openai
from fastapi.testclient import TestClient

import app as app_module
from app import create_app
from conftest import hashing_settings, make_service
from index.build import BuildLock, build_index
from index.embedder import HashingEmbedder
from index.search import Retriever
from index.store import CURRENT, current_version, open_index
from policyqa.errors import IndexFolderError, UploadError
from faces.wiring import generator_factories
from serving import app_env

GENERATE_Q = "阳泉如何支持科技型中小企业融资？"  # answered by generation (not a list, not refused)
NEW_DOC = ("测试市促进量子计算产业发展若干措施\n\n一、支持量子计算企业\n"
           "(一)设立量子计算专项基金。市财政每年安排5000万元设立量子计算专项基金，支持企业开展量子芯片攻关。\n")
EDIT = "第一条 朔州市设立氢能产业专项资金。\n" * 30  # the changed shuozhou document


def enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def copy_template(template: Path, root: Path) -> tuple[Path, Path]:
    """A corpus and its built index under `root`, copied from the session's template."""
    for part in ("corpus", "index"):
        shutil.copytree(template / part, root / part)
    return root / "corpus", root / "index"


def flip_bytes(path: Path) -> None:
    """Invert 16 bytes in the middle of `path` (same size, so only a checksum notices)."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 16] = bytes(b ^ 0xFF for b in data[mid : mid + 16])
    path.write_bytes(bytes(data))


def local_client(app) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1:7860")


# --------------------------------------------------------------------------- disk full while writing the index


def _fail_bm25(folder, *_):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.csc.index.npy").write_bytes(b"\x93NUMPY")  # a half-written file first
    enospc()


def _pointer_fails(monkeypatch):
    real = Path.write_text

    def write_text(self, *args, **kwargs):
        if self.name == CURRENT + ".tmp":
            real(self, "v-", encoding="utf-8")
            enospc()
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Path, "write_text", write_text)


def _faiss_to_dev_full(monkeypatch):
    import faiss

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    real = faiss.write_index
    monkeypatch.setattr(faiss, "write_index", lambda index, _path: real(index, "/dev/full"))  # a real ENOSPC


WRITERS = {
    "clause file": lambda mp: mp.setattr("index.writer.write_jsonl", enospc),
    "FAISS file": _faiss_to_dev_full,
    "BM25 arrays": lambda mp: mp.setattr("index.lexical.LexicalIndex.save", lambda self, folder: _fail_bm25(folder)),
    "manifest": lambda mp: mp.setattr("index.writer.write_json", enospc),
    "CURRENT pointer": _pointer_fails,
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_disk_full_mid_build_keeps_the_previous_version_live_and_leaves_no_debris(template, tmp_path, monkeypatch, writer):
    corpus, index_dir = copy_template(template, tmp_path)
    live = current_version(index_dir).name
    before = len(open_index(index_dir).clauses)
    (corpus / "shuozhou-2014.txt").write_text(EDIT, encoding="utf-8")
    WRITERS[writer](monkeypatch)
    with pytest.raises(IndexFolderError, match="No space left on device") as err:
        build_index(corpus, index_dir, HashingEmbedder())
    monkeypatch.undo()
    assert str(index_dir) in str(err.value) and "free disk space" in str(err.value)
    assert "previous version is still live" in str(err.value)
    assert (index_dir / CURRENT).read_text(encoding="utf-8") == live
    assert sorted(p.name for p in index_dir.iterdir()) == sorted([CURRENT, "build.lock", live])  # no debris
    assert len(open_index(index_dir).clauses) == before
    assert Retriever(index_dir, HashingEmbedder()).search("人才引进", k=3).hits
    report = build_index(corpus, index_dir, HashingEmbedder())
    assert report.changed == ["shuozhou-2014"] and current_version(index_dir).name == report.version != live
    assert any("氢能产业专项资金" in c.text for c in open_index(index_dir).clauses)


def test_disk_full_during_an_upload_is_a_clear_503_and_the_app_keeps_serving(fresh, monkeypatch):
    client = local_client(create_app(hashing_settings(fresh.corpus_dir.parent), service=fresh, ui=False))
    version = client.get("/api/health").json()["index_version"]
    monkeypatch.setattr("index.writer.write_json", enospc)
    r = client.post("/api/documents", files={"file": ("量子.txt", NEW_DOC.encode())})
    assert r.status_code == 503 and "free disk space" in r.json()["error"]
    assert not (fresh.corpus_dir / "量子.txt").exists()  # the corpus agrees with the live index
    assert client.get("/api/health").json()["index_version"] == version
    assert client.post("/api/search", json={"question": "人才引进"}).json()["hits"]
    monkeypatch.undo()
    r = client.post("/api/documents", files={"file": ("量子.txt", NEW_DOC.encode())})
    assert r.status_code == 200 and client.get("/api/health").json()["index_version"] != version


# --------------------------------------------------------------------------- a build killed, then the app restarts




def test_app_restarted_after_a_killed_build_serves_the_old_version_then_the_next_build_publishes(template, tmp_path):
    corpus, index_dir = copy_template(template, tmp_path)
    old = current_version(index_dir).name
    (corpus / "shuozhou-2014.txt").write_text(EDIT, encoding="utf-8")
    script = textwrap.dedent("""
        import sys, time
        from index.embedder import HashingEmbedder
        def stall(self, texts, progress=None):
            print("embedding", flush=True)
            time.sleep(60)
        HashingEmbedder.embed_passages = stall
        from faces.cli import main
        sys.exit(main(["build", "--quiet"]))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                            env=app_env(tmp_path))
    try:
        assert proc.stdout.readline().strip() == "embedding"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    settings = hashing_settings(tmp_path)
    client = local_client(create_app(settings, ui=False))  # what a restarted app does
    health = client.get("/api/health").json()
    assert health["index_version"] == old and health["documents"] == 4
    assert client.post("/api/search", json={"question": "朔州高新技术企业"}).json()["hits"]
    done = subprocess.run([sys.executable, "-m", "faces.cli", "build", "--quiet"], cwd=tmp_path, env=app_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "changed 1" in done.stdout, done.stderr
    client = local_client(create_app(settings, ui=False))
    assert client.get("/api/health").json()["index_version"] not in ("", old)
    hits = client.post("/api/search", json={"question": "氢能产业专项资金", "k": 1}).json()["hits"]
    assert "氢能产业专项资金" in hits[0]["text"]


# --------------------------------------------------------------------------- a corrupted index on disk


def _lexical(version: Path) -> Path:
    return next((version / "lexical").glob("*.npy"))


CORRUPTIONS = {
    "flipped FAISS bytes": lambda v: flip_bytes(v / "dense.faiss"),
    "truncated BM25 npy": lambda v: _lexical(v).write_bytes(_lexical(v).read_bytes()[:100]),
    "garbage manifest": lambda v: (v / "manifest.json").write_text("{garbage", encoding="utf-8"),
    "CURRENT names a missing version": lambda v: (v.parent / CURRENT).write_text("v-gone", encoding="utf-8"),
}


@pytest.fixture(params=list(CORRUPTIONS))
def corrupted(request, template, tmp_path, monkeypatch):
    """Settings over a copied index damaged one way; the environment says the same (for main())."""
    _, index_dir = copy_template(template, tmp_path)
    CORRUPTIONS[request.param](current_version(index_dir))
    for key, value in app_env(tmp_path).items():
        if key.startswith("POLICYQA_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # no .env from the project folder
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: pytest.fail("the app must not start serving"))
    return hashing_settings(tmp_path)


def test_a_corrupted_index_stops_the_app_with_the_rebuild_command(corrupted):
    with pytest.raises(IndexFolderError, match=r"policyqa build --index") as err:
        create_app(corrupted, ui=False)
    assert str(corrupted.index_dir) in str(err.value)


@pytest.mark.parametrize("entry", ["python app.py", "policyqa serve"])
def test_starting_on_a_corrupted_index_prints_one_error_line_and_exits_1(corrupted, capsys, entry):
    from faces.cli import main

    code = app_module.main() if entry == "python app.py" else main(["serve"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert code == 1 and len(errors) == 1 and "policyqa build --index" in errors[0] and "Traceback" not in err


def test_a_new_version_that_fails_its_checks_never_replaces_the_index_in_memory(fresh, monkeypatch):
    client = local_client(create_app(hashing_settings(fresh.corpus_dir.parent), service=fresh, ui=False))
    version = client.get("/api/health").json()["index_version"]
    real = build_index

    def build_then_corrupt(*args, **kwargs):
        report = real(*args, **kwargs)
        flip_bytes(current_version(fresh.retriever.index_dir) / "dense.faiss")  # damaged after publishing
        return report
    monkeypatch.setattr("qa.changes.build_index", build_then_corrupt)
    r = client.post("/api/documents", files={"file": ("量子.txt", NEW_DOC.encode())})
    assert r.status_code == 503 and "keeps serving the previous one" in r.json()["error"]
    assert "policyqa build --index" in r.json()["error"]
    assert client.get("/api/health").json()["index_version"] == version
    assert client.post("/api/ask", json={"question": "人才引进有什么政策？"}).json()["citations"]
    # The change is undone whole: the file is gone and CURRENT points at the version before again.
    assert not (fresh.corpus_dir / "量子.txt").exists()
    assert current_version(fresh.retriever.index_dir).name == version
    open_index(fresh.retriever.index_dir)
    monkeypatch.undo()
    r = client.post("/api/documents", files={"file": ("量子.txt", NEW_DOC.encode())})
    assert r.status_code == 200 and 0 < r.json()["build"]["embedded"] < r.json()["build"]["clauses"]  # only the new file
    open_index(fresh.retriever.index_dir)


def test_an_index_damaged_under_a_running_app_is_rebuilt_whole_on_the_next_change(fresh):
    flip_bytes(current_version(fresh.retriever.index_dir) / "dense.faiss")
    assert fresh.search("人才引进", k=3).hits  # the loaded copy keeps answering
    change = fresh.upload("量子.txt", NEW_DOC.encode())
    assert change.build.embedded == change.build.clauses == len(fresh.clauses())  # nothing reused from the damage
    open_index(fresh.retriever.index_dir)
    assert fresh.search("量子计算专项基金", k=1).hits[0].clause.doc_id == change.doc_id


# --------------------------------------------------------------------------- the answer endpoint down or slow


@pytest.mark.parametrize("case, words", [("down", "could not be reached"), ("slow", "timeout")])
def test_openai_down_or_slow_answers_with_quotes_and_says_why(template, tmp_path, case, words):
    with contextlib.ExitStack() as stack:
        url = (f"http://127.0.0.1:{free_port()}/v1" if case == "down"
               else stack.enter_context(serve_fake_openai(["不会送达"], delay_s=5)))
        fields = dict(generator="openai", openai_base_url=url, openai_model="fake", openai_timeout_s=0.5)
        svc = make_service(template, tmp_path, generators=generator_factories(hashing_settings(tmp_path, **fields)),
                           **fields)
        client = local_client(create_app(hashing_settings(tmp_path, **fields), service=svc, ui=False))
        t0 = time.perf_counter()
        r = client.post("/api/ask", json={"question": GENERATE_Q})
        elapsed = time.perf_counter() - t0
    body = r.json()
    assert r.status_code == 200 and body["generator"] == "extractive" and body["citations"] and not body["refused"]
    assert body["checked"]["status"] == "fallback" and body["checked"]["reasons"][0].startswith("openai failed")
    assert words in body["checked"]["reasons"][0]
    assert any(n.startswith("generator failed") for n in body["notes"])
    assert elapsed < 2 * 0.5 + 4  # two attempts (one retry) of at most the timeout each, plus retrieval


# --------------------------------------------------------------------------- two changes at once


class HeldEmbedder(HashingEmbedder):
    """Holds each build's embedding until `release` is set, so a second change arrives mid-build."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding, self.release = threading.Event(), threading.Event()

    def embed_passages(self, texts, progress=None):
        self.embedding.set()
        assert self.release.wait(30)
        return super().embed_passages(texts, progress)


def test_two_uploads_at_once_one_waits_for_nothing_and_is_told_why(template, tmp_path):
    embedder = HeldEmbedder()
    svc = make_service(template, tmp_path, embedder=embedder)
    first: list = []
    worker = threading.Thread(target=lambda: first.append(svc.upload("量子.txt", NEW_DOC.encode())))
    worker.start()
    try:
        assert embedder.embedding.wait(10)
        t0 = time.perf_counter()
        with pytest.raises(UploadError, match="another upload or removal is running"):
            svc.upload("第二.txt", NEW_DOC.replace("5000", "6000").encode())
        with pytest.raises(UploadError, match="another upload or removal is running"):
            svc.remove("xinzhou-2021")
        assert time.perf_counter() - t0 < 5
    finally:
        embedder.release.set()
        worker.join(30)
    assert first and first[0].action == "upload" and not (svc.corpus_dir / "第二.txt").exists()
    data = open_index(svc.retriever.index_dir)  # checksums and counts verify
    assert {"xinzhou-2021", first[0].doc_id} <= set(data.manifest["documents"]) and len(data.manifest["documents"]) == 5
    assert len(list(svc.retriever.index_dir.glob("v-*"))) == 2  # the live one and the one before (keep_versions=1)


def test_an_upload_while_the_cli_builds_is_refused_and_changes_nothing(fresh):
    client = local_client(create_app(hashing_settings(fresh.corpus_dir.parent), service=fresh, ui=False))
    version = current_version(fresh.retriever.index_dir).name
    with BuildLock(fresh.retriever.index_dir):  # what `policyqa build` holds
        r = client.post("/api/documents", files={"file": ("量子.txt", NEW_DOC.encode())})
        assert r.status_code == 400 and "另一个进程重建" in r.json()["error"]
    assert not (fresh.corpus_dir / "量子.txt").exists() and current_version(fresh.retriever.index_dir).name == version
    assert client.post("/api/documents", files={"file": ("量子.txt", NEW_DOC.encode())}).status_code == 200
