"""Turn a corpus folder (or single files) into Documents and Clauses, skipping bad files loudly.

Metadata is what the document says about itself (`ingest.about`: title, date, issuer, region from
the file's own statements and its text); `metadata.json` in the corpus folder overrides any field it
gives. The id is a slug of the file's relative path, so it stays stable across re-ingest. A file
whose text repeats an earlier file's is kept, flagged in `DocMeta.duplicate_of` and warned about. Without metadata the title is guessed
from the text (`guess_title`: a Markdown heading, else the 关于…的通知 / …办法 line past any red-head
banner and 文号, else the first short heading line).

`vocabulary.json` beside metadata.json holds what a corpus knows that its documents cannot show (all
keys optional): "unit_aliases" {written name: canonical name} for one office spelled two ways
(applied here to every clause's units), "terms" [words the tokenizer keeps whole], "places" [place
names the documents cover without naming them], "eligibility" {"kinds": {name: [synonyms]},
"needs": {name: [synonyms]}} for 政策匹配. index/vocabulary.py adds what is derived from the
documents and stores both in the index version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from ingest.about import describe, duplicates
from ingest.loaders import iter_corpus_files, load_text
from ingest.records import Clause, DocMeta, Document
from ingest.splitter import split_document
from ingest.units import canonical
from ingest.titles import guess_title  # noqa: F401  (part of this module's interface)
from policyqa.errors import IngestError

METADATA_FILE = "metadata.json"
VOCABULARY_FILE = "vocabulary.json"
_VOCABULARY_KEYS = {"unit_aliases": dict, "terms": list, "places": list, "eligibility": dict}
log = logging.getLogger(__name__)


@dataclass
class CorpusLoad:
    """What ingesting a folder produced: documents, their clauses, and every file skipped with why."""

    documents: list[Document] = field(default_factory=list)
    clauses: list[Clause] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    duplicates: list[tuple[str, str, float]] = field(default_factory=list)  # (later, earlier, overlap)
    vocabulary: dict = field(default_factory=dict)  # the corpus folder's vocabulary.json ({} when absent)


def slugify(rel_path: str) -> str:
    """A readable, stable document id from a relative path: keeps CJK, letters, digits and dashes."""
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", rel_path.replace("\\", "/"))
    slug = re.sub(r"[^\w\u4e00-\u9fff]+", "-", stem).strip("-").lower()
    return slug or "document"


def _read_json(path: Path, what: str) -> dict:
    """A JSON object file of the corpus folder; {} when absent; IngestError when it is not one."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IngestError(str(path), f"{what} file is not valid JSON: {exc}", "fix or delete it") from exc
    if not isinstance(data, dict):
        raise IngestError(str(path), f"{what} file is not a JSON object", "see ingest/corpus.py for its keys")
    return data


def read_metadata(root: Path) -> dict[str, dict]:
    """The corpus folder's metadata.json as {relative file name: fields}; {} when absent."""
    data = _read_json(root / METADATA_FILE, "metadata")
    return {k: v for k, v in data.items() if not k.startswith("_") and isinstance(v, dict)}


def read_vocabulary(root: Path) -> dict:
    """The corpus folder's vocabulary.json (see the module docstring); {} when absent. IngestError
    naming the key when a value has the wrong shape."""
    path = root / VOCABULARY_FILE
    data = _read_json(path, "vocabulary")
    out = {}
    for key, kind in _VOCABULARY_KEYS.items():
        if key in data and not isinstance(data[key], kind):
            raise IngestError(str(path), f"'{key}' must be a JSON {'object' if kind is dict else 'list'}",
                              "see ingest/corpus.py for the keys of vocabulary.json")
        if key in data:
            out[key] = data[key]
    return out


def with_aliases(clause: Clause, aliases: dict[str, str]) -> Clause:
    """`clause` with its units spelled canonically (`aliases`: written name → canonical name)."""
    def fold(units: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(aliases.get(u, u) for u in units))
    if not aliases or not any(u in aliases for u in clause.departments):
        return clause
    return replace(clause, lead=fold(clause.lead), departments=fold(clause.departments),
                   cooperating=fold(clause.cooperating))


def load_document(path: Path, rel: str, meta_fields: dict | None, *, max_bytes: int) -> Document:
    """Load one file into a Document: metadata the document states about itself, overridden field by
    field by `meta_fields` (its metadata.json entry)."""
    loaded = load_text(path, max_bytes=max_bytes)
    fields = meta_fields or {}
    about = describe(loaded.text, Path(rel).stem, title=loaded.title, date=loaded.date,
                     source=loaded.source, site=loaded.site, region=fields.get("region", ""))
    meta = DocMeta(
        doc_id=fields.get("doc_id") or slugify(rel),
        title=fields.get("title") or about.title,
        issuer=fields.get("issuer") or about.issuer,
        region=fields.get("region") or about.region,
        date=fields.get("date") or about.date,
        source=rel,
        aliases=tuple(fields.get("aliases", ())),
    )
    return Document(meta=meta, text=loaded.text, content_hash=loaded.content_hash, format=loaded.format,
                    tables=loaded.tables)


def load_corpus(root: Path, *, max_bytes: int = 20 * 1024 * 1024, limit: int = 400) -> CorpusLoad:
    """Load and split every supported file under `root`; a bad file is skipped and reported."""
    result = CorpusLoad()
    files, skipped = iter_corpus_files(root)
    result.skipped.extend((str(p), reason) for p, reason in skipped)
    metadata = read_metadata(root)
    result.vocabulary = read_vocabulary(root)
    aliases = {canonical(k): canonical(v) for k, v in result.vocabulary.get("unit_aliases", {}).items()}
    seen_ids: dict[str, str] = {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            doc = load_document(path, rel, metadata.get(rel), max_bytes=max_bytes)
            if doc.meta.doc_id in seen_ids:
                # Two names that slug alike ("a b.md", "a、b.md"): keep both, disambiguated stably.
                suffix = hashlib.sha1(rel.encode("utf-8")).hexdigest()[:6]
                doc = replace(doc, meta=replace(doc.meta, doc_id=f"{doc.meta.doc_id}-{suffix}"))
            clauses = split_document(doc, limit=limit)
        except IngestError as exc:
            result.skipped.append((str(path), exc.problem + (f" ({exc.hint})" if exc.hint else "")))
            continue
        seen_ids[doc.meta.doc_id] = rel
        result.documents.append(doc)
        result.clauses.extend(with_aliases(c, aliases) for c in clauses)
    _flag_duplicates(result)
    return result


def _flag_duplicates(result: CorpusLoad) -> None:
    """Record and warn about documents whose text repeats an earlier document's."""
    found = duplicates([(d.meta.source, d.text) for d in result.documents])
    for i, doc in enumerate(result.documents):
        if doc.meta.source in found:
            earlier, overlap = found[doc.meta.source]
            result.documents[i] = replace(doc, meta=replace(doc.meta, duplicate_of=earlier))
            result.duplicates.append((doc.meta.source, earlier, overlap))
            log.warning("Warning: %s repeats %s (%.0f%% of sentences alike); both are kept, remove one if it "
                        "is a copy", doc.meta.source, earlier, overlap * 100)


def warn_skipped(skipped: list[tuple[str, str]]) -> None:
    """Print one warning line per skipped file, then a count, to stderr."""
    for path, reason in skipped:
        print(f"Warning: skipped {path}: {reason}", file=sys.stderr)
    if skipped:
        print(f"Warning: {len(skipped)} file(s) skipped", file=sys.stderr)
