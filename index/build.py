"""Incremental index build: embed only new or changed documents, then publish a new version.

A document is reused from the live version when its file hash, its metadata, the splitter settings
and the embedding model are unchanged; its clause records, tokens and vectors are copied across.
Everything else is split, tokenised and embedded. BM25 statistics depend on the whole corpus, so
the lexical side is re-indexed from the (cached) tokens every time; that is cheap next to embedding.
Only one build may run on an index folder at a time (an flock on build.lock). A build that cannot
write its files (a full disk) removes its unfinished version folder and fails with IndexFolderError
saying where and what to do; the previous version stays live.
"""

from __future__ import annotations

import errno
import hashlib
import json
import secrets
import shutil
import time
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from index.embedder import Embedder, model_fingerprint
from index.lexical import LexicalIndex, Tokenizer
from index.locks import FileLock, LockHeld
from index.vocabulary import CorpusVocabulary, corpus_vocabulary, write_vocabulary
from index.store import (
    CURRENT, FORMAT_VERSION, MANIFEST, IndexData, doc_meta_to_json, file_digest, open_index, publish,
    read_manifest, write_json, write_jsonl,
)
from ingest.corpus import CorpusLoad, load_corpus
from ingest.records import PATH_SEP, Clause, DocMeta
from policyqa.errors import IndexFolderError, PolicyQAError

SPLITTER_VERSION = 2  # 2: furniture, annexes, label lines, kinds, cooperating units, inherited tags
_LIBS = ("faiss-cpu", "bm25s", "jieba", "sentence-transformers", "transformers", "torch", "numpy")


class BuildLockedError(PolicyQAError):
    """Another build holds the index folder's lock."""


@dataclass
class BuildReport:
    """What a build did: counts of documents by fate, clauses embedded, skipped files, seconds."""

    version: str = ""
    documents: int = 0
    clauses: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    embedded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0


# How a clause becomes its dense vector: the clause and its document context (region, title, headings)
# are embedded apart and summed, the context weighted by CONTEXT_WEIGHT, then normalised. Contexts
# repeat across a chapter, so each distinct one is embedded once: on the laws corpus this embeds 13%
# fewer tokens than one "context + clause" text each (10,305 contexts for 70,014 clauses). Retrieval is
# the same on the seed dev set (hybrid) and better on a laws slice, where a long title in a joint text
# crowds out the article; the weight was chosen on both (eval/reports/passage.md, passage_laws.md).
CONTEXT_WEIGHT = 0.7


def passage_parts(clause: Clause, meta: DocMeta) -> tuple[str, str]:
    """(context, clause text) for the dense side. The context is the region, title and headings, without
    the clause's own label when the clause text starts with it, cut to 90 characters."""
    path = list(clause.path)
    if path and clause.text.startswith(path[-1]):
        path.pop()
    context = " ".join([meta.region, meta.title, PATH_SEP.join(path)]).strip()
    return context[:90], clause.text


def clause_vectors(embedder: Embedder, parts: Sequence[tuple[str, str]],
                   progress: Callable[[int], None] | None = None, weight: float | None = CONTEXT_WEIGHT) -> np.ndarray:
    """Unit vectors for (context, text) pairs: normalise(embed(text) + weight * embed(context)), each
    distinct context embedded once; `progress(n)` counts texts. `weight=None` embeds one joint
    "context\\ntext" per clause instead (the scheme before; eval/tune_passage.py compares the two)."""
    if weight is None:
        return np.asarray(embedder.embed_passages([f"{c}\n{t}" for c, t in parts], progress=progress), dtype=np.float32)
    vectors = np.array(embedder.embed_passages([text for _, text in parts], progress=progress), dtype=np.float32)
    contexts = list(dict.fromkeys(c for c, _ in parts if c))
    if contexts and weight:
        row = {c: n for n, c in enumerate(contexts)}
        context_vectors = embedder.embed_passages(contexts)
        for n, (context, _) in enumerate(parts):
            if context:
                vectors[n] += weight * context_vectors[row[context]]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms > 0, norms, 1.0)
    return np.asarray(vectors, dtype=np.float32)


def lexical_text(clause: Clause, meta: DocMeta) -> str:
    """What BM25 indexes: the document's names (aliases included), the breadcrumb, the clause."""
    return " ".join([meta.region, " ".join(meta.aliases), meta.title, clause.path_text, clause.text])


def _doc_key(meta: DocMeta, content_hash: str) -> str:
    return hashlib.sha256(json.dumps([content_hash, doc_meta_to_json(meta)], ensure_ascii=False).encode()).hexdigest()


def _lib_versions() -> dict[str, str]:
    out = {}
    for lib in _LIBS:
        try:
            out[lib] = importlib_metadata.version(lib)
        except importlib_metadata.PackageNotFoundError:
            pass
    return out


class BuildLock:
    """Only one build per index folder: an exclusive, non-blocking flock on INDEX_DIR/build.lock;
    BuildLockedError naming the holder if another process builds."""

    def __init__(self, index_dir: Path) -> None:
        self.lock = FileLock(index_dir / "build.lock")

    def __enter__(self) -> "BuildLock":
        try:
            self.lock.__enter__()
        except LockHeld as held:
            raise BuildLockedError(f"another build is running on {self.lock.path.parent} ({held.holder}); "
                                   "wait for it to finish and try again") from None
        return self

    def __exit__(self, *exc) -> None:
        self.lock.__exit__(*exc)


def _previous(index_dir: Path, model: str, settings_key: dict, passage: dict) -> IndexData | None:
    """The live version if it can be reused (same model, format, splitter settings and way of making
    clause vectors), else None."""
    try:
        found = read_manifest(index_dir)
        if found is None:
            return None
        _, manifest = found
        if manifest.get("embedding_model") != model or manifest.get("splitter") != settings_key:
            return None
        if manifest.get("passage") != passage:
            return None
        if manifest.get("format_version") != FORMAT_VERSION:
            return None
        return open_index(index_dir, model=model)
    except IndexFolderError:
        return None  # a damaged index is rebuilt from scratch, never reused


def build_index(
    corpus: Path | CorpusLoad,
    index_dir: Path,
    embedder: Embedder,
    *,
    limit: int = 400,
    max_bytes: int = 20 * 1024 * 1024,
    progress: Callable[[int, int], None] | None = None,
    context_weight: float | None = CONTEXT_WEIGHT,
    keep_versions: int = 0,
) -> BuildReport:
    """Bring `index_dir` up to date with `corpus`; `progress(done, total)` reports embedding;
    `context_weight` is how clause vectors are made (see `clause_vectors`); `keep_versions` older
    versions stay on disk after publishing (for rollback)."""
    start = time.perf_counter()
    index_dir.mkdir(parents=True, exist_ok=True)
    with BuildLock(index_dir):
        loaded = corpus if isinstance(corpus, CorpusLoad) else load_corpus(corpus, max_bytes=max_bytes, limit=limit)
        if not loaded.documents:
            raise PolicyQAError(f"no documents could be ingested from {corpus if isinstance(corpus, Path) else 'the corpus'}; add .txt/.md/.docx/.html/.pdf files")
        report = BuildReport(skipped=list(loaded.skipped))
        vocabulary = corpus_vocabulary(loaded)
        # The corpus's unit aliases are applied to clause records, so new ones mean no record is reused.
        aliases_key = hashlib.sha256(json.dumps(vocabulary.unit_aliases, sort_keys=True).encode()).hexdigest()[:16]
        settings_key = {"max_clause_chars": limit, "version": SPLITTER_VERSION, "unit_aliases": aliases_key}
        passage = {"context_weight": context_weight}
        prev = _previous(index_dir, embedder.name, settings_key, passage)
        prev_docs = prev.manifest["documents"] if prev else {}
        prev_rows: dict[str, list[int]] = {}
        if prev:
            for row, c in enumerate(prev.clauses):
                prev_rows.setdefault(c.doc_id, []).append(row)
            prev_vectors = prev.vectors()

        metas = {d.meta.doc_id: d.meta for d in loaded.documents}
        by_doc: dict[str, list[Clause]] = {}
        for c in loaded.clauses:
            by_doc.setdefault(c.doc_id, []).append(c)

        user_words = sorted(vocabulary.terms)
        dict_key = hashlib.sha256("\n".join(user_words).encode()).hexdigest()[:16]
        tokenizer = Tokenizer(user_words)
        reuse_tokens = bool(prev) and prev.manifest.get("lexical_dictionary") == dict_key

        clauses: list[Clause] = []
        tokens: list[list[str] | None] = []
        vectors: list[np.ndarray | None] = []
        to_embed: list[int] = []
        for doc in loaded.documents:
            doc_id = doc.meta.doc_id
            key = _doc_key(doc.meta, doc.content_hash)
            old = prev_docs.get(doc_id)
            if old and old.get("key") == key and doc_id in prev_rows:
                report.unchanged.append(doc_id)
                for row in prev_rows[doc_id]:
                    clauses.append(prev.clauses[row])
                    tokens.append(prev.tokens[row] if reuse_tokens else None)
                    vectors.append(prev_vectors[row])
                continue
            (report.changed if old else report.added).append(doc_id)
            for c in by_doc.get(doc_id, []):
                to_embed.append(len(clauses))
                clauses.append(c)
                tokens.append(None)
                vectors.append(None)
        report.removed = sorted(set(prev_docs) - set(metas))

        # Embed what is new, with progress.
        t0 = time.perf_counter()
        if to_embed:
            done = 0

            def tick(n: int) -> None:
                nonlocal done
                done += n
                if progress:
                    progress(done, len(to_embed))

            new_vecs = clause_vectors(embedder, [passage_parts(clauses[i], metas[clauses[i].doc_id]) for i in to_embed], tick, context_weight)
            for i, vec in zip(to_embed, new_vecs):
                vectors[i] = vec
        report.embed_seconds = time.perf_counter() - t0
        report.embedded = len(to_embed)
        for i, toks in enumerate(tokens):
            if toks is None:
                tokens[i] = tokenizer.tokens(lexical_text(clauses[i], metas[clauses[i].doc_id]))

        doc_rows = {}
        for c in clauses:
            doc_rows[c.doc_id] = doc_rows.get(c.doc_id, 0) + 1
        documents = {}
        for doc in loaded.documents:
            row = doc_meta_to_json(doc.meta)
            row.update(doc_id=doc.meta.doc_id, content_hash=doc.content_hash, format=doc.format,
                       key=_doc_key(doc.meta, doc.content_hash), clauses=doc_rows.get(doc.meta.doc_id, 0))
            documents[doc.meta.doc_id] = row
        dim = int(vectors[0].shape[0]) if vectors else embedder.dimension
        matrix = np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)
        manifest = {
            "format_version": FORMAT_VERSION,
            "embedding_model": embedder.name,
            "model_fingerprint": model_fingerprint(embedder.name),
            "dimension": dim,
            "metric": "inner_product",
            "normalized": True,
            "counts": {"documents": len(documents), "clauses": len(clauses)},
            "splitter": settings_key,
            "passage": passage,
            "lexical_dictionary": dict_key,
            "user_words": user_words,
            "vocabulary": vocabulary.digest,
            "language_vocabulary": vocabulary.language,
            "documents": documents,
            "library_versions": _lib_versions(),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        try:
            version = _write_version(index_dir, manifest, clauses, tokens, matrix, vocabulary)
            _publish_or_discard(index_dir, version, keep_versions)
        except OSError as exc:
            raise IndexFolderError(
                f"could not write the new index version in {index_dir}: {exc.strerror or exc}; free disk space "
                f"there (or fix its permissions) and run the build again; the previous version is still live"
            ) from exc
        report.version = version.name
        report.documents = len(documents)
        report.clauses = len(clauses)
        report.seconds = time.perf_counter() - start
        return report


def _publish_or_discard(index_dir: Path, version: Path, keep: int = 0) -> None:
    """`publish`; if the pointer could not be moved to `version`, remove it so no stray versions pile up."""
    try:
        publish(index_dir, version, keep=keep)
    except BaseException:
        try:
            live = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
        except OSError:
            live = ""
        if live != version.name:
            shutil.rmtree(version, ignore_errors=True)
        (index_dir / (CURRENT + ".tmp")).unlink(missing_ok=True)
        raise


def _write_version(index_dir: Path, manifest: dict, clauses: list[Clause], tokens, matrix: np.ndarray,
                   vocabulary: CorpusVocabulary) -> Path:
    """Write a complete version folder; on any failure remove it and re-raise (the live one stays)."""
    import faiss

    now = time.time()  # names sort by build time (to the millisecond), which `publish(keep=…)` relies on
    version = index_dir / f"v-{time.strftime('%Y%m%dT%H%M%S', time.localtime(now))}.{int(now * 1000) % 1000:03d}-{secrets.token_hex(3)}"
    try:
        version.mkdir()
        write_jsonl(version / "clauses.jsonl", (c.to_record() for c in clauses))
        write_jsonl(version / "tokens.jsonl", tokens)
        dense = faiss.IndexFlatIP(matrix.shape[1])
        if len(matrix):
            dense.add(matrix)
        try:
            faiss.write_index(dense, str(version / "dense.faiss"))
        except RuntimeError as exc:  # FAISS reports a failed write (e.g. ENOSPC) as RuntimeError
            raise OSError(errno.EIO, f"FAISS could not write {version / 'dense.faiss'} ({str(exc)[-80:]})") from exc
        LexicalIndex.build(tokens).save(version / "lexical")
        write_vocabulary(version, vocabulary)
        files = [p for p in sorted(version.rglob("*")) if p.is_file()]
        manifest["files"] = {p.relative_to(version).as_posix(): {"bytes": p.stat().st_size, "sha256": file_digest(p)} for p in files}
        write_json(version / MANIFEST, manifest)
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        raise
    return version
