"""Read one policy document (txt, md, docx, html, pdf) into text, or refuse it with a clear reason.

Trade-offs: decoding is strict (BOM, UTF-8, GB18030, then charset-normalizer's guess), so a file is
refused rather than silently filled with U+FFFD; only CRLF and lone CR are changed, because the
original text is what users see (normalisation for matching lives in `ingest.normalize`). A file
that is valid GB18030 only by landing in its private-use area is Big5 (traditional script) and is
decoded as such. Web pages keep only their article (`ingest.html`), Word files render their automatic
numbering (`ingest.docx`), and tables in both become one line per row (`ingest.tables`); PDFs are
read through their text layer only, no OCR.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.records import TableSpan
from policyqa.errors import IngestError

SUPPORTED = (".txt", ".md", ".markdown", ".docx", ".html", ".htm", ".pdf")
_FORMATS = {".txt": "txt", ".md": "md", ".markdown": "md", ".docx": "docx", ".html": "html",
            ".htm": "html", ".pdf": "pdf"}
_MB = 1024 * 1024
# Everything but the C0 controls that never occur in text (\t \n \v \f \r do) and DEL.
_NON_CONTROL = bytes(b for b in range(256) if b >= 32 and b != 127 or b in b"\t\n\v\f\r")
_MAX_CONTROL_SHARE = 0.01
_MIN_PDF_CHARS_PER_PAGE = 10
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# GB2312/GBK labels are routinely applied to pages that use characters outside them.
_GB_ALIASES = {"gb2312", "gbk", "x-gbk", "cp936", "euc-cn", "hz-gb-2312"}
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


@dataclass(frozen=True)
class LoadedText:
    """A file's text (newlines folded to LF), its format, the codec used, and its raw-bytes sha256.

    `title`, `date` (yyyy-mm-dd), `source` and `site` are what a web page states about itself outside
    its article text (meta tags, the article title); "" if nothing or not a web page.
    """

    text: str
    format: str  # txt | md | docx | html | pdf
    encoding: str  # codec that decoded txt/md/html; "" for docx and pdf (the container defines it)
    content_hash: str
    title: str = ""
    date: str = ""
    source: str = ""
    site: str = ""
    tables: tuple[TableSpan, ...] = ()  # where html/docx tables sit in `text`, one span per row


def load_text(path: Path, *, max_bytes: int = 20 * _MB) -> LoadedText:
    """Read `path` into a LoadedText, or raise IngestError saying what is wrong and what to do."""
    name = str(path)
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "file not found"
        raise IngestError(name, problem, "check the path and that the corpus folder is mounted")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise IngestError(name, f"unsupported file type '{suffix or '(no extension)'}'",
                          f"convert it to one of: {', '.join(SUPPORTED)}")
    size = path.stat().st_size  # before reading: a huge file must not be pulled into memory
    if size > max_bytes:
        raise IngestError(name, f"file is {_mb(size)}, over the {_mb(max_bytes)} limit",
                          "split the document, or raise the setting max_file_mb")
    if size == 0:
        raise IngestError(name, "file is empty (0 bytes)", "re-export or re-download the document")
    raw = path.read_bytes()
    fmt = _FORMATS[suffix]
    encoding = ""
    stated: dict[str, str] = {}
    if fmt in ("txt", "md"):
        text, encoding = _decode(raw, name)
    elif fmt == "html":
        text, encoding, stated = _html_text(raw, name)
    elif fmt == "docx":
        from ingest.docx import read_docx

        text, tables = read_docx(raw, name)
        stated = {"tables": tables}
    else:
        text = _pdf_text(raw, name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise IngestError(name, f"{fmt} file contains no text, only whitespace",
                          "check that the right file was exported")
    return LoadedText(text, fmt, encoding, hashlib.sha256(raw).hexdigest(), **stated)


def _mb(n: int) -> str:
    """A byte count as '20 MB' (one decimal at most), or in bytes when under 0.1 MB."""
    return f"{round(n / _MB, 1):g} MB" if n >= _MB // 10 else f"{n} bytes"


def _decode(raw: bytes, name: str, declared: str | None = None) -> tuple[str, str]:
    """Strictly decode text bytes: BOM, UTF-8, a declared charset, GB18030, then a detected guess."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(codec), codec
            except UnicodeDecodeError:
                break
    _refuse_binary(raw, name)
    # Valid UTF-8 with non-ASCII bytes is almost never accidental, so it outranks a declared label.
    for codec in ("utf-8", declared, "gb18030"):
        if codec:
            try:
                text = raw.decode(codec)
            except (UnicodeDecodeError, LookupError):
                continue
            if codec == "gb18030" and _PRIVATE_USE.search(text):
                big5 = _big5(raw)
                if big5 is not None:
                    return big5
            return text, codec
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is not None:
        try:
            return raw.decode(best.encoding), best.encoding
        except (UnicodeDecodeError, LookupError):
            pass
    raise IngestError(name, "text is not valid UTF-8 or GB18030 and its encoding could not be detected",
                      "open it in an editor and save it as UTF-8")


def _big5(raw: bytes) -> tuple[str, str] | None:
    """Big5 text (Microsoft's cp950, then the Hong Kong superset) without private-use characters."""
    # Big5's full-width punctuation (0xA140-0xA3BF) sits in GB18030's user-defined area, so Big5 text
    # read as GB18030 decodes "validly" into private-use characters: a clear sign it is not GB.
    for codec in ("cp950", "big5hkscs"):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if not _PRIVATE_USE.search(text):
            return text, codec
    return None


def _refuse_binary(raw: bytes, name: str) -> None:
    """Raise if the bytes hold NULs or too many control characters to be a text file."""
    if b"\x00" in raw:
        raise IngestError(name, "binary content (NUL bytes) in a text file",
                          "it may be an image or archive renamed; export the document as text")
    share = len(raw.translate(None, _NON_CONTROL)) / len(raw)
    if share > _MAX_CONTROL_SHARE:
        raise IngestError(name, f"binary content ({share:.0%} control characters) in a text file",
                          "it may be an image or archive renamed; export the document as text")


def _html_text(raw: bytes, name: str) -> tuple[str, str, dict]:
    """A web page's article text (see `ingest.html`), the codec used, and what the page states."""
    from ingest.html import read_page

    match = _META_CHARSET.search(raw[:4096])
    declared = match.group(1).decode("ascii").lower() if match else None
    if declared in _GB_ALIASES:
        declared = "gb18030"
    markup, encoding = _decode(raw, name, declared)
    page = read_page(markup)
    if not page.text.strip():
        raise IngestError(name, "HTML page has no visible text (only markup or scripts)",
                          "it may be rendered by JavaScript; save the rendered page or copy the text")
    return page.text, encoding, {"title": page.title, "date": page.date, "source": page.source,
                                 "site": page.site, "tables": page.tables}


def _pdf_text(raw: bytes, name: str) -> str:
    """Page texts joined by newlines; refuse corrupt, encrypted or scanned (text-less) PDFs."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(name, "PDF is password-protected", "remove the password and export again")
        pages = [page.extract_text() or "" for page in reader.pages]
    except IngestError:
        raise
    except Exception as exc:  # pypdf raises many unrelated types on damaged files
        raise IngestError(name, f"PDF cannot be parsed, it may be corrupt or truncated "
                          f"({type(exc).__name__}: {exc})", "download or export the PDF again") from exc
    if not pages:
        raise IngestError(name, "PDF has no pages; it may be corrupt or truncated",
                          "download or export the PDF again")
    chars = sum(len("".join(page.split())) for page in pages)
    if chars / len(pages) < _MIN_PDF_CHARS_PER_PAGE:
        raise IngestError(name, f"PDF has no text layer ({chars} characters on {len(pages)} page(s))",
                          "it looks scanned: run OCR first (e.g. ocrmypdf), then ingest the result")
    return "\n".join(pages)


def iter_corpus_files(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Supported files under `root` sorted by relative path, plus (path, reason) for skipped ones."""
    if not root.is_dir():
        raise IngestError(str(root), "corpus folder not found", "create it or point the setting at it")
    real_root = root.resolve()
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        for d in list(dirs):
            if d.startswith("."):
                dirs.remove(d)
            elif (here / d).is_symlink():
                skipped.append((here / d, "symlinked folder, not followed"))
        for f in files:
            path = here / f
            reason = _skip_reason(path, real_root)
            if reason is None:
                found.append(path)
            elif reason:
                skipped.append((path, reason))
    key = lambda p: p.relative_to(root).as_posix()  # noqa: E731
    return sorted(found, key=key), sorted(skipped, key=lambda item: key(item[0]))


def _skip_reason(path: Path, real_root: Path) -> str | None:
    """None to keep the file, "" to ignore it silently (not a document), else why it is skipped."""
    name = path.name
    if name.startswith(".") or name.lower().endswith(".json") or name.upper().startswith("README"):
        return ""
    if path.is_symlink() and not path.resolve().is_relative_to(real_root):
        return "symlink points outside the corpus folder"
    if not path.is_file():
        return "not a regular file"
    if name.startswith("~$"):
        return "Office lock file (the document is open in an editor)"
    if path.suffix.lower() not in SUPPORTED:
        return f"unsupported file type '{path.suffix.lower() or '(no extension)'}'"
    return None
