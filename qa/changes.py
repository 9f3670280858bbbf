"""Corpus changes as transactions: an upload or a removal moves the corpus file, the index version and the
app's snapshot together, or none of them.

One change at a time per index folder: a thread lock inside the process and INDEX_DIR/change.lock across
processes (the CLI's build takes it too). Inside it, the change is journalled (qa/journal.py) before the
corpus is touched; the index is rebuilt incrementally; the new version is verified and swapped in; only
then is the journal cleared. A failure at any step undoes what was done (the file removed or put back,
CURRENT moved back to the version before); a crash is finished or undone by `recover` at the next start.

Duplicates are checked under the lock, against the version live at that moment, so the same content
sent twice at once is stored once; a second upload of content that is being added right now waits
for the first and is answered "unchanged" instead of "busy".
"""

from __future__ import annotations

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
from typing import Callable, Iterator

from index.build import BuildLockedError, BuildReport, build_index
from index.search import Retriever
from index.snapshot import Snapshot
from index.store import point_to
from ingest.corpus import load_document
from ingest.loaders import SUPPORTED
from ingest.splitter import split_document
from policyqa.errors import IndexFolderError, IngestError, NotFoundError, UploadError, UploadTooLargeError
from qa.generators import CONTROL_TOKEN
from qa.journal import PARKED_PREFIX, STAGED_PREFIX, ChangeLockedError, change_lock, clear_journal, write_journal

_MB = 1024 * 1024
DOCX_UNPACKED_RATIO = 10  # a .docx may unpack to at most this many times max_file_mb (zip bombs)
SAME_CONTENT_WAIT_S = 600.0  # how long an identical upload waits for the first one to finish


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
        raise UploadError(f"{name} unpacks to {unpacked / _MB:.0f} MB, over the {max_unpacked / _MB:g} MB limit "
                          f"({DOCX_UNPACKED_RATIO} x max_file_mb): possibly a zip bomb", value=name,
                          zh=f"文件“{name}”解压后为 {unpacked / _MB:.0f} MB，超过 {max_unpacked / _MB:g} MB 的上限"
                             f"（max_file_mb 的 {DOCX_UNPACKED_RATIO} 倍），可能是压缩炸弹，已拒绝")


def _building() -> UploadError:
    return UploadError("another process (policyqa build) is rebuilding the index", hint="try again shortly",
                       zh="索引正在由另一个进程重建（policyqa build），请稍后再试")


class CorpusEditor:
    """Uploads and removals on one corpus folder and its index, each a transaction (see the module)."""

    def __init__(self, retriever: Retriever, corpus_dir: Path, *, max_bytes: int, max_documents: int,
                 max_clause_chars: int, keep_versions: int = 1) -> None:
        self.retriever = retriever
        self.corpus_dir = Path(corpus_dir)
        self.max_bytes = max_bytes
        self.max_documents = max_documents
        self.max_clause_chars = max_clause_chars
        self.keep_versions = max(1, keep_versions)  # the version before a change is needed to roll it back
        self._lock = threading.Lock()
        self._pending: dict[str, threading.Event] = {}  # content sha256 → set when that upload has finished
        self._pending_lock = threading.Lock()

    def check_upload(self, filename: str, size: int) -> str:
        """The safe name an upload of `size` bytes would be stored under, or UploadError."""
        name = safe_filename(filename)
        suffix = Path(name).suffix.lower()
        if not name or not Path(name).stem:
            raise UploadError("unusable file name", value=filename, hint="rename the file",
                              zh=f"文件名“{filename}”不可用，请改名后再上传")
        if suffix not in SUPPORTED:
            raise UploadError("unsupported file type", value=suffix, hint=f"upload {' / '.join(SUPPORTED)} files",
                              zh=f"不支持的文件类型“{suffix or '无扩展名'}”：请上传 {' / '.join(SUPPORTED)} 文件")
        if size > self.max_bytes:
            raise UploadTooLargeError(f"file too large: {size / _MB:.1f} MB, the limit is {self.max_bytes / _MB:.3g} MB",
                                      value=size, hint="split it or raise POLICYQA_MAX_FILE_MB",
                                      zh=f"文件过大：{size / _MB:.1f} MB，上限为 {self.max_bytes / _MB:.3g} MB"
                                         "（设置 POLICYQA_MAX_FILE_MB），请拆分后再上传")
        if size == 0:
            raise UploadError("the file is empty (0 bytes)", value=filename, zh="文件是空的（0 字节），请检查后重新上传")
        return name

    def upload(self, filename: str, content: bytes, progress: Callable[[int, int], None] | None = None) -> CorpusChange:
        """Validate `content`, store it under a safe, unused name and publish an index with it; identical
        content already in the index (or being added right now) is not stored again."""
        name = self.check_upload(filename, len(content))
        digest = hashlib.sha256(content).hexdigest()
        staged = self._stage(name, content)  # a refused file never reaches the lock, the journal or the index
        try:
            with self._pending_lock:
                first = self._pending.get(digest)
                if first is None:
                    mine = self._pending[digest] = threading.Event()
            if first is not None:
                first.wait(SAME_CONTENT_WAIT_S)
                if same := self._same_content(self.retriever.snapshot(), digest):
                    return same
                return self.upload(filename, content, progress)  # the first one failed: try this one for real
            try:
                with self._changing():
                    return self._upload(name, staged, content, digest, progress)
            finally:
                with self._pending_lock:
                    del self._pending[digest]
                mine.set()
        finally:
            staged.unlink(missing_ok=True)

    def _upload(self, name: str, staged: Path, content: bytes, digest: str, progress) -> CorpusChange:
        self.retriever.refresh()  # under the lock: a version the CLI published just now is the one to change
        snap = self.retriever.snapshot()
        if same := self._same_content(snap, digest):
            return same
        count = len(snap.documents)
        if count >= self.max_documents:
            raise UploadError(f"the library holds {count} documents, the limit", value=count,
                              hint="remove documents or raise POLICYQA_MAX_DOCUMENTS",
                              zh=f"文档库已有 {count} 份文档，达到上限 {self.max_documents} 份（设置 POLICYQA_MAX_DOCUMENTS）："
                                 "请先删除不再需要的文档，或请管理员调高该上限")
        target = self._free_path(name)
        rel = target.relative_to(self.corpus_dir).as_posix()
        write_journal(self.index_dir, {"action": "upload", "file": rel, "sha256": digest, "before": snap.version})
        try:
            self._link(staged, target, content)
        except BaseException:
            clear_journal(self.index_dir)
            raise
        try:
            report = self._rebuild(progress, snap.version)
        except BaseException:
            target.unlink(missing_ok=True)
            clear_journal(self.index_dir)
            raise
        clear_journal(self.index_dir)
        live = self.retriever.snapshot()
        doc_id, row = next((d, r) for d, r in live.doc_files().items() if r.source == rel)
        renamed = name if target.name != name else ""
        note = f"（同名文件已存在，另存为 {target.name}）" if renamed else ""
        return CorpusChange("upload", rel, doc_id, row.title, row.clauses,
                            f"已添加《{row.title}》：{row.clauses} 条条款，索引已更新{note}", renamed, report)

    def remove(self, doc_id: str, progress: Callable[[int, int], None] | None = None) -> CorpusChange:
        """Delete a document's file and publish an index without it (the file returns if that fails)."""
        with self._changing():
            self.retriever.refresh()
            snap = self.retriever.snapshot()
            row = snap.doc_files().get(doc_id)
            if row is None:
                raise NotFoundError(f"no document '{doc_id}' in the index", what="document", value=doc_id,
                                    hint="GET /api/documents lists them", zh=f"文档库中没有编号为“{doc_id}”的文档")
            path = (self.corpus_dir / row.source).resolve()
            if not path.is_relative_to(self.corpus_dir.resolve()) or not path.is_file():
                raise NotFoundError(f"the file of document '{doc_id}' is gone: {row.source}", what="document",
                                    value=doc_id, hint="run `policyqa build` to drop it from the index",
                                    zh=f"找不到文档“{doc_id}”的文件 {row.source}")
            parked = path.with_name(f"{PARKED_PREFIX}{secrets.token_hex(4)}-{path.name}")
            write_journal(self.index_dir, {"action": "remove", "file": row.source, "parked": parked.name,
                                           "before": snap.version})
            os.replace(path, parked)
            try:
                report = self._rebuild(progress, snap.version)
            except BaseException:
                os.replace(parked, path)
                clear_journal(self.index_dir)
                raise
            parked.unlink(missing_ok=True)
            clear_journal(self.index_dir)
        return CorpusChange("remove", row.source, doc_id, row.title, row.clauses,
                            f"已删除《{row.title}》，索引已更新", build=report)

    @property
    def index_dir(self) -> Path:
        """The index folder the changes publish to."""
        return self.retriever.index_dir

    # ---- steps -----------------------------------------------------------------------------
    @staticmethod
    def _same_content(snap: Snapshot, digest: str) -> CorpusChange | None:
        for doc_id, row in snap.doc_files().items():
            if row.content_hash == digest:
                return CorpusChange("unchanged", row.source, doc_id, row.title, row.clauses,
                                    f"内容与已有文档《{row.title}》完全相同，未重复添加")
        return None

    @contextmanager
    def _changing(self) -> Iterator[None]:
        if not self._lock.acquire(timeout=1.0):
            raise UploadError("another upload or removal is running", hint="try again shortly",
                              zh="另一个上传或删除正在进行，请稍后再试")
        try:
            with change_lock(self.index_dir):
                yield
        except ChangeLockedError:
            raise _building() from None
        finally:
            self._lock.release()

    def _stage(self, name: str, content: bytes) -> Path:
        """Write `content` to a hidden staging file (the corpus scanner skips it) and check it loads and splits."""
        staged = self.corpus_dir / f"{STAGED_PREFIX}{secrets.token_hex(6)}{Path(name).suffix}"
        try:
            if staged.suffix == ".docx":
                check_docx_size(content, name, DOCX_UNPACKED_RATIO * self.max_bytes)
            staged.write_bytes(content)
            doc = load_document(staged, name, None, max_bytes=self.max_bytes)
            if token := control_token(doc.text):
                raise UploadError(f"{name} contains the chat-template control token {token!r}", value=name,
                                  hint="remove such tokens and upload again",
                                  zh=f"文件“{name}”中含有模型控制标记“{token}”，可能是针对问答模型的注入指令，已拒绝；"
                                     "请删除这些标记后再上传")
            if not split_document(doc, limit=self.max_clause_chars):
                raise UploadError(f"{name} has no clause text to split", value=name,
                                  zh=f"文件“{name}”中没有可拆分的条款文字")
            return staged
        except BaseException as exc:
            staged.unlink(missing_ok=True)
            if isinstance(exc, IngestError):
                raise UploadError(f"{name} cannot be read: {exc.problem}", value=name, hint=exc.hint,
                                  zh=exc.zh or f"文件“{name}”无法读取：{exc.problem}") from None
            if isinstance(exc, OSError):
                raise self._unwritable(exc) from None
            raise

    def _link(self, staged: Path, target: Path, content: bytes) -> None:
        try:
            os.link(staged, target)  # never replaces a file, unlike a rename
        except FileExistsError:
            raise UploadError("the file name was just taken", value=target.name, hint="upload again",
                              zh=f"文件名“{target.name}”刚被占用，请重新上传") from None
        except OSError:  # a file system without hard links
            try:
                with open(target, "xb") as fh:
                    fh.write(content)
            except OSError as exc:
                raise self._unwritable(exc) from None

    def _unwritable(self, exc: OSError) -> UploadError:
        return UploadError(f"cannot write to the corpus folder {self.corpus_dir}: {exc.strerror or exc}",
                           value=str(self.corpus_dir), hint="check its permissions and free space",
                           zh=f"无法写入文档库目录 {self.corpus_dir}：{exc.strerror or exc}")

    def _free_path(self, name: str) -> Path:
        """`name` in the corpus folder, or name-2, name-3 … when taken (never overwrite another file)."""
        stem, suffix = os.path.splitext(name)
        target, n = self.corpus_dir / name, 1
        while target.exists() or target.is_symlink():
            n += 1
            target = self.corpus_dir / f"{stem}-{n}{suffix}"
        if not target.resolve().parent == self.corpus_dir.resolve():
            raise UploadError("unusable file name", value=name, hint="rename the file",
                              zh=f"文件名“{name}”不可用，请改名后再上传")  # unreachable after safe_filename
        return target

    def _rebuild(self, progress: Callable[[int, int], None] | None, before: str) -> BuildReport:
        """Build, then verify and swap in the new version; if it fails its checks, CURRENT goes back to
        `before` so the index on disk and in memory stay where they were."""
        try:
            report = build_index(self.corpus_dir, self.index_dir, self.retriever.embedder, limit=self.max_clause_chars,
                                 max_bytes=self.max_bytes, progress=progress, keep_versions=self.keep_versions,
                                 engine=self.retriever.engine)
        except BuildLockedError:
            raise _building() from None
        try:
            self.retriever.refresh()
        except IndexFolderError as exc:
            try:
                point_to(self.index_dir, before)
            except IndexFolderError:
                pass  # the previous version is gone too: the message below still says how to rebuild
            raise IndexFolderError(f"the new index version {report.version} failed its checks, so the change was "
                                   f"undone and the app keeps serving the previous one: {exc}") from exc
        return report
