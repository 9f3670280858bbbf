"""Support items in the index folder: items.jsonl beside clauses.jsonl, written by every build.

    INDEX_DIR/v-…/items.jsonl     one SupportItem (ingest/items.py) per line, in clause order

The manifest's `items` entry records how they were read (rules alone, or rules plus a bounded model
path), the count, the rule version and what it cost; its `files` entry hashes items.jsonl like every
other file, so a changed or missing file fails the load with the rebuild hint. A document whose
content, metadata and extractor are unchanged keeps the items of the live version: its model calls
are not repeated. An index written before items existed loads with no items (the calculator says to
rebuild).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Sequence

from index.store import current_version, doc_meta_from_json, write_jsonl
from ingest.amounts import WORDS_FILE
from ingest.item_extract import document_items
from ingest.items import SupportItem
from ingest.records import Clause
from policyqa.errors import IndexFolderError

ITEMS_FILE = "items.jsonl"
ITEMS_VERSION = 1  # bump when the rules change what they read


def rules_key() -> str:
    """The rule version and the hash of its word lists: items read under another key are re-read."""
    return f"{ITEMS_VERSION}:{hashlib.sha256(WORDS_FILE.read_bytes()).hexdigest()[:12]}"


class ItemExtractor:
    """How a build reads items: the rules, and optionally a model reviewer (ingest/item_model.py)
    for provisions the rules read poorly."""

    def __init__(self, reviewer=None) -> None:
        self.reviewer = reviewer

    @property
    def name(self) -> str:
        """"rules", or the reviewer's name ("rules+llama(budget 20)")."""
        return self.reviewer.name if self.reviewer is not None else "rules"

    def stats(self) -> dict:
        """Model calls, rejected model items and model seconds so far (zeros without a model)."""
        r = self.reviewer
        return {"model_calls": getattr(r, "calls", 0), "model_rejected": getattr(r, "rejected", 0),
                "model_seconds": round(getattr(r, "seconds", 0.0), 2)}


def _previous(index_dir: Path, key: str, extractor: str) -> tuple[dict, dict[str, list[dict]]]:
    """The live version's document keys and item rows by document, when read the same way."""
    try:
        version = current_version(index_dir)
        if version is None or not (version / ITEMS_FILE).is_file():
            return {}, {}
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        meta = manifest.get("items", {})
        if meta.get("rules") != key or meta.get("extractor") != extractor:
            return {}, {}
        rows: dict[str, list[dict]] = {}
        with open(version / ITEMS_FILE, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                rows.setdefault(row["doc_id"], []).append(row)
        return manifest.get("documents", {}), rows
    except (OSError, ValueError, KeyError, IndexFolderError):
        return {}, {}  # nothing to reuse: every document is read again


def write_items(version: Path, clauses: Sequence[Clause], manifest: dict,
                extractor: ItemExtractor | None = None) -> dict:
    """Read the items of `clauses` (reusing the live version's for unchanged documents), write
    items.jsonl into `version`, and return the manifest's `items` entry."""
    extractor = extractor or ItemExtractor()
    started = time.perf_counter()
    key = rules_key()
    old_docs, old_rows = _previous(version.parent, key, extractor.name)
    by_doc: dict[str, list[Clause]] = {}
    for c in clauses:
        by_doc.setdefault(c.doc_id, []).append(c)
    rows: list[dict] = []
    read = 0
    for doc_id, doc_clauses in by_doc.items():
        row = manifest["documents"][doc_id]
        if doc_id in old_rows and old_docs.get(doc_id, {}).get("key") == row.get("key"):
            rows += old_rows[doc_id]
            continue
        read += len(doc_clauses)
        meta = doc_meta_from_json(dict(row, doc_id=doc_id))
        rows += [item.to_json() for item in document_items(doc_clauses, meta, extractor.reviewer)]
    write_jsonl(version / ITEMS_FILE, rows)
    seconds = time.perf_counter() - started
    return {"count": len(rows), "extractor": extractor.name, "rules": key, "clauses_read": read,
            "seconds": round(seconds, 3), **extractor.stats()}


def read_items(folder: Path) -> list[SupportItem]:
    """The items of one version folder, in clause order ([] for a version written before items)."""
    path = folder / ITEMS_FILE
    if not path.is_file():
        return []
    try:
        with open(path, encoding="utf-8") as fh:
            return [SupportItem.from_json(json.loads(line)) for line in fh if line.strip()]
    except (OSError, ValueError, KeyError) as exc:
        raise IndexFolderError(f"cannot read {path}: {exc}; rebuild it with `policyqa build`") from exc
