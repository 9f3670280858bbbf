"""One long-lived Service behind the web app: a warmed-up Retriever and Answerer, the corpus folder and its rules.

What it adds to the library: the views the UI and API show (departments in their places, documents
with clause trees, 政策匹配 eligibility from qa/eligibility.py, the 政策计算器 and 任务分工表 of
qa/calculator.py), corpus changes (qa/changes.py: each upload or removal a
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
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from index.search import Retriever
from index.snapshot import IndexWatcher
from ingest.departments import UnitCount, unit_counts
from ingest.records import Clause, SearchResult
from policyqa.errors import NotFoundError, PolicyQAError, QuestionError
from qa.answer import Answer
from qa.chain import Answerer, Event
from qa.changes import CorpusChange, CorpusEditor, control_token, safe_filename  # noqa: F401  (re-exported)
from qa.eligibility import Eligibility, match_clauses
from qa.gate import GenerationGate
from qa.journal import Recovery, recover
from qa.calculator import Calculator
from qa.views import DepartmentView, DocumentInfo, department_view, document_infos

log = logging.getLogger(__name__)

_MB = 1024 * 1024


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
        self.calculator = Calculator(retriever)  # 政策计算器 and 任务分工表 (qa/calculator.py)
        self.recovery = Recovery()

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
                raise QuestionError(f"chat-template control token {token!r} refused", value=token,
                                    hint="remove it and ask again", zh=f"问题中含有模型控制标记“{token}”，请删除后再问")
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

    def department(self, name: str, *, place: str | None = None, doc: str | None = None) -> DepartmentView:
        """Every provision `name` leads or shares, grouped by document (as `policyqa departments NAME`),
        within one place ("阳泉市·市科技局" names both) and document if given; NotFoundError /
        AmbiguousError when no unit or several match."""
        snap = self.retriever.snapshot()
        if "·" in name:
            place, name = name.split("·", 1)
        doc_ids = self.retriever.resolve_docs(doc, snap) if doc else None
        clauses = [c for c in snap.clauses if (not doc_ids or c.doc_id in doc_ids)
                   and (not place or place in snap.documents[c.doc_id].region)]
        return department_view(clauses, {d: m.title for d, m in snap.documents.items()}, name)

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document with metadata, format, clause count and outline."""
        return document_infos(self.retriever.snapshot())

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
            except NotFoundError:
                names = "、".join(m.region or m.title for m in snap.documents.values())
                raise NotFoundError(f"no documents of '{place}'", what="place", value=place, hint=f"known: {names}",
                                    zh=f"没有“{place}”的政策文件；现有：{names}") from None
        items = match_clauses(snap.clauses, list(kinds), list(needs), doc_ids, items=snap.items,
                              options=snap.vocabulary.eligibility)
        return Eligibility(tuple(kinds), tuple(needs), tuple(doc_ids), items)

    def eligibility_options(self) -> tuple[list[str], list[str]]:
        """政策匹配's choices in the live index: (kinds of applicant, needs), from the corpus's vocabulary."""
        options = self.retriever.snapshot().vocabulary.eligibility
        return list(options.get("kinds", {})), list(options.get("needs", {}))

    def health(self) -> dict:
        """Status, counts, model and index version (GET /api/health)."""
        data = self.retriever.snapshot()
        return {"status": "ok", "documents": len(data.documents), "clauses": len(data.clauses),
                "model": data.embedding_model, "index_version": data.version, "built_at": data.built_at, "default_generator": self.answerer.default_generator,
                "generation": {"limit": self.gate.limit, "queue": self.gate.queue, "pending": self.gate.pending}
                if self.gate else None, "corpus": self.recovery.to_json()}

    # ---- corpus changes ----------------------------------------------------------------------
    def check_upload(self, filename: str, size: int) -> str:
        """The safe name an upload of `size` bytes would be stored under, or UploadError (in Chinese)."""
        return self.editor.check_upload(filename, size)

    def upload(self, filename: str, content: bytes, progress: Callable[[int, int], None] | None = None) -> CorpusChange:
        """Store `content` in the corpus under a safe, unused name and publish an index with it (qa/changes.py)."""
        return self.editor.upload(filename, content, progress)

    def edit(self, doc_id: str, fields: Mapping[str, object],
             progress: Callable[[int, int], None] | None = None) -> CorpusChange:
        """Correct a document's title, date, issuer or region and publish an index with it (qa/docmeta.py)."""
        return self.editor.edit(doc_id, fields, progress)

    def remove(self, doc_id: str, progress: Callable[[int, int], None] | None = None) -> CorpusChange:
        """Delete a document's file and publish an index without it (qa/changes.py)."""
        return self.editor.remove(doc_id, progress)
