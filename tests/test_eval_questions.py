"""Question files as evaluators keep them (eval/questions.py): JSONL, CSV (BOM, GBK), xlsx; bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest

from eval.questions import Question, load_questions
from policyqa.errors import PolicyQAError

FIELD = Path(__file__).resolve().parents[2] / "shared" / "field"

# The same three questions, as a sheet writes them: a follow-up, an unanswerable one, two answer points.
HEADER = ["编号", "问题", "标准答案要点", "是否可回答", "依据", "对话历史", "备注"]
ROWS = [
    ["1", "创业租金补贴的补贴标准是多少？", "6000元", "是", "补贴标准：每连续租满1年补贴6000元", "", ""],
    ["2", "那创业带动就业补贴呢？", "2000元；3万元", "是", "招用3人以下的按每人2000元给予补贴", "创业租金补贴的补贴标准是多少？", "追问"],
    ["3", "深圳市的创业租金补贴标准是多少？", "", "否", "", "", ""],
]
EXPECTED = [
    Question("1", "", "创业租金补贴的补贴标准是多少？", ("补贴标准：每连续租满1年补贴6000元",), answer_must=("6000元",)),
    Question("2", "", "那创业带动就业补贴呢？", ("招用3人以下的按每人2000元给予补贴",), answer_must=("2000元", "3万元"),
             history=("创业租金补贴的补贴标准是多少？",)),
    Question("3", "", "深圳市的创业租金补贴标准是多少？", (), answerable=False),
]


def write_csv(path: Path, rows: list[list], encoding: str, delimiter: str = ",") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_csv_in_the_encodings_excel_writes(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "问题集.csv", [HEADER, *ROWS], encoding)
    questions, problems = load_questions(path)
    assert questions == EXPECTED
    assert problems == ["问题集.csv header: column(s) 备注 not used (the names read are listed in eval/data/columns.json); skipped"]


def test_tab_separated_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "q.csv", [HEADER[:4], *[r[:4] for r in ROWS]], "utf-8", delimiter="\t")
    questions, _ = load_questions(path)
    assert [q.question for q in questions] == [r[1] for r in ROWS]
    assert questions[1].answer_must == ("2000元", "3万元") and questions[1].history == ()


def test_xlsx_finds_the_question_sheet_and_reads_typed_cells(tmp_path: Path) -> None:
    rows = [[int(r[0]), *r[1:3], r[3] == "是", *r[4:]] for r in ROWS]  # a number id, TRUE/FALSE cells
    path = write_xlsx(tmp_path / "q.xlsx", {"说明": [["本表为评测问题"]], "题目": [[], HEADER, *rows]})
    questions, problems = load_questions(path)
    assert questions == EXPECTED
    assert problems[0].startswith("q.xlsx sheet 题目 header: column(s) 备注 not used")


def test_jsonl_with_english_or_chinese_keys_and_only_the_question(tmp_path: Path) -> None:
    lines = [{"id": "a", "question": "低保标准一个月多少钱？", "gold": [{"contains": "每人每月1309元"}],
              "answerable": True, "answer_must": ["1309元"], "history": ["广州呢？"]},
             {"问题": "就业见习基地的初核机构是哪个单位？", "标准答案要点": ["广州市高校毕业生就业指导中心"]},
             {"question": "第十三条是怎么规定的？"}]
    path = tmp_path / "field.jsonl"
    path.write_text("\ufeff" + "\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    questions, problems = load_questions(path)
    assert problems == []
    assert questions[0] == Question("a", "", "低保标准一个月多少钱？", ("每人每月1309元",), answer_must=("1309元",),
                                    history=("广州呢？",))
    assert questions[1] == Question("field:2", "", "就业见习基地的初核机构是哪个单位？", (),
                                    answer_must=("广州市高校毕业生就业指导中心",))
    assert questions[2].id == "field:3" and questions[2].answerable and questions[2].gold == ()


def test_bad_rows_are_named_and_skipped(tmp_path: Path) -> None:
    rows = [HEADER[:4], ["1", "创业租金补贴的补贴标准是多少？", "6000元", "也许"], ["2", "  ", "6000元", "是"],
            ["", "", "", ""], ["4", "补贴期限是多久？", "", ""]]
    questions, problems = load_questions(write_csv(tmp_path / "q.csv", rows, "utf-8"))
    assert [q.id for q in questions] == ["4"]
    assert problems == ["q.csv row 2: answerable is '也许'; write 是 or 否 (or true / false); skipped",
                        "q.csv row 3: the question cell is empty; skipped"]


def test_duplicate_id_names_the_first_row(tmp_path: Path) -> None:
    rows = [["id", "question"], ["7", "甲？"], ["7", "乙？"]]
    questions, problems = load_questions(write_csv(tmp_path / "q.csv", rows, "utf-8"))
    assert [q.question for q in questions] == ["甲？"]
    assert problems == ["q.csv row 3: duplicate id '7' (first on row 2); skipped"]


def test_no_question_column_says_which_columns_were_found(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "q.csv", [["序号", "题干", "答案"], ["1", "甲？", "乙"]], "utf-8")
    with pytest.raises(PolicyQAError) as err:
        load_questions(path)
    assert str(err.value) == (f"{path}: no question column in the header row (row 1: 序号、题干、答案); "
                              f"name the column of questions 问题 (or question)")
    assert (err.value.value, err.value.hint) == (str(path), "name the column of questions 问题 (or question)")
    book = write_xlsx(tmp_path / "q.xlsx", {"Sheet1": [["序号", "题干"], [1, "甲？"]]})
    with pytest.raises(PolicyQAError, match=r"q.xlsx: sheet Sheet1: no question column .*序号、题干"):
        load_questions(book)


@pytest.mark.parametrize("name, content, message", [
    ("q.csv", b"", "q.csv: the file is empty; put a header row"),
    ("q.csv", "问题\n\n".encode(), r"no usable questions \(0 skipped\)"),
    ("q.jsonl", b"\n\n", r"no usable questions \(0 skipped\)"),
    ("q.jsonl", b"\xff\xfe\x00", "it must be a UTF-8 JSONL file"),
    ("q.csv", b"PK\x03\x04\x00\x00binary", r"q.csv: not a text CSV \(binary content\); export the sheet as CSV"),
    ("q.xlsx", b"this is not a zip file", "q.xlsx: cannot read it as an Excel workbook .*; open and save it again in Excel"),
    ("q.xls", b"\xd0\xcf\x11\xe0", r"old binary Excel format \(.xls\) is not read; save it as .xlsx"),
    ("q.txt", b"question", "unsupported question file type '.txt'; use .jsonl, .csv or .xlsx"),
])
def test_unreadable_files_say_what_to_do(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(PolicyQAError, match=message):
        load_questions(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(PolicyQAError, match=f"question file not found: {tmp_path / 'nope.csv'}"):
        load_questions(tmp_path / "nope.csv")
    (tmp_path / "d.jsonl").mkdir()
    with pytest.raises(PolicyQAError, match="question file is a folder"):
        load_questions(tmp_path / "d.jsonl")


def test_every_field_case_loads_without_problems() -> None:
    files = sorted(FIELD.glob("*/questions.jsonl"))
    if not files:
        pytest.skip(f"field cases not found at {FIELD} (the shared folder is not mounted)")
    for path in files:
        questions, problems = load_questions(path)
        assert problems == [], path
        assert all(q.gold or not q.answerable for q in questions), path
    followups = [q for q in load_questions(FIELD / "followup-and-refusal" / "questions.jsonl")[0] if q.history]
    assert [q.history for q in followups][0] == ("创业租金补贴的补贴标准是多少？",)
