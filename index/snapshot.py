"""One loaded index version and everything derived from it, as one immutable value readers share.

A question reads the index several times (routing, both retrievers, exact clause lookups, refusal
rules, place checks); if a reload replaced any of those pieces in between, one answer could mix two
versions (a clause shown with another clause's score, rows of one version indexing another). So a
reader takes one `Snapshot` at the start and uses only it; a reload builds a complete new Snapshot
and swaps one reference (`SnapshotHolder`), and the old one lives on, untouched, until its last
reader drops it (plain reference counting: everything is in memory, nothing reads the folder again).

`IndexWatcher` polls the folder's CURRENT pointer, so a version published by another process (the
CLI's `policyqa build`) is verified and switched to within `interval` seconds.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping, TypeVar

import numpy as np

from index.engine import EngineSpec
from index.item_store import read_items
from index.lexical import Tokenizer
from index.store import IndexData, live_version_name, open_index
from index.vocabulary import CorpusVocabulary
from ingest.records import DocMeta
from policyqa.errors import IndexFolderError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class DocFile:
    """One indexed document as the index folder records it: its file relative to the corpus folder, the
    sha256 of its bytes (hex), its format (txt, md, docx, html, pdf), title and clause count."""

    source: str
    content_hash: str
    format: str
    title: str
    clauses: int


@dataclass(frozen=True, eq=False)
class Snapshot:
    """A loaded index version with its lookups: rows per document, unit names, document metadata, the
    tokenizer, the corpus's own vocabulary (index/vocabulary.py). `derived(key, build)` memoises further per-version views (refusal rules, place names)."""

    data: IndexData
    documents: Mapping[str, DocMeta]
    units: tuple[str, ...]
    rows_by_doc: Mapping[str, np.ndarray]
    tokenizer: Tokenizer
    vocabulary: CorpusVocabulary = CorpusVocabulary()
    _memo: dict = field(default_factory=dict, repr=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of(cls, data: IndexData, tokenizer: Tokenizer | None = None) -> "Snapshot":
        """Derive the lookups of `data`; reuse `tokenizer` when its user dictionary is the same."""
        rows: dict[str, list[int]] = {}
        for row, c in enumerate(data.clauses):
            rows.setdefault(c.doc_id, []).append(row)
        wanted = Tokenizer(data.manifest.get("user_words", []))  # cheap: jieba loads on first use
        if tokenizer is None or tokenizer.user_words != wanted.user_words:
            tokenizer = wanted
        return cls(data=data, documents=MappingProxyType(dict(data.documents)),
                   units=tuple(sorted({u for c in data.clauses for u in c.departments})),
                   rows_by_doc=MappingProxyType({k: np.asarray(v, dtype=np.int64) for k, v in rows.items()}),
                   tokenizer=tokenizer, vocabulary=CorpusVocabulary.from_json(data.manifest.get("vocabulary") or {}))

    @property
    def version(self) -> str:
        """The version folder's name (e.g. v-20261130T120000-a1b2c3), recorded with every result."""
        return self.data.folder.name

    @property
    def clauses(self):
        """The clause records in row order."""
        return self.data.clauses

    @property
    def items(self) -> tuple:
        """The version's support items (ingest/items.SupportItem), read on first use and kept."""
        return self.derived("items", lambda: tuple(read_items(self.data.folder)))

    @property
    def manifest(self) -> dict:
        """The version's manifest (read-only by convention)."""
        return self.data.manifest

    @property
    def embedding_model(self) -> str:
        """The embedding model the version was built with."""
        return self.data.manifest.get("embedding_model", "")

    @property
    def built_at(self) -> str:
        """When the version was built (ISO 8601, UTC)."""
        return self.data.manifest.get("built_at", "")

    def doc_files(self) -> Mapping[str, DocFile]:
        """doc_id → DocFile for every indexed document (built once per version)."""
        return self.derived("doc_files", lambda: MappingProxyType({
            d: DocFile(r.get("source", ""), r.get("content_hash", ""), r.get("format", ""), r.get("title", ""),
                       int(r.get("clauses", 0)))
            for d, r in self.data.manifest["documents"].items()}))

    def doc_format(self, doc_id: str) -> str:
        """The file format of one document, or "" when it is not indexed."""
        row = self.doc_files().get(doc_id)
        return row.format if row else ""

    def derived(self, key: str, build: Callable[[], T]) -> T:
        """`build()` once per snapshot under `key`; later calls return the same object."""
        with self._memo_lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]


class SnapshotHolder:
    """The live Snapshot of one index folder: loaded on first use, swapped whole by `refresh`."""

    def __init__(self, index_dir: Path, model: str | None, engine: EngineSpec | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.model = model
        self.engine = engine  # lends a Milvus token; the engine itself is the one the manifest names
        self._current: Snapshot | None = None
        self._load_lock = threading.Lock()  # one load at a time; readers never wait for it after the first

    def get(self) -> Snapshot:
        """The live snapshot (loading the index the first time)."""
        snap = self._current
        if snap is None:
            self.refresh()
            snap = self._current
        return snap

    def refresh(self) -> bool:
        """Load the version CURRENT names if it is not the loaded one: open and verify it (sizes, sha256,
        row counts), warm its tokenizer, then swap. Returns whether it switched. IndexFolderError if the
        version fails its checks (the loaded snapshot, if any, keeps serving)."""
        with self._load_lock:
            old = self._current
            if old is not None and live_version_name(self.index_dir) == old.version:
                return False
            data = open_index(self.index_dir, model=self.model, engine=self.engine)
            if old is not None and data.folder.name == old.version:
                data.engine.close()
                return False
            snap = Snapshot.of(data, old.tokenizer if old else None)
            snap.tokenizer.tokens("预热")  # jieba's dictionary loads here, not in the first question
            self._current = snap  # one reference assignment: readers see the old or the new, never a mix
            return True

    def loaded(self) -> Snapshot | None:
        """The snapshot in memory, or None before the first load (never loads)."""
        return self._current

    def close(self) -> None:
        """Let the loaded version's engine go (a Milvus connection, a Lite file another process may
        then open); the next `get` loads again."""
        with self._load_lock:
            if self._current is not None:
                self._current.data.engine.close()
                self._current = None


class IndexWatcher:
    """A daemon thread that calls `holder.refresh()` every `interval` seconds and `on_switch(snapshot)`
    after a switch; a version that fails its checks is logged once and retried when CURRENT moves on."""

    def __init__(self, holder: SnapshotHolder, interval: float = 2.0,
                 on_switch: Callable[[Snapshot], None] | None = None) -> None:
        self.holder = holder
        self.interval = interval
        self.on_switch = on_switch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed = ""

    def start(self) -> "IndexWatcher":
        """Start polling (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="policyqa-index-watcher", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling and wait for the thread to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def check(self) -> bool:
        """One poll: switch to a newly published version if there is one; returns whether it switched."""
        name = live_version_name(self.holder.index_dir)
        if not name or name == self._failed:
            return False
        try:
            switched = self.holder.refresh()
        except IndexFolderError as exc:
            if live_version_name(self.holder.index_dir) != name:
                return False  # CURRENT moved on while loading (its folder was replaced): try the newer one next
            if name != self._failed:
                self._failed = name
                log.error("index version %s was published but fails its checks, so the app keeps serving %s: %s",
                          name, getattr(self.holder.loaded(), "version", "nothing"), exc)
            return False
        if switched:
            snap = self.holder.get()
            log.warning("switched to index version %s (%d documents, %d clauses), published in %s",
                        snap.version, len(snap.documents), len(snap.clauses), self.holder.index_dir)
            if self.on_switch:
                self.on_switch(snap)
        return switched

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # never let the watcher die: the next poll tries again
                log.exception("index watcher: unexpected error while checking %s", self.holder.index_dir)
