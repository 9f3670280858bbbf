"""Crash safety for corpus changes: a journal of the change in progress, a lock shared across processes,
and the start-up check that finds a change a crash interrupted and completes or rolls it back.

    INDEX_DIR/change.json   the change in progress: {"action": "upload"|"remove", "file", "sha256",
                            "parked", "before"}; written (fsynced, atomically) before the corpus is
                            touched, removed after the new index version is live
    INDEX_DIR/change.lock   flock held for a whole change (an upload, a removal, `policyqa build`);
                            the kernel drops it when its process dies, so a held lock means a live change

The rule after a crash: a change is complete exactly when the live index version has it (an upload's
file with its content hash; a removal's document gone); then what is left of it is finished (a parked
file deleted). Otherwise it is undone (the uploaded file removed, the removed file put back), so the
corpus and the index agree again and nothing is silently embedded by the next build. The upload
staging files a crash leaves behind are deleted, and so are unpublished version folders of a killed
build (only while no build holds the build lock).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from index.build import BuildLock, BuildLockedError
from index.engine import EngineSpec
from index.locks import FileLock, LockHeld
from index.store import file_digest, live_version_name, open_index, point_to, read_manifest
from ingest.loaders import iter_corpus_files
from policyqa.errors import IndexFolderError, IngestError

log = logging.getLogger(__name__)
JOURNAL = "change.json"
CHANGE_LOCK = "change.lock"
STAGED_PREFIX = ".upload-"
PARKED_PREFIX = ".removed-"


class ChangeLockedError(IndexFolderError):
    """Another process is changing the corpus and index right now."""


@contextmanager
def change_lock(index_dir: Path, *, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold INDEX_DIR/change.lock. If another process holds it: ChangeLockedError at once, or, with
    `on_wait`, call it with the reason and wait for the lock."""
    def reason(holder: str) -> str:
        return f"the corpus and index in {index_dir} are being changed by {holder}"
    waiting = (lambda holder: on_wait(reason(holder))) if on_wait else None
    try:
        lock = FileLock(index_dir / CHANGE_LOCK, on_wait=waiting).__enter__()
    except LockHeld as held:
        raise ChangeLockedError(f"{reason(held.holder)}; wait for it to finish and try again") from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def write_journal(index_dir: Path, entry: dict) -> None:
    """Record the change about to happen (atomically, fsynced: it must be on disk before the corpus moves)."""
    tmp = index_dir / (JOURNAL + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(entry, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / JOURNAL)


def clear_journal(index_dir: Path) -> None:
    """The change is finished (done or undone): forget it."""
    (index_dir / JOURNAL).unlink(missing_ok=True)


def read_journal(index_dir: Path) -> dict | None:
    """The change a crash interrupted, or None."""
    path = index_dir / JOURNAL
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        log.error("ignoring the unreadable change journal %s (%s); the corpus check below reports any mismatch", path, exc)
        return None
    return entry if isinstance(entry, dict) and entry.get("action") in ("upload", "remove") else None


@dataclass(frozen=True)
class Recovery:
    """What the start-up check found and did: `outcome` of an interrupted change ("completed",
    "rolled back" or ""), debris removed, and the corpus/index mismatch left (files not indexed,
    indexed documents whose file is gone; relative paths)."""

    outcome: str = ""
    change: dict | None = None
    debris: tuple[str, ...] = ()
    unindexed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """The `corpus` part of GET /api/health."""
        return {"recovered": {"outcome": self.outcome, **(self.change or {})} if self.outcome else None,
                "unindexed": list(self.unindexed), "missing": list(self.missing)}


def recover(corpus_dir: Path, index_dir: Path, *, locked: bool = False, check_corpus: bool = True,
            engine: EngineSpec | None = None) -> Recovery:
    """Finish or undo a change a crash interrupted, remove crash debris, and report what still differs
    between the corpus and the live index. Logs one line for each thing it did. `locked`: the caller
    holds the change lock; otherwise it is taken here, and nothing is done if another process holds it
    (a change is running, not interrupted). `check_corpus=False` skips comparing the corpus with the
    index (a build that follows brings them together anyway)."""
    if not index_dir.is_dir() or not corpus_dir.is_dir():
        return Recovery()
    try:
        with change_lock(index_dir) if not locked else nullcontext():
            outcome, entry = _finish_journal(corpus_dir, index_dir, engine)
            debris = _remove_debris(corpus_dir, index_dir)
            unindexed, missing = corpus_mismatch(corpus_dir, index_dir) if check_corpus else ((), ())
    except ChangeLockedError as exc:
        log.info("start-up check skipped: %s", exc)
        return Recovery()
    if unindexed or missing:
        log.warning("the corpus and the index differ: %d file(s) not in the index (%s), %d indexed document(s) whose "
                    "file is gone (%s); run `policyqa build` to bring the index up to date",
                    len(unindexed), "、".join(unindexed[:5]) or "none", len(missing), "、".join(missing[:5]) or "none")
    return Recovery(outcome, entry, debris, unindexed, missing)


def _finish_journal(corpus_dir: Path, index_dir: Path, engine: EngineSpec | None = None) -> tuple[str, dict | None]:
    entry = read_journal(index_dir)
    if entry is None:
        return "", None
    file = corpus_dir / entry["file"]
    sources = _live_sources(index_dir, entry.get("before", ""), engine)
    if entry["action"] == "upload":
        done = sources.get(entry["file"]) == entry.get("sha256")
        if not done and file.is_file() and file_digest(file) == entry.get("sha256"):
            file.unlink()
        what = f"upload of {entry['file']}"
    else:
        done = entry["file"] not in sources
        parked = corpus_dir / Path(entry["file"]).parent / entry.get("parked", "")
        if entry.get("parked") and parked.is_file():
            if done:
                parked.unlink()
            elif not file.exists():
                os.replace(parked, file)
        what = f"removal of {entry['file']}"
    outcome = "completed" if done else "rolled back"
    clear_journal(index_dir)
    log.warning("recovered an interrupted %s: %s (the live index version %s %s it)", what, outcome,
                live_version_name(index_dir) or "(none)", "has" if done == (entry["action"] == "upload") else "lacks")
    return outcome, entry


def _live_sources(index_dir: Path, before: str, engine: EngineSpec | None = None) -> dict[str, str]:
    """source → content hash of the live version; a live version that fails its checks is rolled back
    to `before` first (a crash between publishing and verifying)."""
    try:
        data = open_index(index_dir, engine=engine)
    except IndexFolderError as exc:
        if not before or live_version_name(index_dir) == before:
            raise
        log.error("the index version published by the interrupted change fails its checks (%s); going back to %s", exc, before)
        point_to(index_dir, before)
        data = open_index(index_dir, engine=engine)
    data.engine.close()
    return {row.get("source", ""): row.get("content_hash", "") for row in data.manifest["documents"].values()}


def _remove_debris(corpus_dir: Path, index_dir: Path) -> tuple[str, ...]:
    """Staged uploads a crash left in the corpus folder, and version folders a killed build wrote but never
    published (newer than CURRENT; only while no build holds build.lock)."""
    removed = []
    for staged in corpus_dir.rglob(STAGED_PREFIX + "*"):
        staged.unlink(missing_ok=True)
        removed.append(staged.relative_to(corpus_dir).as_posix())
    live = live_version_name(index_dir)
    try:
        with BuildLock(index_dir):
            for version in index_dir.glob("v-*"):
                if live and version.is_dir() and version.name > live:
                    shutil.rmtree(version, ignore_errors=True)
                    removed.append(version.name)
    except BuildLockedError:
        pass  # a build is running: its folder is not debris
    if removed:
        log.warning("removed what an interrupted change left behind: %s", "、".join(removed))
    return tuple(removed)


def corpus_mismatch(corpus_dir: Path, index_dir: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(files in the corpus the live index lacks or has with other content, indexed sources whose file is
    gone), as paths relative to the corpus folder; ((), ()) when there is no index to compare with."""
    try:
        found = read_manifest(index_dir)
        files, _ = iter_corpus_files(corpus_dir)
    except (IndexFolderError, IngestError):
        return (), ()
    if found is None:
        return (), ()
    indexed = {row.get("source", ""): row.get("content_hash", "") for row in found[1]["documents"].values()}
    present = {p.relative_to(corpus_dir).as_posix(): p for p in files}
    unindexed = tuple(rel for rel, p in present.items() if indexed.get(rel) != file_digest(p))
    missing = tuple(sorted(rel for rel in indexed if rel not in present))
    return unindexed, missing
