"""Markdown renderings of evaluation runs: one run's report, and a one-table comparison of methods.

Trade-off: plain pipe tables with fixed 4-decimal numbers, no HTML or charts, so the files diff
cleanly in git and read the same in a terminal, on GitHub and in the Gradio Markdown component.
Missing values (no scored question, no latency) print as "–" rather than 0, which would mislead.
"""

from __future__ import annotations

from eval.harness import EvalRun

MISS_TOP_IDS = 3
_COLUMNS = (("hit@1", "hit@1"), ("hit@k", "hit@k"), ("recall@k", "recall@k"), ("mrr", "MRR"),
            ("latency_ms_p50", "p50 ms"), ("latency_ms_p95", "p95 ms"))


def _fmt(value: object) -> str:
    """A table cell: 4 decimals for floats, "–" for None, pipes escaped."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    """A GitHub-flavoured Markdown table as lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return lines


def to_markdown(run: EvalRun, title: str) -> str:
    """A readable report: summary table, by-type table, settings, misses, errors and skipped lines."""
    s = run.summary
    k = run.k
    out = [f"# {title}", ""]
    out += _table(["metric", "value"], [
        ["questions scored (n)", s["n"]],
        ["unanswerable (not scored)", s["n_unanswerable"]],
        ["search errors", s["errors"]],
        ["k", k],
        *[[label.replace("@k", f"@{k}"), s[key]] for key, label in _COLUMNS],
    ])
    out += ["", "## By question type", ""]
    out += _table(["type", "n", *[label.replace("@k", f"@{k}") for _, label in _COLUMNS]],
                  [[t or "(none)", m["n"], *[m[key] for key, _ in _COLUMNS]] for t, m in s["by_type"].items()])
    if s["settings"]:
        out += ["", "## Settings", ""]
        out += _table(["setting", "value"], [[name, value] for name, value in s["settings"].items()])
    misses = [(r, sc) for r in run.rows if (sc := r.score) is not None and not sc.hit_at_k]
    out += ["", f"## Misses ({len(misses)}: gold not all within the top {k})", ""]
    for r, score in misses:
        top = ", ".join(f"`{i}`" for i in r.top_ids[:MISS_TOP_IDS]) or "(no hits)"
        missing = "; ".join(f"「{p}」" for p in score.missing)
        kind = f" ({r.question.type})" if r.question.type else ""
        out += [f"- **{r.question.id}**{kind} {r.question.question}",
                f"  - missing: {missing}", f"  - top {MISS_TOP_IDS}: {top}"]
    if not misses:
        out.append("None.")
    errored = [r for r in run.rows if r.error]
    if errored:
        out += ["", f"## Search errors ({len(errored)})", ""]
        out += [f"- **{r.question.id}** {r.question.question}: {r.error}" for r in errored]
    if run.problems:
        out += ["", f"## Skipped question-file lines ({len(run.problems)})", ""]
        out += [f"- {p}" for p in run.problems]
    return "\n".join(out) + "\n"


def compare_markdown(runs: dict[str, EvalRun]) -> str:
    """One table, one row per method: hit@1, hit@k, recall@k, MRR, p50 ms, p95 ms."""
    ks = sorted({run.k for run in runs.values()})
    # Label the k columns with the real k when every run shares it; mixed k gets a column of its own.
    shared = ks[0] if len(ks) == 1 else None
    labels = [label.replace("@k", f"@{shared}") if shared else label for _, label in _COLUMNS]
    header = ["method", "n", *([] if shared else ["k"]), *labels]
    rows = []
    for name, run in runs.items():
        s = run.summary
        rows.append([name, s["n"], *([] if shared else [run.k]), *[s[key] for key, _ in _COLUMNS]])
    return "\n".join(_table(header, rows)) + "\n"
