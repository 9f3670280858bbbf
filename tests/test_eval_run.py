"""`policyqa eval` end to end (eval/run.py, eval/cases.py, eval/corpus_cache.py): a sheet of questions
against its own corpus folder, indexed once into the cache; case folders; the field rule for a pass.
Fast tier: the hashing embedder and extractive answers."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from eval.answers import fail_reasons
from eval.cases import find_cases
from eval.corpus_cache import corpus_key
from eval.questions import Question
from ingest.records import Clause
from faces.cli import main
from policyqa.errors import PolicyQAError
from qa.answer import Answer, Citation

ROOT = Path(__file__).resolve().parent.parent
ROWS = [
    ["编号", "问题", "标准答案要点", "是否可回答", "依据", "对话历史"],
    ["q1", "阳泉的科技创新券能不能用来购买省外单位的科技服务？", "省外单位", "是", "向省外单位购买科技创新服务也可申报补助", ""],
    ["q2", "阳泉的科技型中小企业到新三板、创业板等上市挂牌，市里有什么补助？", "一次性补助", "是", "市级财政给予一次性补助", ""],
    ["q3", "太原市到2020年高新技术企业要达到多少家？", "", "否", "", ""],
    ["q4", "阳泉的科技型中小企业到新三板上市挂牌有什么补助？", "不存在的要点", "是", "市级财政给予一次性补助", ""],
]


@pytest.fixture()
def case(tmp_path: Path, monkeypatch) -> Path:
    """A case folder (questions.csv + docs/ with one seed document); settings for hashing + extractive."""
    folder = tmp_path / "yangquan-case"
    (folder / "docs").mkdir(parents=True)
    for name in ("yangquan-2017.txt", "metadata.json"):  # metadata.json: the region 阳泉 is known
        shutil.copy(ROOT / "corpus" / name, folder / "docs" / name)
    with open(folder / "questions.csv", "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(ROWS)
    for name, value in (("EMBEDDING_MODEL", "hashing-bigram-256"), ("GENERATOR", "extractive"),
                        ("DATA_DIR", str(tmp_path / "data"))):
        monkeypatch.setenv(f"POLICYQA_{name}", value)
    return folder


def test_sheet_against_its_corpus_reports_every_failure(case: Path, capsys) -> None:
    args = ["eval", str(case / "questions.csv"), "--corpus", str(case / "docs"), "--json"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    s = report["summary"]
    assert s["questions"] == 4 and s["corpus"] == str(case / "docs")
    assert s["pass_rate"] == round(s["passed"] / 4, 4)
    by_id = {a["id"]: a for a in report["answers"]}
    assert by_id["q4"]["passed"] is False and "answer lacks 「不存在的要点」" in by_id["q4"]["reasons"]
    assert by_id["q3"]["passed"] is by_id["q3"]["refused"]
    assert "built" in err and "yangquan-case-docs-" in err
    cache = Path(case.parent / "data" / "cache" / "eval-index")
    assert [p.name.rsplit("-", 1)[0] for p in cache.iterdir()] == ["yangquan-case-docs"]
    # Second run: the cached index is reused; the Markdown lists each failed question with its answer.
    assert main(args[:-1]) == 0
    out, err = capsys.readouterr()
    assert "reused" in err and "built" not in err
    failed = [a for a in report["answers"] if not a["passed"]]
    assert f"### Failed questions ({len(failed)} of 4)" in out
    for a in failed:
        assert f"- **{a['id']}** {a['question']}" in out
    assert "  - answer" in out and "  - fails: answer lacks 「不存在的要点」" in out


def test_case_folders_run_each_against_its_own_docs(case: Path, capsys) -> None:
    suite = case.parent / "suite"
    suite.mkdir()
    shutil.copytree(case, suite / "a")
    shutil.copytree(case, suite / "b")
    (suite / "b" / "questions.csv").write_text("问题\n阳泉的科技创新券能不能用来购买省外单位的科技服务？\n", encoding="utf-8")
    assert [(c.name, c.corpus) for c in find_cases(suite, None)] == [("a", suite / "a" / "docs"), ("b", suite / "b" / "docs")]
    assert main(["eval", str(suite), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    cases, overall = report["summary"]["cases"], report["summary"]["overall"]
    assert (cases["a"]["questions"], cases["b"]["questions"], overall["questions"]) == (4, 1, 5)
    assert overall["passed"] == cases["a"]["passed"] + cases["b"]["passed"]
    assert overall["n"] == cases["a"]["n"]  # b's question has no gold: answered, not scored for retrieval
    assert main(["eval", str(suite), "--corpus", str(case / "docs")]) == 1
    assert "--corpus applies to one question file or case" in capsys.readouterr().err


def test_bad_question_file_is_one_error_line(case: Path, capsys) -> None:
    (case / "bad.csv").write_text("序号,题干\n1,甲？\n", encoding="utf-8")
    assert main(["eval", str(case / "bad.csv"), "--corpus", str(case / "docs")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"Error: {case / 'bad.csv'}: no question column in the header row (row 1: 序号、题干); "
                   f"name the column of questions 问题 (or question)"]


def test_corpus_key_follows_content_not_time(case: Path) -> None:
    docs = case / "docs"
    key = corpus_key(docs, "m", 400)
    (docs / "yangquan-2017.txt").touch()
    assert corpus_key(docs, "m", 400) == key
    assert corpus_key(docs, "other-model", 400) != key
    (docs / "more.txt").write_text("第一条 新增的条款。\n", encoding="utf-8")
    assert corpus_key(docs, "m", 400) != key
    with pytest.raises(PolicyQAError, match="corpus folder not found"):
        corpus_key(case / "nope", "m", 400)


def _answer(text: str, *clauses: str, refused: bool = False) -> Answer:
    cites = tuple(Citation(n, Clause(id=f"d#{n}", doc_id="d", doc_title="t", path=(str(n),), text=t, span=(0, len(t))))
                  for n, t in enumerate(clauses, 1))
    return Answer("q", text, cites, refused=refused)


def test_the_field_rule_for_a_pass() -> None:
    q = Question("x", "", "发明专利每项计多少分？", ("每项专利按20分/（人数）计算",), answer_must=("20分",))
    row = "加分指标 | 创新能力 | 属发明专利的，每项专利按20分/（人数）计算，最高不超过40分。"
    assert fail_reasons(q, _answer("每项专利按20分计算[1]", row)) == ()
    assert fail_reasons(q, _answer("20分[1]", "第十三条 本办法自印发之日起施行。")) == (
        "cites d#1, not the clause stating 「每项专利按20分/（人数）计算」",)
    assert fail_reasons(q, _answer("每项专利40分[1]", row)) == ("answer lacks 「20分」",)
    assert fail_reasons(q, _answer("现有文件没有写明", refused=True)) == ("refused",)
    no = Question("y", "", "深圳市的补贴标准是多少？", (), answerable=False)
    assert fail_reasons(no, _answer("现有文件不涉及“深圳”", refused=True)) == ()
    assert fail_reasons(no, _answer("6000元[1]", row)) == ("not refused, but the documents do not answer it",)
    either = Question("z", "", "？", ("甲条", "乙条"), any_of=True)
    assert fail_reasons(either, _answer("乙[1]", "乙条如此。")) == ()
    both = Question("w", "", "？", ("甲条", "乙条"))
    assert fail_reasons(both, _answer("乙[1]", "乙条如此。")) == ("cites d#1, not the clause stating 「甲条」",)
