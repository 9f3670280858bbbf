"""Every field case (../shared/field) evaluated end to end with the real embedding model and extractive
answers, as `policyqa eval ../shared/field --generator extractive` does: each case against an index
of its own docs/, follow-ups with their history. The pass count may only go up (README, "Field cases")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faces.cli import main

FIELD = Path(__file__).resolve().parents[2] / "shared" / "field"
PASSED_AT_LEAST = 39  # of 39 with extractive answers (eval/reports/field.md, 2026-12-01)


@pytest.mark.model
def test_every_field_case_end_to_end(tmp_path: Path, monkeypatch, capsys) -> None:
    if not FIELD.is_dir():
        pytest.skip(f"field cases not found at {FIELD} (the shared folder is not mounted)")
    monkeypatch.setenv("POLICYQA_DATA_DIR", str(tmp_path))
    assert main(["eval", str(FIELD), "--generator", "extractive", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    cases = sorted(p.name for p in FIELD.iterdir() if (p / "questions.jsonl").is_file())
    assert sorted(report["cases"]) == cases
    for name, case in report["cases"].items():
        lines = (FIELD / name / "questions.jsonl").read_text(encoding="utf-8").split("\n")
        assert [a["id"] for a in case["answers"]] == [json.loads(x)["id"] for x in lines if x.strip()]
        for a in case["answers"]:
            assert a["passed"] is (a["reasons"] == [])
            assert a["generator"] in {"extractive", "items", "structured"}  # no model wrote it: quotes, support items, whole lists
    followups = [a for a in report["cases"]["followup-and-refusal"]["answers"] if a["history"]]
    assert len(followups) == 3 and all(a["standalone_question"] for a in followups)
    overall = report["summary"]["overall"]
    assert overall["questions"] == 39
    assert overall["passed"] >= PASSED_AT_LEAST, report["summary"]["cases"]
