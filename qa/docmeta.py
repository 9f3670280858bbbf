"""Corrections to what a document says about itself (title, date, issuer, region), kept as its entry in
the corpus folder's metadata.json: the same file `policyqa build` reads (ingest/corpus.py), so a
correction survives every rebuild and is visible to anyone who opens the folder.

`CorpusEditor.edit` (qa/changes.py) runs a correction as a change: under the change lock, the entry
written atomically (a temporary file, fsync, rename), the index rebuilt (only that document is
re-embedded: its metadata is part of its build key), the new version verified and swapped in; if the
build fails the previous metadata.json is put back. Trade-off: no crash journal for it; a crash between
the write and the publish leaves the correction in metadata.json, and the next build (or change) applies
it, so the correction is never lost, only late.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Mapping

from ingest.corpus import METADATA_FILE
from policyqa.errors import UploadError

EDITABLE = ("title", "date", "issuer", "region")
FIELD_ZH = {"title": "标题", "date": "日期", "issuer": "发文机关", "region": "地区"}
MAX_CHARS = 200
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def clean_fields(fields: Mapping[str, object]) -> dict[str, str]:
    """The editable fields given, stripped and checked; UploadError (with a Chinese wording) otherwise.
    A field left out is unchanged; an empty date, issuer or region clears it; the title cannot be empty."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise UploadError(f"fields {', '.join(unknown)} cannot be edited", value=unknown,
                          hint=f"edit only {', '.join(EDITABLE)}", zh=f"只能修改标题、日期、发文机关和地区，不能修改：{'、'.join(unknown)}")
    out: dict[str, str] = {}
    for name, value in fields.items():
        if value is None:
            continue
        text = re.sub(r"\s+", " ", str(value)).strip()
        if len(text) > MAX_CHARS or any(not ch.isprintable() for ch in text):
            raise UploadError(f"{name} is too long or has control characters", value=text[:40],
                              zh=f"{FIELD_ZH[name]}过长（最多 {MAX_CHARS} 字）或含有不可见字符")
        if name == "title" and not text:
            raise UploadError("the title cannot be empty", value=text, zh="标题不能为空")
        if name == "date" and text and not _DATE.fullmatch(text):
            raise UploadError("date must be YYYY, YYYY-MM or YYYY-MM-DD", value=text,
                              zh=f"日期“{text}”格式不对：请写成 2024-05-20、2024-05 或 2024")
        out[name] = text
    return out


def read_raw(corpus_dir: Path) -> bytes | None:
    """metadata.json as bytes (to put back if the change fails), or None when there is none."""
    try:
        return (corpus_dir / METADATA_FILE).read_bytes()
    except FileNotFoundError:
        return None


def write_override(corpus_dir: Path, source: str, doc_id: str, fields: Mapping[str, str]) -> bool:
    """Merge `fields` into the metadata.json entry of the file `source` (its id pinned to `doc_id`, so the
    document keeps its id); True if anything changed. Written atomically."""
    raw = read_raw(corpus_dir)
    try:
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UploadError(f"{METADATA_FILE} is not valid JSON: {exc}", value=str(corpus_dir / METADATA_FILE),
                          hint="fix or delete it", zh=f"文档库目录中的 {METADATA_FILE} 不是有效的 JSON，请管理员修复") from None
    entry = dict(data.get(source) or {})
    merged = {**entry, "doc_id": entry.get("doc_id") or doc_id, **fields}
    if merged == entry:
        return False
    data[source] = merged
    _write_atomic(corpus_dir / METADATA_FILE, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return True


def restore(corpus_dir: Path, raw: bytes | None) -> None:
    """Put metadata.json back as it was (`raw` from `read_raw`; None: there was none)."""
    path = corpus_dir / METADATA_FILE
    if raw is None:
        path.unlink(missing_ok=True)
    else:
        _write_atomic(path, raw)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
