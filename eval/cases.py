"""What one `policyqa eval` run evaluates: a question file, or a case folder, or a folder of case folders.

    CASE/questions.jsonl (or .csv / .xlsx)   the questions
    CASE/docs/                               the documents they are asked of (the corpus of this case)

A question file alone is evaluated against `--corpus DIR` when given, else against the configured
index. A case folder brings its own corpus (`docs/`, unless `--corpus` names another). A folder whose
sub-folders are cases (../shared/field) runs every case against its own documents and adds a
per-case and overall summary. The summary table is rendered here, beside the discovery it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eval.questions import SUFFIXES
from policyqa.errors import PolicyQAError

DOCS = "docs"


@dataclass(frozen=True)
class Case:
    """One question file and the corpus its questions are asked of (None: the configured index)."""

    name: str
    questions: Path
    corpus: Path | None


def _questions_file(folder: Path) -> Path | None:
    found = [folder / f"questions{s}" for s in SUFFIXES if (folder / f"questions{s}").is_file()]
    if len(found) > 1:
        raise PolicyQAError(f"{folder} holds several question files ({', '.join(p.name for p in found)})",
                            value=str(folder), hint="keep one")
    return found[0] if found else None


def find_cases(target: Path, corpus: Path | None) -> list[Case]:
    """The cases `policyqa eval TARGET [--corpus DIR]` runs, in name order."""
    if target.is_file() or not target.exists():
        return [Case(target.stem, target, corpus)]  # a missing file is reported by load_questions
    own = _questions_file(target)
    if own is not None:
        docs = corpus or (target / DOCS if (target / DOCS).is_dir() else None)
        return [Case(target.name, own, docs)]
    cases = [Case(sub.name, q, sub / DOCS) for sub in sorted(target.iterdir())
             if sub.is_dir() and (q := _questions_file(sub)) is not None and (sub / DOCS).is_dir()]
    if not cases:
        raise PolicyQAError(f"{target} is neither a question file nor a case folder (questions.jsonl/.csv/.xlsx "
                            f"with a {DOCS}/ folder) nor a folder of case folders", value=str(target),
                            hint="pass a question file")
    if corpus is not None:
        raise PolicyQAError(f"--corpus applies to one question file or case; {target} holds {len(cases)} cases, "
                            f"each with its own {DOCS}/ folder", value=str(corpus), hint="leave --corpus out")
    return cases


def suite_summary(reports: dict[str, dict]) -> dict:
    """Per case and overall: questions, passed, pass rate (answers) and hit@k / MRR (retrieval)."""
    cases = {}
    for name, report in reports.items():
        s = report["summary"]
        cases[name] = {key: s.get(key) for key in ("questions", "passed", "pass_rate", "hit@1", "hit@k", "mrr", "n")}
    questions = sum(c["questions"] or 0 for c in cases.values())
    passed = sum(c["passed"] or 0 for c in cases.values())
    scored = [(c["n"], c) for c in cases.values() if c["n"]]
    n = sum(w for w, _ in scored)

    def pooled(key: str) -> float | None:
        return round(sum(w * c[key] for w, c in scored) / n, 4) if n else None

    overall = {"questions": questions, "passed": passed, "pass_rate": round(passed / questions, 4) if questions else None,
               "hit@1": pooled("hit@1"), "hit@k": pooled("hit@k"), "mrr": pooled("mrr"), "n": n}
    return {"cases": cases, "overall": overall}


def suite_markdown(summary: dict, k: int) -> str:
    """The per-case table with an overall row (retrieval pooled over every scored question)."""

    def cell(v) -> str:
        return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["# Field pass rate", "", f"| case | questions | passed | pass rate | hit@1 | hit@{k} | MRR |",
             "|---|---|---|---|---|---|---|"]
    rows = [*summary["cases"].items(), ("**overall**", summary["overall"])]
    for name, c in rows:
        lines.append("| " + " | ".join([name, *(cell(c[key]) for key in ("questions", "passed", "pass_rate",
                                                                             "hit@1", "hit@k", "mrr"))]) + " |")
    return "\n".join(lines) + "\n"
