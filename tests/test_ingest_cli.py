"""Ingest through the CLI: bad files are named and skipped, good ones still ingest; JSON output shape."""

from __future__ import annotations

import json
import shutil

from faces.cli import main

from conftest import CORPUS


def _mixed_folder(tmp_path):
    root = tmp_path / "mixed"
    root.mkdir()
    shutil.copy(CORPUS / "shuozhou-2014.txt", root / "shuozhou.txt")
    (root / "empty.txt").write_bytes(b"")
    (root / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (root / "gbk.txt").write_bytes("一、总则\n（一）支持科技型中小企业发展。（市科技局牵头负责）\n".encode("gbk"))
    (root / "plain.txt").write_text("这份通知没有任何编号。\n\n请各单位认真落实。\n", encoding="utf-8")
    (root / "scan.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(200)) * 10)
    with open(root / "huge.txt", "wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: 50 MB by size, refused before any byte is read
    return root


def test_bad_files_are_named_and_the_rest_ingest(tmp_path, capsys):
    root = _mixed_folder(tmp_path)
    assert main(["departments", "--corpus", str(root), "--json"]) == 0
    captured = capsys.readouterr()
    units = {row["name"]: row for row in json.loads(captured.out)}
    assert units["市科技局"]["total"] >= 10  # shuozhou + the GBK file both ingested
    for name in ("empty.txt", "image.txt", "scan.pdf", "huge.txt"):
        assert f"skipped {root / name}" in captured.err
    assert "4 file(s) skipped" in captured.err
    assert "gbk.txt" not in captured.err and "plain.txt" not in captured.err


def test_departments_for_one_unit_grouped_by_document(capsys):
    assert main(["departments", "市人社局", "--json", "--corpus", str(CORPUS)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "市人社局"
    docs = {d["doc_id"]: d for d in out["documents"]}
    assert set(docs) == {"yangquan-2017", "xinzhou-2021", "shuozhou-2014"}
    ids = [c["id"] for d in out["documents"] for c in d["clauses"]]
    assert "yangquan-2017#二.(一).3" in ids and len(ids) == len(set(ids)) == out["total"]
    assert all("市人社局" in c["departments"] for d in out["documents"] for c in d["clauses"])


def test_unknown_department_is_a_clear_error(capsys):
    assert main(["departments", "市宇航局", "--corpus", str(CORPUS)]) == 1
    assert "no unit named '市宇航局'" in capsys.readouterr().err


def test_clauses_json_shape(capsys):
    assert main(["clauses", str(CORPUS / "xinzhou-2021.txt"), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["doc_id"] == "xinzhou-2021" and rows[0]["doc_title"].startswith("忻州市创新生态建设实施方案")
    assert set(rows[0]) == {"id", "doc_id", "doc_title", "path", "text", "span", "lead", "departments", "cooperating", "kind"}
    tagged = next(r for r in rows if r["id"] == "xinzhou-2021#七.(一).4")
    assert tagged["lead"] == ["市行政审批局", "市科技局"]


def test_clauses_of_unreadable_file_is_one_error_line(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"")
    assert main(["clauses", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: ") and "bad.txt" in err[0]
