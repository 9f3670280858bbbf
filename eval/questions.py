"""Question files as evaluators keep them: JSON lines, CSV (UTF-8, UTF-8 with BOM or GBK) and Excel .xlsx.

Every format yields the same `Question`. Only the question is required; each other field has a
default (id: file stem and line/row number, type: "", gold: none, answerable: yes, answer_must,
history: none). Field names are read through one vocabulary (`eval/data/columns.json`): the English
names of the JSONL format (id, question, gold, answerable, answer_must, history, type, any_of) or the
Chinese headers a sheet uses (问题, 标准答案要点, 是否可回答, 依据, 编号, 对话历史 …).

Trade-offs:
- JSONL values keep their JSON types and are checked strictly (gold is a list of {"contains": …}, a
  bool is a bool): the format is written by tools. Sheet cells are text written by people, so a cell
  may hold several phrases (gold, answer_must, history) separated by line breaks, "|", "；" or ";",
  and yes/no cells accept 是/否, 可回答/不可回答, TRUE/FALSE, 1/0, √/× and the like. "、" and "，" are
  not separators: they occur inside the phrases themselves (市编办、市发改委).
- A CSV is read as UTF-8 (with or without BOM) and, if that fails, as GB18030 (a superset of GBK,
  what Excel in a Chinese locale writes); the delimiter is sniffed among comma, tab and semicolon.
- An .xlsx is read with openpyxl (cached cell values, not formulas); the first sheet whose header row
  has a question column is used. The old binary .xls is refused with what to do.
- A bad row is skipped and reported (file, line or row, what is wrong); a file that cannot be read,
  has no question column or no usable question stops the run with one message saying what to do.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from policyqa.text import match_key
from policyqa.errors import PolicyQAError

SUFFIXES = (".jsonl", ".csv", ".xlsx")
_SPLIT = re.compile(r"\s*(?:\r?\n|\||；|;)\s*")
_JSON_TYPES: dict[str, type] = {"id": str, "type": str, "question": str, "gold": list, "answerable": bool,
                                "answer_must": list, "history": list, "any_of": bool, "yes_no": str}


@dataclass(frozen=True)
class Question:
    """One evaluation question: its gold phrases (one per gold clause), how they combine, the phrases a
    right answer must contain, and the earlier turns of a follow-up."""

    id: str
    type: str
    question: str
    gold: tuple[str, ...]  # the `contains` phrase of each gold item
    any_of: bool = False  # True: any one gold clause answers it; False: all are needed
    answerable: bool = True
    answer_must: tuple[str, ...] = ()
    history: tuple[str, ...] = ()  # earlier questions of the conversation, oldest first
    yes_no: str = ""  # the word a yes/no question's answer should open with (可以, 不可以, 有, 没有 …)


def _bad(path: Path, problem: str, hint: str) -> PolicyQAError:
    """The error for a question file that cannot be used: the file, what is wrong, what to do."""
    return PolicyQAError(f"{path}: {problem}", value=str(path), hint=hint)


@lru_cache(maxsize=1)
def vocabulary() -> tuple[dict[str, str], frozenset[str], frozenset[str]]:
    """(header key → field name, yes words, no words) from eval/data/columns.json."""
    data = json.loads((Path(__file__).parent / "data" / "columns.json").read_text(encoding="utf-8"))
    headers = {_header_key(alias): name for name, aliases in data["fields"].items() for alias in aliases}
    return headers, frozenset(map(_header_key, data["yes"])), frozenset(map(_header_key, data["no"]))


def _header_key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).lower()


def load_questions(path: Path) -> tuple[list[Question], list[str]]:
    """Read a .jsonl, .csv or .xlsx question file; return the usable questions and one message per
    skipped line or row. PolicyQAError when the file cannot be read or holds no usable question."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise _bad(path, "the old binary Excel format (.xls) is not read",
                   "save it as .xlsx (Excel: 另存为 → Excel 工作簿) or as CSV")
    if suffix not in SUFFIXES and suffix != ".json":
        raise _bad(path, f"unsupported question file type {suffix or '(none)'!r}", "use .jsonl, .csv or .xlsx")
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "not found"
        raise PolicyQAError(f"question file {what}: {path}", value=str(path),
                            hint="pass a .jsonl, .csv or .xlsx file, e.g. eval/questions.jsonl")
    rows = _jsonl_rows(path) if suffix in (".jsonl", ".json") else _table_rows(path)
    questions, problems = _collect(path, rows)
    if not questions:
        first = f"; first problem: {problems[0]}" if problems else ""
        raise _bad(path, f"no usable questions ({len(problems)} skipped{first})",
                   "each line or row needs at least a question (column 问题 or question)")
    return questions, problems


def _collect(path: Path, rows: Iterator[tuple[str, str, dict | ValueError]]) -> tuple[list[Question], list[str]]:
    """Questions from (where, default id, fields or the row's error) items; duplicates are skipped."""
    questions: list[Question] = []
    problems: list[str] = []
    first: dict[str, str] = {}
    for where, default_id, fields in rows:
        try:
            if isinstance(fields, ValueError):
                raise fields
            question = _question(fields, default_id, typed=path.suffix.lower() in (".jsonl", ".json"))
        except ValueError as e:
            problems.append(f"{where}: {e}; skipped")
            continue
        if question.id in first:
            problems.append(f"{where}: duplicate id {question.id!r} (first on {first[question.id]}); skipped")
            continue
        first[question.id] = where.removeprefix(f"{path.name} ")
        questions.append(question)
    return questions, problems


def _jsonl_rows(path: Path) -> Iterator[tuple[str, str, dict | ValueError]]:
    """(where, default id, fields) per non-blank line; fields renamed to their canonical names."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise _bad(path, f"cannot read it: {e}", "it must be a UTF-8 JSONL file") from None
    headers, _, _ = vocabulary()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name} line {n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            yield where, "", ValueError(f"not valid JSON ({e})")
            continue
        if not isinstance(row, dict):
            yield where, "", ValueError(f"expected a JSON object, got {type(row).__name__}")
            continue
        yield where, f"{path.stem}:{n}", {headers.get(_header_key(k), k): v for k, v in row.items()}


def _table_rows(path: Path) -> Iterator[tuple[str, str, dict | ValueError]]:
    """(where, default id, fields) per non-empty data row of a CSV or the question sheet of an xlsx."""
    sheet, rows = _xlsx_table(path) if path.suffix.lower() == ".xlsx" else (None, _csv_table(path))
    rows = [[_cell(v) for v in row] for row in rows]
    start = next((i for i, row in enumerate(rows) if any(row)), None)
    if start is None:
        raise _bad(path, f"{sheet.strip() if sheet else 'the file'} is empty",
                   "put a header row (问题, 标准答案要点, 是否可回答 …) and one question per row")
    header = rows[start]
    headers, _, _ = vocabulary()
    names = [headers.get(_header_key(h)) for h in header]
    if "question" not in names:
        found = "、".join(h for h in header if h) or "(none)"
        raise _bad(path, f"{sheet.strip() + ': ' if sheet else ''}no question column in the header row "
                   f"(row {start + 1}: {found})", "name the column of questions 问题 (or question)")
    unused = [h for h, name in zip(header, names) if h and not name]
    if unused:
        yield f"{path.name}{sheet or ''} header", "", ValueError(
            f"column(s) {'、'.join(unused)} not used (the names read are listed in eval/data/columns.json)")
    for n, row in enumerate(rows[start + 1:], start + 2):
        if not any(row):
            continue
        fields = {name: value for name, value in zip(names, row) if name and value != ""}
        yield f"{path.name}{sheet or ''} row {n}", f"{path.stem}:{n}", fields


def _csv_table(path: Path) -> list[list[str]]:
    """The CSV's rows; UTF-8 (BOM or not), else GB18030; delimiter sniffed."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise _bad(path, f"cannot read it: {e}", "check the path and its permissions") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _bad(path, "neither UTF-8 nor GBK text", "save it as CSV UTF-8")
    if "\0" in text:
        raise _bad(path, "not a text CSV (binary content)", "export the sheet as CSV or pass the .xlsx")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as e:
        raise _bad(path, f"cannot parse it as CSV: {e}", "check its quotes, or save it again from the spreadsheet") from None


def _xlsx_table(path: Path) -> tuple[str, list[tuple]]:
    """(" sheet 名", rows) of the first sheet whose first non-empty row names a question column."""
    from zipfile import BadZipFile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, BadZipFile, KeyError, ValueError) as e:
        raise _bad(path, f"cannot read it as an Excel workbook ({type(e).__name__}: {e})",
                   "open and save it again in Excel as .xlsx, or export it as CSV") from None
    headers, _, _ = vocabulary()
    try:
        tables = [(ws.title, list(ws.iter_rows(values_only=True))) for ws in book.worksheets]
    finally:
        book.close()
    for title, rows in tables:
        head = next((r for r in rows if any(_cell(v) for v in r)), ())
        if any(headers.get(_header_key(_cell(v))) == "question" for v in head):
            return f" sheet {title}", rows
    return f" sheet {tables[0][0]}" if tables else "", tables[0][1] if tables else []


def _cell(value) -> str:
    """A cell as text: None → "", 3.0 → "3", TRUE → "true"; surrounding space removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _question(fields: dict, default_id: str, *, typed: bool) -> Question:
    """One Question from canonical fields; ValueError says what is wrong."""
    if typed:
        for key, typ in _JSON_TYPES.items():
            if key in fields and not isinstance(fields[key], typ) and not (key == "id" and isinstance(fields[key], int)):
                raise ValueError(f"key {key!r} should be {typ.__name__}, got {type(fields[key]).__name__} {fields[key]!r}")
    question = str(fields.get("question") or "").strip()
    if not question:
        raise ValueError("missing key 'question'" if typed else "the question cell is empty")
    return Question(
        id=str(fields.get("id") or default_id).strip(),
        type=str(fields.get("type") or "").strip(),
        question=question,
        gold=_gold(fields.get("gold", [])),
        any_of=_yes_no(fields.get("any_of", False), "any_of"),
        answerable=_yes_no(fields.get("answerable", True), "answerable"),
        answer_must=_phrases(fields.get("answer_must", [])),
        history=_phrases(fields.get("history", [])),
        yes_no=str(fields.get("yes_no") or "").strip(),
    )


def _phrases(value) -> tuple[str, ...]:
    """A list of phrases, or a cell split at line breaks, "|", "；" and ";"."""
    items = value if isinstance(value, list) else _SPLIT.split(str(value))
    return tuple(s for s in (str(v).strip() for v in items) if s)


def _gold(value) -> tuple[str, ...]:
    """Gold phrases from [{"contains": …}, …], plain strings, or a cell."""
    if not isinstance(value, list):
        return _phrases(value)
    gold = []
    for item in value:
        phrase = item.get("contains") if isinstance(item, dict) else item
        if not isinstance(phrase, str) or not match_key(phrase):
            raise ValueError(f'gold item {item!r} should be {{"contains": "<non-empty phrase>"}}')
        gold.append(phrase)
    return tuple(gold)


def _yes_no(value, name: str) -> bool:
    """A bool from a JSON bool or a yes/no cell (是/否, TRUE/FALSE, 1/0 …)."""
    if isinstance(value, bool):
        return value
    _, yes, no = vocabulary()
    key = _header_key(value)
    if key in yes:
        return True
    if key in no:
        return False
    raise ValueError(f"{name} is {value!r}; write 是 or 否 (or true / false)")
