"""Tests for ingest.loaders on small real files written to tmp_path (docx, html, pdf made here)."""

from __future__ import annotations

import hashlib
import io
import os
import random
import time
import zipfile
from pathlib import Path

import pytest

from ingest.loaders import SUPPORTED, LoadedText, iter_corpus_files, load_text
from policyqa.errors import IngestError

POLICY = "（一）支持科技型中小企业。（市科技局牵头负责）"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _refused(path: Path, *fragments: str, **kwargs: int) -> IngestError:
    """Load `path`, expect IngestError naming the file and every fragment; return the error."""
    with pytest.raises(IngestError) as info:
        load_text(path, **kwargs)
    message = str(info.value)
    assert path.name in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return info.value


# --- text formats -------------------------------------------------------------------------------


def test_utf8_text_is_kept_and_hashed(tmp_path: Path) -> None:
    raw = f"关于支持中小企业发展的若干措施\n\n　　{POLICY}\n\t二、附则\n".encode()
    loaded = load_text(_write(tmp_path / "policy.txt", raw))
    assert loaded == LoadedText(raw.decode(), "txt", "utf-8", hashlib.sha256(raw).hexdigest())


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    loaded = load_text(_write(tmp_path / "bom.txt", b"\xef\xbb\xbf" + POLICY.encode()))
    assert loaded.text == POLICY
    assert loaded.encoding == "utf-8-sig"


@pytest.mark.parametrize("codec", ["gbk", "gb2312", "gb18030"])
def test_gb_encodings_decode_as_gb18030(tmp_path: Path, codec: str) -> None:
    loaded = load_text(_write(tmp_path / "gb.txt", POLICY.encode(codec)))
    assert loaded.text == POLICY
    assert loaded.encoding == "gb18030"


def test_utf16_with_bom_decodes(tmp_path: Path) -> None:
    loaded = load_text(_write(tmp_path / "notepad.txt", POLICY.encode("utf-16")))
    assert loaded.text == POLICY


def test_crlf_and_lone_cr_fold_to_lf_and_nothing_else(tmp_path: Path) -> None:
    raw = "第一条\r\n　　（一）支持 \t企业。\r第二条\r\n\r\n".encode()
    loaded = load_text(_write(tmp_path / "crlf.txt", raw))
    assert loaded.text == "第一条\n　　（一）支持 \t企业。\n第二条\n\n"
    assert loaded.content_hash == hashlib.sha256(raw).hexdigest()  # hash of raw bytes, not text


@pytest.mark.parametrize("suffix", [".md", ".markdown", ".MD"])
def test_markdown_is_read_verbatim(tmp_path: Path, suffix: str) -> None:
    raw = f"# 若干措施\n\n- {POLICY}\n".encode()
    loaded = load_text(_write(tmp_path / f"doc{suffix}", raw))
    assert (loaded.text, loaded.format) == (raw.decode(), "md")


# --- docx ---------------------------------------------------------------------------------------


def test_docx_keeps_table_in_body_order(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("关于支持中小企业发展的若干措施")
    document.add_paragraph(POLICY)
    table = document.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "任务", (0, 1): "牵头单位", (1, 0): "科技创新", (1, 1): "市科技局"}.items():
        table.cell(r, c).text = text
    document.add_paragraph("（二）本措施自印发之日起施行。")
    path = tmp_path / "measures.docx"
    document.save(str(path))

    loaded = load_text(path)
    assert loaded.format == "docx"
    assert loaded.text.splitlines() == [
        "关于支持中小企业发展的若干措施",
        POLICY,
        "任务：科技创新；牵头单位：市科技局",  # a row carries its header cells
        "（二）本措施自印发之日起施行。",
    ]


def test_docx_merged_cell_written_once(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "附表：任务分工"
    for c, text in enumerate(["任务", "牵头单位", "配合单位"]):
        table.cell(1, c).text = text
    path = tmp_path / "merged.docx"
    document.save(str(path))
    # A first row merged across the table is the table's name; a lone row has no header to repeat.
    assert load_text(path).text.splitlines() == ["附表：任务分工", "任务；牵头单位；配合单位"]


def _zip_of_other_things() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a word document")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data", [random.Random(7).randbytes(4096), _zip_of_other_things()], ids=["random-bytes", "other-zip"]
)
def test_invalid_docx_is_refused(tmp_path: Path, data: bytes) -> None:
    _refused(_write(tmp_path / "broken.docx", data), "not a valid .docx", "save it again as .docx")


# --- html ---------------------------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html><head><meta charset="gbk"><title>若干措施</title>
<style>.x { color: red }</style>
<script>var secret = "不应出现的脚本";</script></head>
<body>
  <div class="content">
    <div><h1>关于支持中小企业发展的若干措施</h1></div>
    <div>
      <p>（一）支持科技型中小企业。<br>（市科技局牵头负责）</p>
      <!-- 注释不应出现 -->



      <p>（二）优化营商
         环境。</p>
    </div>
    <table><tr><td>任务</td><td>牵头单位</td></tr></table>
    <noscript>请启用脚本</noscript>
  </div>
</body></html>
"""


def test_html_text_blocks_without_scripts(tmp_path: Path) -> None:
    loaded = load_text(_write(tmp_path / "page.html", HTML.encode("gbk")))
    assert (loaded.format, loaded.encoding) == ("html", "gb18030")  # honoured <meta charset="gbk">
    for hidden in ("不应出现的脚本", "color", "注释不应出现", "请启用脚本"):
        assert hidden not in loaded.text
    assert loaded.title == "关于支持中小企业发展的若干措施"  # the article heading, not <title>
    assert [line for line in loaded.text.splitlines() if line] == [
        "关于支持中小企业发展的若干措施",
        "（一）支持科技型中小企业。",  # <br> breaks the line
        "（市科技局牵头负责）",
        "（二）优化营商 环境。",  # source line break inside <p> is just a space
        "任务；牵头单位",  # a one-row table: its cells on one line, no lone "|"
    ]
    assert "\n\n\n" not in loaded.text


def test_html_utf8_bytes_win_over_wrong_meta_label(tmp_path: Path) -> None:
    head = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    page = f"<html><head>{head}</head><p>{POLICY}</p>"
    loaded = load_text(_write(tmp_path / "mislabelled.htm", page.encode()))
    assert loaded.text == POLICY + "\n"
    assert loaded.encoding == "utf-8"


def test_html_without_text_is_refused(tmp_path: Path) -> None:
    page = b"<html><head><script>render()</script></head><body><div id='app'></div></body></html>"
    _refused(_write(tmp_path / "spa.html", page), "no visible text", "JavaScript")


# --- pdf ----------------------------------------------------------------------------------------


def _pdf(draw: object) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    draw(pdf)  # type: ignore[operator]
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _chinese_page(pdf: object) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf.setFont("STSong-Light", 12)  # type: ignore[attr-defined]
    pdf.drawString(72, 760, "关于支持中小企业发展的若干措施")  # type: ignore[attr-defined]
    pdf.drawString(72, 740, POLICY)  # type: ignore[attr-defined]


def test_pdf_with_chinese_text_layer(tmp_path: Path) -> None:
    loaded = load_text(_write(tmp_path / "measures.pdf", _pdf(_chinese_page)))
    assert (loaded.format, loaded.encoding) == ("pdf", "")
    assert loaded.text.splitlines() == ["关于支持中小企业发展的若干措施", POLICY]


def test_pdf_without_text_layer_asks_for_ocr(tmp_path: Path) -> None:
    scanned = _pdf(lambda pdf: pdf.rect(72, 72, 300, 500, fill=1))
    _refused(_write(tmp_path / "scan.pdf", scanned), "no text layer", "run OCR first")


@pytest.mark.parametrize("cut", [0.5, 0.1])
def test_truncated_pdf_is_refused(tmp_path: Path, cut: float) -> None:
    whole = _pdf(_chinese_page)
    _refused(_write(tmp_path / "cut.pdf", whole[: int(len(whole) * cut)]), "PDF", "again")


def test_pdf_of_random_bytes_is_refused(tmp_path: Path) -> None:
    data = b"%PDF-1.4\n" + random.Random(3).randbytes(2048)
    _refused(_write(tmp_path / "garbage.pdf", data), "PDF", "export the PDF again")


# --- refusals -----------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "nowhere.txt", "file not found")


def test_unsupported_extension_lists_supported(tmp_path: Path) -> None:
    error = _refused(_write(tmp_path / "budget.xlsx", b"PK\x03\x04"), "unsupported file type '.xlsx'")
    assert all(suffix in error.hint for suffix in SUPPORTED)


@pytest.mark.parametrize(
    "name, data, problem",
    [("empty.txt", b"", "empty (0 bytes)"), ("blank.md", " \r\n\t　\n".encode(), "only whitespace")],
)
def test_empty_files_are_refused(tmp_path: Path, name: str, data: bytes, problem: str) -> None:
    _refused(_write(tmp_path / name, data), problem)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"


@pytest.mark.parametrize(
    "name, data, problem",
    [
        ("image.txt", PNG, "NUL bytes"),
        ("archive.md", _zip_of_other_things(), "NUL bytes"),
        ("controls.txt", b"abc\x01\x02\x03def\x04\x05\x06ghi" * 10, "control characters"),
    ],
)
def test_binary_renamed_as_text_is_refused(tmp_path: Path, name: str, data: bytes, problem: str) -> None:
    _refused(_write(tmp_path / name, data), "binary content", problem)


def test_undecodable_text_is_refused(tmp_path: Path) -> None:
    # Half UTF-8, half GBK (a botched merge of two files): neither codec nor the detector fits.
    data = POLICY.encode("utf-8") + POLICY.encode("gbk")
    _refused(_write(tmp_path / "mystery.txt", data), "could not be detected", "UTF-8")


def test_oversized_file_is_refused_by_size_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    line = (POLICY + "\n").encode()
    with path.open("wb") as out:
        out.write(line * (50 * 1024 * 1024 // len(line) + 1))
    assert path.stat().st_size > 50 * 1024 * 1024
    start = time.perf_counter()
    error = _refused(path, "huge.txt: file is 50 MB", "over the 20 MB limit")
    assert time.perf_counter() - start < 0.5  # reading and decoding 50 MB would take far longer
    assert "max_file_mb" in error.hint


def test_size_limit_is_inclusive(tmp_path: Path) -> None:
    path = _write(tmp_path / "small.txt", b"x" * 100)
    assert load_text(path, max_bytes=100).text == "x" * 100
    _refused(path, "file is 100 bytes, over the 99 bytes limit", max_bytes=99)


# --- corpus folder ------------------------------------------------------------------------------


def test_iter_corpus_files_recurses_sorts_and_reports_skips(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    files = {
        "b 市级/2017 科技 措施.txt": POLICY,
        "a/deep/nested/notice.md": POLICY,
        "a/page.HTML": "<p>x</p>",
        "top.pdf": "",
        "a/budget.xlsx": "",
        "b 市级/scan.jpg": "",
        "a/~$measures.docx": "",
        "metadata.json": "{}",
        "a/extra.json": "{}",
        "README.md": "about",
        ".hidden.txt": "",
        ".git/config.txt": "",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    outside = _write(tmp_path / "outside.txt", b"secret")
    os.symlink(outside, root / "link-out.txt")
    os.symlink(root / "top.pdf", root / "a" / "link-in.pdf")
    os.symlink(tmp_path, root / "a" / "loop")

    found, skipped = iter_corpus_files(root)
    assert [p.relative_to(root).as_posix() for p in found] == [
        "a/deep/nested/notice.md",
        "a/link-in.pdf",
        "a/page.HTML",
        "b 市级/2017 科技 措施.txt",
        "top.pdf",
    ]
    reasons = {p.relative_to(root).as_posix(): reason for p, reason in skipped}
    assert list(reasons) == sorted(reasons)
    assert reasons == {
        "a/budget.xlsx": "unsupported file type '.xlsx'",
        "a/loop": "symlinked folder, not followed",
        "a/~$measures.docx": "Office lock file (the document is open in an editor)",
        "b 市级/scan.jpg": "unsupported file type '.jpg'",
        "link-out.txt": "symlink points outside the corpus folder",
    }


def test_iter_corpus_files_missing_root(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="corpus folder not found"):
        iter_corpus_files(tmp_path / "nope")
