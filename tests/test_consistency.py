"""Consistent under change (fast tier): a request never sees two index versions, uploads and removals are
transactions, identical content is stored once, the app follows versions the CLI publishes, errors
always get a response.

Real HTTP (uvicorn on loopback, tests/serving.py), the seed corpus with the hashing embedder, and the real
field documents of ../shared/field as uploads. Every answer the app gives under change is checked against
the index version it names: that version must have been live during the request, and asking the same
question of that version alone must give the same hits and the same answer.
"""

from __future__ import annotations

import hashlib
import logging
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from app import create_app
from conftest import ROOT, hashing_settings, make_service
from index.store import live_version_name
from qa.journal import corpus_mismatch
from serving import FIELD, Timeline, app_env, field_documents, field_questions, replay_service, seed_questions, serving

needs_field = pytest.mark.skipif(not FIELD.is_dir(), reason=f"field documents not found at {FIELD} (shared/ beside the clone)")


def _ask_loop(base: str, questions: list[str], stop: threading.Event, out: list, seed: int,
              kinds: tuple[str, ...] = ("search", "ask")) -> None:
    """One client: searches and/or extractive answers back to back on one keep-alive connection until `stop`."""
    rnd = random.Random(seed)
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            q = rnd.choice(questions)
            kind = rnd.choice(kinds)
            path, body = ("/api/search", {"question": q, "k": 5}) if kind == "search" else \
                ("/api/ask", {"question": q, "generator": "extractive"})
            sent = time.monotonic()
            try:
                r = client.post(path, json=body)
                out.append((kind, q, sent, time.monotonic(), r.status_code, r.json()))
            except Exception as exc:  # a reset or a dropped connection is a failure of the server
                out.append((kind, q, sent, time.monotonic(), None, repr(exc)))


def _key(kind: str, body: dict):
    """What must be identical when the same question is asked of the same version."""
    if kind == "search":
        return [(h["clause_id"], round(h["score"], 5)) for h in body["hits"]]
    return (body["answer"], body["refused"], [c["clause_id"] for c in body["citations"]],
            [h["clause_id"] for h in body["related"]])


def _check_against_versions(results: list, timeline: Timeline, index_dir: Path, root: Path) -> None:
    failures = [r for r in results if r[4] != 200]
    assert not failures, f"{len(failures)} failed requests, e.g. {failures[:3]}"
    replays: dict[str, object] = {}
    for kind, q, sent, answered, _, body in results:
        version = body["index_version"]
        assert timeline.live_during(version, sent, answered), f"{kind} {q!r} answered from {version}, not live then"
        if version not in replays:
            replays[version] = replay_service(index_dir, version, root)
        svc = replays[version]
        again = svc.search(q, 5).to_json() if kind == "search" else svc.ask(q, generator="extractive").to_json()
        assert _key(kind, body) == _key(kind, again), f"{kind} {q!r} mixes versions: {body} vs {again}"


@needs_field
def test_uploads_and_removals_under_load_never_mix_versions(template, tmp_path):
    svc = make_service(template, tmp_path, keep_versions=100)  # every version stays on disk to replay
    questions = seed_questions() + field_questions()
    timeline = Timeline(svc.health()["index_version"])
    results: list = []
    stop = threading.Event()
    with serving(create_app(hashing_settings(tmp_path, keep_versions=100), service=svc, ui=False)) as base:
        clients = [threading.Thread(target=_ask_loop, args=(base, questions, stop, results, n)) for n in range(8)]
        for c in clients:
            c.start()
        added = []
        with httpx.Client(base_url=base, timeout=120) as admin:
            try:
                for path in field_documents():
                    sent = time.monotonic()
                    r = admin.post("/api/documents", files={"file": (path.name, path.read_bytes())})
                    assert r.status_code == 200, r.text
                    if r.json()["action"] == "upload":  # the same page is in two cases: stored once
                        timeline.changes.append((sent, time.monotonic(), r.json()["build"]["version"]))
                        added.append(r.json()["doc_id"])
                for doc_id in added:
                    sent = time.monotonic()
                    r = admin.delete(f"/api/documents/{doc_id}")
                    assert r.status_code == 200, r.text
                    timeline.changes.append((sent, time.monotonic(), r.json()["build"]["version"]))
            finally:
                stop.set()
                for c in clients:
                    c.join(60)
    assert len(added) == len({hashlib.sha256(p.read_bytes()).hexdigest() for p in field_documents()})
    assert len(results) > 100 and {r[0] for r in results} == {"search", "ask"}
    _check_against_versions(results, timeline, svc.retriever.index_dir, tmp_path)
    assert len({r[5]["index_version"] for r in results}) > 3  # the load really spanned several versions
    assert corpus_mismatch(svc.corpus_dir, svc.retriever.index_dir) == ((), ())


def test_the_same_file_under_two_names_at_once_is_stored_once(fresh):
    for n in range(20):
        content = (f"测试市第{n}号文件\n\n一、总则\n(一)本办法适用于测试市第{n}批次的科技型企业，"
                   f"补贴标准为每家{n + 1}万元。\n").encode()
        barrier = threading.Barrier(2)
        changes: list = []

        def send(name: str) -> None:
            barrier.wait()
            changes.append(fresh.upload(name, content))
        workers = [threading.Thread(target=send, args=(name,)) for name in (f"甲{n}.txt", f"乙{n}.txt")]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        stored = [p.name for p in fresh.corpus_dir.iterdir() if p.is_file() and p.read_bytes() == content]
        assert len(stored) == 1, (n, stored)
        assert sorted(c.action for c in changes) == ["unchanged", "upload"], (n, changes)
        rows = [r for r in fresh.retriever.snapshot().manifest["documents"].values() if r["source"] == stored[0]]
        assert len(rows) == 1 and len({c.doc_id for c in changes}) == 1  # both name the one stored document


def test_the_app_follows_a_version_the_cli_publishes_and_never_a_half_published_one(template, tmp_path):
    svc = make_service(template, tmp_path, keep_versions=100, watch_interval_s=0.2)
    old = svc.health()["index_version"]
    timeline = Timeline(old)
    results: list = []
    stop = threading.Event()
    with serving(create_app(hashing_settings(tmp_path), service=svc, ui=False)) as base:
        client = threading.Thread(target=_ask_loop, args=(base, ["氢能产业专项资金"], stop, results, 0, ("search",)))
        client.start()
        try:
            (tmp_path / "corpus" / "氢能.txt").write_text(
                "测试市氢能产业发展办法\n\n一、支持措施\n(一)市财政设立氢能产业专项资金，每年5000万元。\n", encoding="utf-8")
            sent = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "faces.cli", "build", "--quiet"], cwd=tmp_path,
                                  env=app_env(tmp_path, keep_versions="100"), capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            new = live_version_name(tmp_path / "index")
            published = time.monotonic()
            assert new != old
            while svc.health()["index_version"] != new:
                assert time.monotonic() - published < 5, "the app did not switch to the CLI's version within 5 s"
                time.sleep(0.05)
            timeline.changes.append((sent, time.monotonic(), new))
            time.sleep(0.5)
        finally:
            stop.set()
            client.join(30)
    answers = [r for r in results if r[4] == 200]
    assert answers and answers[-1][5]["hits"][0]["doc_id"] != answers[0][5]["hits"][0]["doc_id"]
    _check_against_versions(results, timeline, tmp_path / "index", tmp_path)


def test_a_published_version_that_fails_its_checks_is_not_switched_to(fresh, caplog):
    from index.store import current_version

    from test_faults import flip_bytes

    old = fresh.health()["index_version"]
    (fresh.corpus_dir / "氢能.txt").write_text("测试市氢能办法\n\n一、总则\n(一)设立氢能专项资金。\n", encoding="utf-8")
    from index.build import build_index
    from index.embedder import HashingEmbedder

    build_index(fresh.corpus_dir, fresh.retriever.index_dir, HashingEmbedder(), keep_versions=1)
    flip_bytes(current_version(fresh.retriever.index_dir) / "dense.faiss")
    with caplog.at_level(logging.ERROR):
        assert fresh.watcher.check() is False
        assert fresh.watcher.check() is False
    assert fresh.health()["index_version"] == old
    assert len([r for r in caplog.records if "fails its checks" in r.getMessage()]) == 1  # logged once


def test_an_unexpected_error_is_a_500_with_json_on_a_connection_that_stays_open(fresh, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise IndexError("index 7 is out of bounds")
    monkeypatch.setattr(fresh, "search", broken)
    body = '{"question": "人才"}'.encode()
    request = (b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    with caplog.at_level(logging.ERROR), serving(create_app(hashing_settings(fresh.corpus_dir.parent), service=fresh, ui=False)) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            replies = []
            for _ in range(3):  # three requests on one connection: each gets its answer
                sock.sendall(request)
                replies.append(_read_response(sock))
    assert all(r.startswith(b"HTTP/1.1 500") and "服务内部错误".encode() in r for r in replies)
    logged = [r for r in caplog.records if r.exc_info and "IndexError" in repr(r.exc_info[1])]
    assert len(logged) == 3  # once per failed request, with its cause


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b""
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_uploads_and_the_index_live_in_the_data_folder_and_tests_use_their_own(tmp_path):
    from conftest import TEST_DATA_DIR
    from policyqa.settings import Settings, default_data_dir, prepare_corpus

    settings = Settings()
    assert settings.data_dir == TEST_DATA_DIR != default_data_dir()
    assert settings.corpus_dir == TEST_DATA_DIR / "corpus" and settings.index_dir == TEST_DATA_DIR / "index"
    mine = Settings(data_dir=tmp_path / "data")
    assert prepare_corpus(mine) and not prepare_corpus(mine)  # seeded once, then left alone
    seeds = sorted(p.name for p in (ROOT / "corpus").iterdir() if not p.name.startswith("."))
    assert sorted(p.name for p in mine.corpus_dir.iterdir()) == seeds
    assert not mine.corpus_dir.is_relative_to(ROOT)
