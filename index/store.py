"""The index folder: immutable versions plus a CURRENT pointer, each version with its own manifest.

    INDEX_DIR/CURRENT            name of the live version (replaced atomically with os.replace)
    INDEX_DIR/v-<time>-<rand>/   manifest.json, clauses.jsonl, tokens.jsonl, and the engine's files
                                 (faiss: dense.faiss, lexical/; numpy: vectors.npy)
    INDEX_DIR/milvus.db          the milvus engine's default Lite file: one collection per version
    INDEX_DIR/build.lock         held (flock) by the one build allowed at a time

A build writes a complete new version beside the live one and only then moves CURRENT, so a crash,
a kill or a full disk mid-build leaves the previous version live. Line i of clauses.jsonl and of
tokens.jsonl and row i of the engine (index/engine.py) are the same clause. The manifest names the
engine (and for milvus its URI, never the token, and the collection) and records sizes and sha256 of
every file in the folder; loading re-checks them and the engine's row count, and refuses a version
that does not match. Nothing here uses pickle: JSON, FAISS's own format and .npy with allow_pickle=False.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.engine import EngineIndex, EngineSpec
from index.engines import engine_class
from ingest.records import Clause, DocMeta
from policyqa.errors import IndexFolderError, IndexMismatchError

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"


def rebuild_hint(index_dir: Path) -> str:
    """The command that rebuilds an index folder from the corpus."""
    return f"rebuild it with `policyqa build --index {index_dir}`"


def file_digest(path: Path) -> str:
    """sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: Path, obj) -> None:
    """Write JSON and fsync it (the manifest must be on disk before CURRENT points at it)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())


def write_jsonl(path: Path, rows) -> None:
    """One JSON object per line, fsynced."""
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False))
            fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def current_version(index_dir: Path) -> Path | None:
    """The live version folder, or None when no index has been built there."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    if not name or "/" in name or name.startswith("."):
        raise IndexFolderError(f"{pointer} is damaged ('{name[:40]}'); {rebuild_hint(index_dir)}")
    version = index_dir / name
    if not version.is_dir():
        raise IndexFolderError(f"{pointer} names {name}, which is missing; {rebuild_hint(index_dir)}")
    return version


def live_version_name(index_dir: Path) -> str:
    """The name CURRENT holds, or "" when there is none (cheap: one small read, no checks)."""
    try:
        return (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def publish(index_dir: Path, version: Path, *, keep: int = 0) -> list[str]:
    """Make `version` live (atomic rename of the pointer), then delete older versions but the `keep`
    newest (kept for rollback and for checking answers against the version they came from); returns
    the names of the deleted versions (their engine storage outside the folder goes next)."""
    tmp = index_dir / (CURRENT + ".tmp")
    tmp.write_text(version.name, encoding="utf-8")
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)
    older = sorted((p for p in index_dir.glob("v-*") if p.is_dir() and p.name != version.name), key=lambda p: p.name)
    removed = older[: max(0, len(older) - keep)]
    for old in removed:
        shutil.rmtree(old, ignore_errors=True)
    return [old.name for old in removed]


def point_to(index_dir: Path, name: str) -> None:
    """Move CURRENT back to an existing version `name` (rolling back a change); IndexFolderError if it is gone."""
    if not (index_dir / name / MANIFEST).is_file():
        raise IndexFolderError(f"cannot roll {index_dir} back to {name}: that version is no longer there; {rebuild_hint(index_dir)}")
    tmp = index_dir / (CURRENT + ".tmp")
    tmp.write_text(name, encoding="utf-8")
    os.replace(tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)


@dataclass
class IndexData:
    """A loaded index version: manifest, clause records (row order), token lists, and the engine that
    stores its vectors and BM25 rows."""

    folder: Path
    manifest: dict
    clauses: list[Clause]
    tokens: list[list[str]]
    engine: EngineIndex

    @property
    def documents(self) -> dict[str, DocMeta]:
        """Document metadata by id, as recorded at build time."""
        return {doc_id: doc_meta_from_json(d) for doc_id, d in self.manifest["documents"].items()}

    def vectors(self, rows=None) -> np.ndarray:
        """Clause vectors of `rows` (default: all, row order), read back from the engine."""
        rows = range(len(self.clauses)) if rows is None else rows
        return self.engine.vectors(list(rows))


def doc_meta_to_json(meta: DocMeta) -> dict:
    """DocMeta as stored in the manifest."""
    return {"title": meta.title, "issuer": meta.issuer, "region": meta.region, "date": meta.date,
            "source": meta.source, "aliases": list(meta.aliases), "duplicate_of": meta.duplicate_of}


def doc_meta_from_json(row: dict) -> DocMeta:
    """Inverse of doc_meta_to_json (doc_id is the manifest key, repeated in the row)."""
    return DocMeta(doc_id=row["doc_id"], title=row["title"], issuer=row.get("issuer", ""),
                   region=row.get("region", ""), date=row.get("date", ""), source=row.get("source", ""),
                   aliases=tuple(row.get("aliases", ())), duplicate_of=row.get("duplicate_of", ""))


def read_manifest(index_dir: Path) -> tuple[Path, dict] | None:
    """The live version and its manifest, or None if the folder has no index yet."""
    version = current_version(index_dir)
    if version is None:
        return None
    try:
        manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexFolderError(f"cannot read {version / MANIFEST}: {exc}; {rebuild_hint(index_dir)}") from exc
    return version, manifest


def check_compatible(index_dir: Path, manifest: dict, model: str | None) -> None:
    """Fail with a rebuild hint if the index has another format version or embedding model."""
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {index_dir} has format version {manifest.get('format_version')}, this policyqa "
            f"reads version {FORMAT_VERSION}; {rebuild_hint(index_dir)}"
        )
    if model is not None and manifest.get("embedding_model") != model:
        raise IndexMismatchError(
            f"index at {index_dir} was built with embedding model '{manifest.get('embedding_model')}', "
            f"but the settings ask for '{model}'; {rebuild_hint(index_dir)} (or set "
            f"POLICYQA_EMBEDDING_MODEL={manifest.get('embedding_model')})"
        )


def engine_info(manifest: dict) -> dict:
    """The manifest's "engine" entry; versions written before engines existed are FAISS."""
    return manifest.get("engine") or {"name": "faiss"}


def open_index(index_dir: Path, *, model: str | None = None, verify: bool = True,
               engine: EngineSpec | None = None) -> IndexData:
    """Load the live index version, checking format, model, file checksums and row counts. The engine
    is the one the manifest names; `engine` only lends its credentials (a Milvus token)."""
    found = read_manifest(index_dir)
    if found is None:
        raise IndexFolderError(f"no index in {index_dir}; build one with `policyqa build --index {index_dir}`")
    version, manifest = found
    check_compatible(index_dir, manifest, model)
    if verify:
        for rel, expected in manifest.get("files", {}).items():
            path = version / rel
            if not path.is_file() or path.stat().st_size != expected["bytes"] or file_digest(path) != expected["sha256"]:
                raise IndexFolderError(f"index file {path} is missing or corrupted (size or checksum differs); {rebuild_hint(index_dir)}")
    info = engine_info(manifest)
    try:
        with open(version / "clauses.jsonl", encoding="utf-8") as fh:
            clauses = [Clause.from_json(json.loads(line)) for line in fh]
        with open(version / "tokens.jsonl", encoding="utf-8") as fh:
            tokens = [json.loads(line) for line in fh]
        stored = engine_class(info["name"]).open(version, info, engine or EngineSpec(info["name"]), clauses, tokens)
    except (OSError, ValueError, KeyError, IndexFolderError) as exc:
        raise IndexFolderError(f"cannot load index {version}: {exc}; {rebuild_hint(index_dir)}") from exc
    n = manifest["counts"]["clauses"]
    rows = stored.count()
    if not (len(clauses) == len(tokens) == rows == n):
        stored.close()
        raise IndexFolderError(
            f"index {version} is inconsistent: {len(clauses)} clauses, {len(tokens)} token lists, {rows} rows in "
            f"the {info['name']} engine, manifest says {n}; {rebuild_hint(index_dir)}"
        )
    return IndexData(version, manifest, clauses, tokens, stored)
