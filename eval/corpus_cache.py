"""An index of any corpus folder for evaluation, built once and reused while nothing it depends on changes.

    CACHE_DIR/<folder name>-<key>/   an ordinary index folder (index/store.py), one per key

The key is a sha256 over what shapes the index: every file `ingest` would read under the folder
(relative path and bytes, `metadata.json` included), the embedding model's name, the clause size
limit, the splitter version, and the source of `ingest/` and `policyqa/text.py` plus the index modules that turn clauses into rows
(`index/build.py`, `index/writer.py`, `index/lexical.py`), and the engine's name. Trade-offs:
- Hashing the code, not only the documents, is deliberate: an evaluation run right after a splitter
  fix must not read clauses split by the old code, and the build's own incremental reuse cannot see
  such a change (it keys documents by their bytes and the declared splitter version).
- Hashing is a full read of the folder; that is milliseconds for a field case and about a second for
  the laws slice, far less than embedding one clause batch.
- When a folder gets a new key, the entries it had before (same name, other key) are removed, so the
  cache holds one index per corpus folder. Delete CACHE_DIR at any time; it is rebuilt on demand.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from index.build import SPLITTER_VERSION, build_index
from index.embedder import Embedder
from index.engine import EngineSpec
from index.store import read_manifest
from ingest.corpus import METADATA_FILE, slugify, warn_skipped
from ingest.loaders import iter_corpus_files
from policyqa.errors import IndexFolderError, PolicyQAError

_ROOT = Path(__file__).resolve().parent.parent
_CODE = ("ingest", "policyqa/text.py", "index/build.py", "index/writer.py", "index/lexical.py", "index/terms.txt")


def _code_files() -> list[Path]:
    """The source files whose change makes a cached index stale (see the module docstring)."""
    files: list[Path] = []
    for rel in _CODE:
        path = _ROOT / rel
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in {".py", ".txt", ".json"})
        elif path.is_file():
            files.append(path)
    return files


def corpus_key(corpus: Path, model: str, limit: int, engine: str = "faiss") -> str:
    """The cache key of `corpus` for `model`, clause limit `limit` and `engine` (hex, 16 characters)."""
    if not corpus.is_dir():
        raise PolicyQAError(f"corpus folder not found: {corpus}", value=str(corpus), hint="pass --corpus DIR, a folder of documents")
    files, _ = iter_corpus_files(corpus)
    if (corpus / METADATA_FILE).is_file():
        files.append(corpus / METADATA_FILE)
    if not files:
        raise PolicyQAError(f"no documents in {corpus}", value=str(corpus), hint="add .txt/.md/.docx/.html/.pdf files or pass another --corpus")
    h = hashlib.sha256(f"{model}\n{limit}\n{SPLITTER_VERSION}\n{engine}\n".encode())
    for path in files:
        h.update(path.relative_to(corpus).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for path in _code_files():
        h.update(path.relative_to(_ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def cached_index(corpus: Path, cache_dir: Path, embedder: Embedder, *, limit: int = 400,
                 max_bytes: int = 20 * 1024 * 1024, engine: EngineSpec = EngineSpec(), log=print) -> Path:
    """The index folder of `corpus` under `cache_dir`: reused when its key matches, else built there.
    `log` receives one line saying which (and the build's skipped files go to stderr)."""
    corpus = Path(corpus)
    name = slugify(f"{corpus.resolve().parent.name}-{corpus.resolve().name}")[:60]
    folder = Path(cache_dir) / f"{name}-{corpus_key(corpus, embedder.name, limit, engine.name)}"
    try:
        found = read_manifest(folder)
    except IndexFolderError:
        found = None
    if found and found[1].get("embedding_model") == embedder.name:
        log(f"index of {corpus}: reused {folder} ({found[1]['counts']['clauses']} clauses)")
        return folder
    shutil.rmtree(folder, ignore_errors=True)  # absent, or half-built by an interrupted run
    report = build_index(corpus, folder, embedder, limit=limit, max_bytes=max_bytes, engine=engine)
    warn_skipped(report.skipped)
    for stale in Path(cache_dir).glob(f"{name}-*"):
        if stale != folder and len(stale.name) == len(folder.name):
            shutil.rmtree(stale, ignore_errors=True)
    log(f"index of {corpus}: built {folder} ({report.clauses} clauses, {report.seconds:.0f} s)")
    return folder
