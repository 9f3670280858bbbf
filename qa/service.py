"""One long-lived Service behind the web app: a warmed-up Retriever and Answerer, the corpus folder and its rules.

What it adds to the library: the views the UI and API show (departments, documents with clause trees,
政策匹配 eligibility from qa/eligibility.py), corpus changes (qa/changes.py: each upload or removal a
transaction over the corpus file, the index version and the loaded snapshot), the start-up check that
finishes or undoes a change a crash interrupted (qa/journal.py), a watcher that switches to versions
other processes publish, and generators behind the gate of qa/gate.py (bounded concurrent generation).
Trade-offs:
- Every view and answer reads one index snapshot from start to end, so a reload between two reads can
  never mix two versions in one response (index/snapshot.py).
- A question carrying chat-template control tokens (`<|im_start|>` …) is refused: llama.cpp tokenises
  message text with special tokens on, so such text could open a fake system turn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Sequence

from index.embedder import Embedder
from index.engine import engine_spec
from index.search import Retriever
from index.snapshot import IndexWatcher
from index.store import doc_meta_to_json
from ingest.departments import UnitCount, clauses_for_unit, resolve_unit, unit_counts, unit_role
from ingest.records import Clause, DocMeta, SearchResult
from policyqa.errors import NotFoundError, PolicyQAError, QuestionError
from qa.answer import Answer
from qa.chain import Answerer, Event
from qa.changes import CorpusChange, CorpusEditor, control_token, safe_filename  # noqa: F401  (re-exported)
from qa.eligibility import Eligibility, match_clauses
from qa.gate import GenerationGate, gated
from qa.generators import Generator
from qa.journal import Recovery, recover

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from policyqa.settings import Settings

_MB = 1024 * 1024


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class TreeNode:
    """One heading of a document's outline; `clause_id` is set when the heading is a clause itself."""

    title: str
    clause_id: str | None = None
    children: tuple["TreeNode", ...] = ()

    def to_json(self) -> dict:
        """{title, clause_id, children}."""
        return {"title": self.title, "clause_id": self.clause_id, "children": [c.to_json() for c in self.children]}


@dataclass(frozen=True)
class DocumentInfo:
    """A document in the index: metadata, file format, clause count and outline."""

    meta: DocMeta
    format: str
    clauses: int
    tree: tuple[TreeNode, ...]

    def to_json(self) -> dict:
        """The shape of one row of GET /api/documents."""
        return {"doc_id": self.meta.doc_id, **doc_meta_to_json(self.meta), "format": self.format,
                "clauses": self.clauses, "tree": [n.to_json() for n in self.tree]}


@dataclass(frozen=True)
class DepartmentView:
    """Every provision one unit leads or shares, grouped by document: (doc_id, title, clauses)."""

    name: str
    groups: tuple[tuple[str, str, tuple[Clause, ...]], ...]

    @property
    def total(self) -> int:
        """Number of provisions."""
        return sum(len(items) for _, _, items in self.groups)

    @property
    def lead(self) -> int:
        """Number of provisions the unit leads."""
        return sum(self.name in c.lead for _, _, items in self.groups for c in items)

    @property
    def cooperating(self) -> int:
        """Number of provisions the unit only supports (配合)."""
        return sum(self.role(c) == "cooperating" for _, _, items in self.groups for c in items)

    def role(self, clause: Clause) -> str:
        """The unit's role in one provision: "lead", "cooperating" (配合) or "shared" (responsible)."""
        return unit_role(self.name, clause)

    def to_json(self) -> dict:
        """The shape of `policyqa departments NAME --json`."""
        return {"name": self.name, "total": self.total, "lead": self.lead, "cooperating": self.cooperating,
                "documents": [
                    {"doc_id": doc_id, "doc_title": title,
                     "clauses": [dict(c.to_json(), role=self.role(c)) for c in items]}
                    for doc_id, title, items in self.groups]}


# --------------------------------------------------------------------------- pure helpers


def clause_tree(clauses: Sequence[Clause]) -> tuple[TreeNode, ...]:
    """A document's outline from its clauses' breadcrumb paths (sections without clauses of their own included)."""
    root: dict = {}
    for c in clauses:
        node = root
        for depth, title in enumerate(c.path):
            if depth == len(c.path) - 1:
                node = node.setdefault((title, c.id), {})
            else:  # a heading that is also a clause ("一、总体要求" with text) holds its sub-clauses
                key = next((k for k in reversed(node) if k[0] == title), (title, None))
                node = node.setdefault(key, {})

    def freeze(node: dict) -> tuple[TreeNode, ...]:
        return tuple(TreeNode(title, cid, freeze(child)) for (title, cid), child in node.items())
    return freeze(root)


# --------------------------------------------------------------------------- the service


class Service:
    """The library as the web app uses it: one warmed-up Retriever and Answerer over one corpus and index."""

    def __init__(self, retriever: Retriever, answerer: Answerer, corpus_dir: Path, *, max_file_mb: float = 20.0,
                 max_clause_chars: int = 400, search_k: int = 5, gate: GenerationGate | None = None,
                 max_documents: int = 500, keep_versions: int = 1, watch_interval_s: float = 2.0) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.corpus_dir = Path(corpus_dir)
        self.max_bytes = int(max_file_mb * _MB)
        self.search_k = search_k
        self.gate = gate
        self.editor = CorpusEditor(retriever, self.corpus_dir, max_bytes=self.max_bytes, max_documents=max_documents,
                                   max_clause_chars=max_clause_chars, keep_versions=keep_versions)
        self.watcher = IndexWatcher(retriever.holder, watch_interval_s)
        self.recovery = Recovery()

    @classmethod
    def from_settings(cls, settings: Settings, *, embedder: Embedder | None = None,
                      generators: Mapping[str, Callable[[], Generator]] | None = None,
                      gate: GenerationGate | None = None) -> "Service":
        """The Service the settings describe; `embedder`, `generators`, `gate` replace the configured ones (tests)."""
        from index.embedder import make_embedder
        from qa.factory import generator_factories
        from qa.prompts import PromptLibrary

        gate = gate or GenerationGate(settings.max_concurrent_generations,
                                      settings.generation_queue,
                                      settings.generation_wait_s)
        embedder = embedder or make_embedder(settings.embedding_model, batch_size=settings.embed_batch_size)
        retriever = Retriever(settings.index_dir, embedder, max_question_chars=settings.max_question_chars,
                              engine=engine_spec(settings))
        factories = gated(generators if generators is not None else generator_factories(settings), gate)
        answerer = Answerer(retriever, factories, PromptLibrary(settings.prompts_dir),
                            default_generator=settings.generator, k=settings.search_k)
        return cls(retriever, answerer, settings.corpus_dir, max_file_mb=settings.max_file_mb,
                   max_clause_chars=settings.max_clause_chars, search_k=settings.search_k, gate=gate,
                   max_documents=settings.max_documents, keep_versions=settings.keep_versions,
                   watch_interval_s=settings.watch_interval_s)

    def recover(self) -> Recovery:
        """The start-up check (qa/journal.py): finish or undo a change a crash interrupted, remove its
        debris, and report files the index lacks or has without a file. Run before the index loads."""
        self.recovery = recover(self.corpus_dir, self.retriever.index_dir, engine=self.retriever.engine)
        return self.recovery

    def warm_up(self, *, generator: bool = False) -> "Service":
        """Load the index and the embedding model now, not on the first question; with `generator`, the
        default generator too (a failure is logged: search and extractive answers still work)."""
        self.retriever.warm_up()
        snap = self.retriever.snapshot()
        self.answerer.policy(snap)  # refusal rules and place names are built from the documents now,
        self.answerer.places(snap)  # not on the first question
        if generator:
            try:
                self.answerer.warm_up()
            except PolicyQAError as exc:  # the app still serves search and extractive answers
                log.warning("could not warm up the %s generator: %s", self.answerer.default_generator, exc)
        return self

    # ---- questions ------------------------------------------------------------------------
    def stream(self, question: str, *, history: Sequence[str] = (), generator: str | None = None,
               doc: str | list[str] | None = None, department: str | None = None) -> Iterator[Event]:
        """Answer events (status, tokens, the final Answer); BusyError when the generation queue is full."""
        for text in (question, *history):
            if token := control_token(text):
                raise QuestionError(f"问题中含有模型控制标记“{token}”，请删除后再问 (chat-template control token {token!r} refused)")
        return self.answerer.stream(question, history=list(history), generator=generator or None,
                                    doc=doc or None, department=department or None)

    def ask(self, question: str, *, history: Sequence[str] = (), generator: str | None = None,
            doc: str | list[str] | None = None, department: str | None = None) -> Answer:
        """The final Answer of `stream`."""
        for event in self.stream(question, history=history, generator=generator, doc=doc, department=department):
            if event.kind == "answer" and event.answer is not None:
                return event.answer
        raise PolicyQAError("the answer chain ended without an answer")

    def search(self, question: str, k: int | None = None, *, doc: str | list[str] | None = None,
               department: str | None = None) -> SearchResult:
        """Hybrid search, as `policyqa search`."""
        return self.retriever.search(question, k=k or self.search_k, doc=doc or None, department=department or None)

    # ---- views ----------------------------------------------------------------------------
    def departments(self) -> list[UnitCount]:
        """Every responsible unit in the index with its lead and total provision counts."""
        return unit_counts(self.retriever.snapshot().clauses)

    def department(self, name: str) -> DepartmentView:
        """Every provision `name` leads or shares, grouped by document (as `policyqa departments NAME`)."""
        data = self.retriever.snapshot()
        matches = resolve_unit(name.strip(), [r.name for r in unit_counts(data.clauses)])
        if not matches:
            raise NotFoundError(f"没有名为“{name}”的责任单位 (no unit named '{name}'; GET /api/departments lists them)")
        if len(matches) > 1:
            raise PolicyQAError(f"“{name}”对应多个单位：{'、'.join(matches)}，请写全称 (give the full name)")
        titles = {d: m.title for d, m in data.documents.items()}
        grouped = clauses_for_unit(data.clauses, matches[0])
        return DepartmentView(matches[0], tuple((d, titles[d], tuple(items)) for d, items in grouped.items()))

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document with metadata, format, clause count and outline."""
        data = self.retriever.snapshot()
        rows = data.manifest["documents"]
        by_doc: dict[str, list[Clause]] = {}
        for c in data.clauses:
            by_doc.setdefault(c.doc_id, []).append(c)
        return [DocumentInfo(meta, rows[d].get("format", ""), len(by_doc.get(d, [])), clause_tree(by_doc.get(d, [])))
                for d, meta in data.documents.items()]

    def clauses(self, doc_id: str | None = None) -> list[Clause]:
        """Every indexed clause (of one document if `doc_id` is given), in document order."""
        return [c for c in self.retriever.snapshot().clauses if doc_id is None or c.doc_id == doc_id]

    def eligibility(self, kinds: Sequence[str], place: str | None, needs: Sequence[str]) -> Eligibility:
        """政策匹配: clauses for these kinds of applicant and needs, within the place's documents if one is given."""
        snap = self.retriever.snapshot()
        doc_ids: list[str] = []
        if place:
            try:
                doc_ids = self.retriever.resolve_docs(place, snap) or []
            except PolicyQAError:
                names = "、".join(m.region or m.title for m in snap.documents.values())
                raise NotFoundError(f"没有“{place}”的政策文件；现有：{names}") from None
        items = match_clauses(snap.clauses, list(kinds), list(needs), doc_ids)
        return Eligibility(tuple(kinds), tuple(needs), tuple(doc_ids), items)

    def health(self) -> dict:
        """Status, counts, model and index version (GET /api/health)."""
        data = self.retriever.snapshot()
        return {"status": "ok", "documents": len(data.documents), "clauses": len(data.clauses),
                "model": data.manifest.get("embedding_model", ""), "index_version": data.version,
                "built_at": data.manifest.get("built_at", ""), "default_generator": self.answerer.default_generator,
                "generation": {"limit": self.gate.limit, "queue": self.gate.queue, "pending": self.gate.pending}
                if self.gate else None, "corpus": self.recovery.to_json()}

    # ---- corpus changes ----------------------------------------------------------------------
    def check_upload(self, filename: str, size: int) -> str:
        """The safe name an upload of `size` bytes would be stored under, or UploadError (in Chinese)."""
        return self.editor.check_upload(filename, size)

    def upload(self, filename: str, content: bytes, progress: Callable[[int, int], None] | None = None) -> CorpusChange:
        """Store `content` in the corpus under a safe, unused name and publish an index with it (qa/changes.py)."""
        return self.editor.upload(filename, content, progress)

    def remove(self, doc_id: str, progress: Callable[[int, int], None] | None = None) -> CorpusChange:
        """Delete a document's file and publish an index without it (qa/changes.py)."""
        return self.editor.remove(doc_id, progress)
