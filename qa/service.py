"""One long-lived Service behind the web app: a warmed-up Retriever and Answerer, the corpus folder and its rules.

What it adds to the library: the views the UI and API show (departments, documents with clause trees,
政策匹配 eligibility from qa/eligibility.py), safe uploads and removals that rebuild the index
incrementally, and generators behind the gate of qa/gate.py (bounded concurrent generation). Trade-offs:
- An upload is validated (name, type, size, `load_text`, at least one clause) in a hidden staging file
  that the corpus scanner ignores; only a file that passes is linked into the corpus, never over
  another file. A failed build removes it again (a removal is restored), so the corpus and the index
  agree after every change. Changes are serialised by one lock per Service (and build_index's flock).
- Uploads are bounded (size, documents in the index, a .docx's unpacked size) and a question or upload
  carrying chat-template control tokens (`<|im_start|>` …) is refused: llama.cpp tokenises message text
  with special tokens on, so such text could open a fake system turn.
- After a build the new version is opened and verified before the loaded one is dropped, so a version
  that fails its checks never replaces a working index in memory.
"""

from __future__ import annotations

import logging
import hashlib
import io
import os
import re
import secrets
import threading
import unicodedata
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Sequence

from index.build import BuildLockedError, BuildReport, build_index
from index.embedder import Embedder
from index.search import Retriever
from index.store import doc_meta_to_json, open_index
from ingest.corpus import load_document
from ingest.departments import UnitCount, clauses_for_unit, resolve_unit, unit_counts
from ingest.loaders import SUPPORTED
from ingest.records import Clause, DocMeta, SearchResult
from ingest.splitter import split_document
from policyqa.errors import (
    IndexFolderError, IngestError, NotFoundError, PolicyQAError, QuestionError, UploadError,
    UploadTooLargeError,
)
from qa.answer import Answer
from qa.chain import Answerer, Event
from qa.eligibility import Eligibility, match_clauses
from qa.gate import GenerationGate, gated
from qa.generators import CONTROL_TOKEN, Generator

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from policyqa.settings import Settings

_MB = 1024 * 1024
DOCX_UNPACKED_RATIO = 10  # a .docx may unpack to at most this many times max_file_mb (zip bombs)


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
        from ingest.departments import unit_role  # here, so this edit stays inside the class

        return unit_role(self.name, clause)

    def to_json(self) -> dict:
        """The shape of `policyqa departments NAME --json`."""
        return {"name": self.name, "total": self.total, "lead": self.lead, "cooperating": self.cooperating,
                "documents": [
                    {"doc_id": doc_id, "doc_title": title,
                     "clauses": [dict(c.to_json(), role=self.role(c)) for c in items]}
                    for doc_id, title, items in self.groups]}


@dataclass(frozen=True)
class CorpusChange:
    """What an upload or removal did: the file, the document, and the index build that followed."""

    action: str  # "upload" | "remove" | "unchanged"
    file: str  # path relative to the corpus folder
    doc_id: str
    title: str
    clauses: int
    message: str  # one Chinese sentence for the user
    renamed_from: str = ""
    build: BuildReport | None = field(default=None, compare=False)

    def to_json(self) -> dict:
        """The change as JSON (build counts included)."""
        b = self.build
        return {"action": self.action, "file": self.file, "doc_id": self.doc_id, "title": self.title,
                "clauses": self.clauses, "message": self.message, "renamed_from": self.renamed_from,
                "build": None if b is None else {"version": b.version, "documents": b.documents, "clauses": b.clauses,
                                                 "embedded": b.embedded, "seconds": round(b.seconds, 2)}}


# --------------------------------------------------------------------------- pure helpers


def safe_filename(filename: str) -> str:
    """The file name to store an upload under: no folders, no '..', not hidden, printable, a stem of ≤ 100
    characters and ≤ 180 UTF-8 bytes (file systems allow 255 bytes; "-2" and the removal prefix need room)."""
    name = re.split(r"[\\/]", unicodedata.normalize("NFC", filename or ""))[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    name = re.sub(r"\.{2,}", ".", name).lstrip(". ~$")  # hidden and Office lock names are ignored by the scanner
    name = re.sub(r"\s+", " ", name)
    if name.upper().startswith("README"):
        name = "doc-" + name  # the scanner skips README files
    stem, suffix = os.path.splitext(name)
    stem = stem[:100]
    while len(stem.encode("utf-8")) > 180:
        stem = stem[:-1]
    return stem.strip() + suffix.lower() if stem.strip() else ""


def control_token(text: str) -> str:
    """The first chat-template control token (such as <|im_start|>) in `text`, or ""."""
    found = CONTROL_TOKEN.search(text or "")
    return found.group() if found else ""


def check_docx_size(data: bytes, name: str, max_unpacked: int) -> None:
    """UploadError if a .docx (a zip) would unpack to more than `max_unpacked` bytes, before anything is unpacked."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return  # not a zip at all: the docx loader refuses it with its own message
    if unpacked > max_unpacked:  # zipfile never inflates a member beyond its declared size
        raise UploadError(f"文件“{name}”解压后为 {unpacked / _MB:.0f} MB，超过 {max_unpacked / _MB:g} MB 的上限"
                          f"（max_file_mb 的 {DOCX_UNPACKED_RATIO} 倍），可能是压缩炸弹，已拒绝")


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
                 max_documents: int = 500) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.corpus_dir = Path(corpus_dir)
        self.max_bytes = int(max_file_mb * _MB)
        self.max_documents = max_documents
        self.max_clause_chars = max_clause_chars
        self.search_k = search_k
        self.gate = gate
        self._change_lock = threading.Lock()

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
        retriever = Retriever(settings.index_dir, embedder, max_question_chars=settings.max_question_chars)
        factories = gated(generators if generators is not None else generator_factories(settings), gate)
        answerer = Answerer(retriever, factories, PromptLibrary(settings.prompts_dir),
                            default_generator=settings.generator, k=settings.search_k)
        return cls(retriever, answerer, settings.corpus_dir, max_file_mb=settings.max_file_mb,
                   max_clause_chars=settings.max_clause_chars, search_k=settings.search_k, gate=gate,
                   max_documents=settings.max_documents)

    def warm_up(self, *, generator: bool = False) -> "Service":
        """Load the index and the embedding model now, not on the first question; with `generator`, the
        default generator too (a failure is logged: search and extractive answers still work)."""
        self.retriever.warm_up()
        _ = self.answerer.policy  # built from the index's documents
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
        return unit_counts(self.retriever.data.clauses)

    def department(self, name: str) -> DepartmentView:
        """Every provision `name` leads or shares, grouped by document (as `policyqa departments NAME`)."""
        data = self.retriever.data
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
        data = self.retriever.data
        rows = data.manifest["documents"]
        by_doc: dict[str, list[Clause]] = {}
        for c in data.clauses:
            by_doc.setdefault(c.doc_id, []).append(c)
        return [DocumentInfo(meta, rows[d].get("format", ""), len(by_doc.get(d, [])), clause_tree(by_doc.get(d, [])))
                for d, meta in data.documents.items()]

    def clauses(self, doc_id: str | None = None) -> list[Clause]:
        """Every indexed clause (of one document if `doc_id` is given), in document order."""
        return [c for c in self.retriever.data.clauses if doc_id is None or c.doc_id == doc_id]

    def eligibility(self, kinds: Sequence[str], place: str | None, needs: Sequence[str]) -> Eligibility:
        """政策匹配: clauses for these kinds of applicant and needs, within the place's documents if one is given."""
        doc_ids: list[str] = []
        if place:
            try:
                doc_ids = self.retriever.resolve_docs(place) or []
            except PolicyQAError:
                names = "、".join(m.region or m.title for m in self.retriever.data.documents.values())
                raise NotFoundError(f"没有“{place}”的政策文件；现有：{names}") from None
        items = match_clauses(self.retriever.data.clauses, list(kinds), list(needs), doc_ids)
        return Eligibility(tuple(kinds), tuple(needs), tuple(doc_ids), items)

    def health(self) -> dict:
        """Status, counts, model and index version (GET /api/health)."""
        data = self.retriever.data
        return {"status": "ok", "documents": len(data.documents), "clauses": len(data.clauses),
                "model": data.manifest.get("embedding_model", ""), "index_version": data.folder.name,
                "built_at": data.manifest.get("built_at", ""), "default_generator": self.answerer.default_generator,
                "generation": {"limit": self.gate.limit, "queue": self.gate.queue, "pending": self.gate.pending}
                if self.gate else None}

    # ---- corpus changes --------------------------------------------------------------------
    def check_upload(self, filename: str, size: int) -> str:
        """The safe name an upload of `size` bytes would be stored under, or UploadError (in Chinese)."""
        name = safe_filename(filename)
        suffix = Path(name).suffix.lower()
        if not name or not Path(name).stem:
            raise UploadError(f"文件名“{filename}”不可用，请改名后再上传")
        if suffix not in SUPPORTED:
            raise UploadError(f"不支持的文件类型“{suffix or '无扩展名'}”：请上传 {' / '.join(SUPPORTED)} 文件")
        if size > self.max_bytes:
            raise UploadTooLargeError(f"文件过大：{size / _MB:.1f} MB，上限为 {self.max_bytes / _MB:.3g} MB"
                                      "（设置 POLICYQA_MAX_FILE_MB），请拆分后再上传")
        if size == 0:
            raise UploadError("文件是空的（0 字节），请检查后重新上传")
        return name

    def upload(self, filename: str, content: bytes, progress: Callable[[int, int], None] | None = None) -> CorpusChange:
        """Validate `content`, store it in the corpus folder under a safe, unused name, and update the index."""
        name = self.check_upload(filename, len(content))
        digest = hashlib.sha256(content).hexdigest()
        for doc_id, row in self.retriever.data.manifest["documents"].items():
            if row.get("content_hash") == digest:
                return CorpusChange("unchanged", row.get("source", ""), doc_id, row["title"], row.get("clauses", 0),
                                    f"内容与已有文档《{row['title']}》完全相同，未重复添加")
        with self._changing():
            count = len(self.retriever.data.manifest["documents"])
            if count >= self.max_documents:
                raise UploadError(f"文档库已有 {count} 份文档，达到上限 {self.max_documents} 份（设置 POLICYQA_MAX_DOCUMENTS）："
                                  "请先删除不再需要的文档，或请管理员调高该上限")
            target = self._place(name, content)
            try:
                report = self._rebuild(progress)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
        rel = target.relative_to(self.corpus_dir).as_posix()
        doc_id, row = next((d, r) for d, r in self.retriever.data.manifest["documents"].items() if r.get("source") == rel)
        renamed = name if target.name != name else ""
        note = f"（同名文件已存在，另存为 {target.name}）" if renamed else ""
        return CorpusChange("upload", rel, doc_id, row["title"], row["clauses"],
                            f"已添加《{row['title']}》：{row['clauses']} 条条款，索引已更新{note}", renamed, report)

    def _place(self, name: str, content: bytes) -> Path:
        """Check `content` in a hidden staging file (the corpus scanner skips it), then link it in under a free name."""
        staged = self.corpus_dir / f".upload-{secrets.token_hex(6)}{Path(name).suffix}"
        try:
            if staged.suffix == ".docx":
                check_docx_size(content, name, DOCX_UNPACKED_RATIO * self.max_bytes)
            staged.write_bytes(content)
            doc = load_document(staged, name, None, max_bytes=self.max_bytes)
            if token := control_token(doc.text):
                raise UploadError(f"文件“{name}”中含有模型控制标记“{token}”，可能是针对问答模型的注入指令，已拒绝；"
                                  "请删除这些标记后再上传")
            if not split_document(doc, limit=self.max_clause_chars):
                raise UploadError(f"文件“{name}”中没有可拆分的条款文字")
            target = self._free_path(name)
            try:
                os.link(staged, target)  # never replaces a file, unlike a rename
            except FileExistsError:
                raise UploadError(f"文件名“{target.name}”刚被占用，请重新上传") from None
            except OSError:  # a file system without hard links
                with open(target, "xb") as fh:
                    fh.write(content)
            return target
        except IngestError as exc:
            raise UploadError(f"文件“{name}”无法读取：{exc.problem}" + (f"（{exc.hint}）" if exc.hint else "")) from None
        except OSError as exc:
            raise UploadError(f"无法写入文档库目录 {self.corpus_dir}：{exc.strerror or exc}") from None
        finally:
            staged.unlink(missing_ok=True)

    def remove(self, doc_id: str, progress: Callable[[int, int], None] | None = None) -> CorpusChange:
        """Delete a document's file from the corpus folder and update the index (the file returns if the build fails)."""
        with self._changing():
            row = self.retriever.data.manifest["documents"].get(doc_id)
            if row is None:
                raise NotFoundError(f"文档库中没有编号为“{doc_id}”的文档")
            path = (self.corpus_dir / row["source"]).resolve()
            if not path.is_relative_to(self.corpus_dir.resolve()) or not path.is_file():
                raise NotFoundError(f"找不到文档“{doc_id}”的文件 {row['source']}")
            parked = path.with_name(f".removed-{secrets.token_hex(4)}-{path.name}")
            os.replace(path, parked)
            try:
                report = self._rebuild(progress)
            except BaseException:
                os.replace(parked, path)
                raise
            parked.unlink(missing_ok=True)
        return CorpusChange("remove", row["source"], doc_id, row["title"], row.get("clauses", 0),
                            f"已删除《{row['title']}》，索引已更新", build=report)

    @contextmanager
    def _changing(self) -> Iterator[None]:
        if not self._change_lock.acquire(timeout=1.0):
            raise UploadError("另一个上传或删除正在进行，请稍后再试")
        try:
            yield
        finally:
            self._change_lock.release()

    def _free_path(self, name: str) -> Path:
        """`name` in the corpus folder, or name-2, name-3 … when taken (never overwrite another file)."""
        stem, suffix = os.path.splitext(name)
        target, n = self.corpus_dir / name, 1
        while target.exists() or target.is_symlink():
            n += 1
            target = self.corpus_dir / f"{stem}-{n}{suffix}"
        if not target.resolve().parent == self.corpus_dir.resolve():
            raise UploadError(f"文件名“{name}”不可用，请改名后再上传")  # unreachable after safe_filename
        return target

    def _rebuild(self, progress: Callable[[int, int], None] | None) -> BuildReport:
        try:
            report = build_index(self.corpus_dir, self.retriever.index_dir, self.retriever.embedder,
                                 limit=self.max_clause_chars, max_bytes=self.max_bytes, progress=progress)
        except BuildLockedError:
            raise UploadError("索引正在由另一个进程重建（policyqa build），请稍后再试") from None
        try:  # verify the new version before dropping the one in memory (which keeps serving if this fails)
            open_index(self.retriever.index_dir, model=self.retriever.embedder.name)
        except IndexFolderError as exc:
            raise IndexFolderError(f"the new index version {report.version} failed its checks, so the app keeps "
                                   f"serving the previous one until restarted: {exc}") from exc
        self.answerer.reload()  # retriever and refusal rules see the new documents
        _ = self.retriever.data  # load the new version now, not on the next question
        return report
