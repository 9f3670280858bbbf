"""Incremental index build: embed only new or changed documents, then publish a new version.

Three steps, each its own function: `plan_build` decides document by document what is reused from the
live version (same file hash, metadata, splitter settings and embedding model) and what is new or
changed; `embed_plan` and `tokenise_plan` make the vectors and BM25 tokens of the new rows and read
the reused ones back (vectors from whichever engine wrote the live version, so switching engines
re-embeds nothing); `write_version` writes the version folder and its rows into the chosen engine
(index/engine.py), publishes it and drops what publishing retired. BM25 statistics depend on the whole
corpus, so the lexical side is re-indexed from the (cached) tokens every time; that is cheap next to
embedding.
Only one build may run on an index folder at a time (an flock on build.lock). A build that cannot
write its files (a full disk) removes its unfinished version folder and fails with IndexFolderError
saying where and what to do; the previous version stays live.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from index.embedder import Embedder, model_fingerprint
from index.engine import EngineSpec
from index.engines import engine_class
from index.lexical import Tokenizer
from index.locks import FileLock, LockHeld
from index.store import FORMAT_VERSION, IndexData, doc_meta_to_json, open_index, read_manifest
from index.item_store import ItemExtractor
from index.vocabulary import CorpusVocabulary, corpus_vocabulary
from index.writer import write_version
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


def _previous(index_dir: Path, model: str, settings_key: dict, passage: dict, engine: EngineSpec) -> IndexData | None:
    """The live version if it can be reused (same model, format, splitter settings and way of making
    clause vectors; any engine: vectors are read back from whichever wrote them), else None."""
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
        return open_index(index_dir, model=model, engine=engine)
    except IndexFolderError:
        return None  # a damaged index is rebuilt from scratch, never reused


@dataclass
class BuildPlan:
    """What a build writes, row by row in corpus order: each clause, the previous version's row it is
    copied from (None: to embed and tokenise), the documents' manifest rows and the BM25 dictionary."""

    clauses: list[Clause]
    sources: list[int | None]
    metas: dict[str, DocMeta]
    documents: dict[str, dict]
    user_words: list[str]
    report: BuildReport
    vocabulary: CorpusVocabulary = CorpusVocabulary()

    @property
    def dict_key(self) -> str:
        """Hash of the user dictionary: tokens of a version with the same key can be reused."""
        return hashlib.sha256("\n".join(self.user_words).encode()).hexdigest()[:16]

    @property
    def to_embed(self) -> list[int]:
        """Rows without a previous row to copy from."""
        return [i for i, src in enumerate(self.sources) if src is None]


def plan_build(loaded: CorpusLoad, prev: IndexData | None, vocabulary: CorpusVocabulary | None = None) -> BuildPlan:
    """Decide, document by document, what is reused from `prev` (same file hash and metadata) and what
    is new or changed; removed documents are those of `prev` the corpus no longer has. The BM25 user
    dictionary is the corpus vocabulary's terms (derived from `loaded` unless given)."""
    report = BuildReport(skipped=list(loaded.skipped))
    prev_docs = prev.manifest["documents"] if prev else {}
    prev_rows: dict[str, list[int]] = {}
    for row, c in enumerate(prev.clauses if prev else ()):
        prev_rows.setdefault(c.doc_id, []).append(row)
    by_doc: dict[str, list[Clause]] = {}
    for c in loaded.clauses:
        by_doc.setdefault(c.doc_id, []).append(c)
    clauses: list[Clause] = []
    sources: list[int | None] = []
    documents: dict[str, dict] = {}
    for doc in loaded.documents:
        doc_id, key = doc.meta.doc_id, _doc_key(doc.meta, doc.content_hash)
        old = prev_docs.get(doc_id)
        if old and old.get("key") == key and doc_id in prev_rows:
            report.unchanged.append(doc_id)
            rows = [prev.clauses[row] for row in prev_rows[doc_id]]
            sources += prev_rows[doc_id]
        else:
            (report.changed if old else report.added).append(doc_id)
            rows = by_doc.get(doc_id, [])
            sources += [None] * len(rows)
        clauses += rows
        documents[doc_id] = doc_meta_to_json(doc.meta) | dict(
            doc_id=doc_id, content_hash=doc.content_hash, format=doc.format, key=key, clauses=len(rows))
    metas = {d.meta.doc_id: d.meta for d in loaded.documents}
    report.removed = sorted(set(prev_docs) - set(metas))
    vocabulary = vocabulary or corpus_vocabulary(loaded)
    return BuildPlan(clauses, sources, metas, documents, sorted(vocabulary.terms), report, vocabulary)


def embed_plan(plan: BuildPlan, prev: IndexData | None, embedder: Embedder, *,
               progress: Callable[[int, int], None] | None = None,
               context_weight: float | None = CONTEXT_WEIGHT) -> np.ndarray:
    """The (rows, dimension) float32 matrix of clause vectors: reused rows read back from `prev`'s engine
    in one call, the others embedded (`progress(done, total)` over them); times go into the report."""
    to_embed = plan.to_embed
    reused = [i for i, src in enumerate(plan.sources) if src is not None]
    t0 = time.perf_counter()
    fresh = None
    if to_embed:
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, len(to_embed))

        parts = [passage_parts(plan.clauses[i], plan.metas[plan.clauses[i].doc_id]) for i in to_embed]
        fresh = clause_vectors(embedder, parts, tick, context_weight)
    plan.report.embed_seconds = time.perf_counter() - t0
    plan.report.embedded = len(to_embed)
    dim = fresh.shape[1] if fresh is not None else prev.manifest["dimension"] if reused else embedder.dimension
    matrix = np.zeros((len(plan.clauses), dim), np.float32)
    if fresh is not None:
        matrix[to_embed] = fresh
    if reused:
        matrix[reused] = prev.vectors([plan.sources[i] for i in reused])
    return matrix


def tokenise_plan(plan: BuildPlan, prev: IndexData | None) -> list[list[str]]:
    """BM25 tokens per row: copied from `prev` when its user dictionary is the same, else made here."""
    reuse = prev is not None and prev.manifest.get("lexical_dictionary") == plan.dict_key
    tokenizer = Tokenizer(plan.user_words)
    return [prev.tokens[src] if reuse and src is not None
            else tokenizer.tokens(lexical_text(c, plan.metas[c.doc_id]))
            for c, src in zip(plan.clauses, plan.sources)]


def plan_manifest(plan: BuildPlan, embedder: Embedder, dimension: int, settings_key: dict, passage: dict) -> dict:
    """The new version's manifest, but for the engine entry and the file list (`write_version` adds them)."""
    return {
        "format_version": FORMAT_VERSION,
        "embedding_model": embedder.name,
        "model_fingerprint": model_fingerprint(embedder.name),
        "dimension": dimension,
        "metric": "inner_product",
        "normalized": True,
        "counts": {"documents": len(plan.documents), "clauses": len(plan.clauses)},
        "splitter": settings_key,
        "passage": passage,
        "lexical_dictionary": plan.dict_key,
        "user_words": plan.user_words,
        "vocabulary": plan.vocabulary.to_json(),  # the corpus's own words (index/vocabulary.py)
        "vocabulary_digest": plan.vocabulary.digest,
        "documents": plan.documents,
        "library_versions": _lib_versions(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


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
    engine: EngineSpec = EngineSpec(),
    items: ItemExtractor | None = None,
) -> BuildReport:
    """Bring `index_dir` up to date with `corpus` in the engine `engine`: plan, embed, write, publish.
    `progress(done, total)` reports embedding; `context_weight` is how clause vectors are made (see
    `clause_vectors`); `keep_versions` older versions stay on disk after publishing (for rollback);
    `items` reads support items (rules by default). BuildLockedError if another build runs; EngineError/EngineBusyError (before any embedding) if the
    engine cannot be reached; IndexFolderError if the version cannot be written."""
    start = time.perf_counter()
    index_dir.mkdir(parents=True, exist_ok=True)
    with BuildLock(index_dir):
        session = engine_class(engine.name).session(index_dir, engine)
        try:
            loaded = corpus if isinstance(corpus, CorpusLoad) else load_corpus(corpus, max_bytes=max_bytes, limit=limit)
            if not loaded.documents:
                raise PolicyQAError(f"no documents could be ingested from {corpus if isinstance(corpus, Path) else 'the corpus'}; add .txt/.md/.docx/.html/.pdf files")
            vocabulary = corpus_vocabulary(loaded)
            settings_key = {"max_clause_chars": limit, "version": SPLITTER_VERSION, "unit_aliases": vocabulary.aliases_key}
            passage = {"context_weight": context_weight}
            prev = _previous(index_dir, embedder.name, settings_key, passage, engine)
            plan = plan_build(loaded, prev, vocabulary)
            matrix = embed_plan(plan, prev, embedder, progress=progress, context_weight=context_weight)
            tokens = tokenise_plan(plan, prev)
            if prev is not None:
                prev.engine.close()
            manifest = plan_manifest(plan, embedder, matrix.shape[1], settings_key, passage)
            version = write_version(index_dir, manifest, plan.clauses, tokens, matrix, engine, keep_versions, items)
        finally:
            if session is not None:
                session.close()
    report = plan.report
    report.version = version.name
    report.documents = len(plan.documents)
    report.clauses = len(plan.clauses)
    report.seconds = time.perf_counter() - start
    return report
