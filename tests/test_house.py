"""House limits (fast tier): no module over 400 lines and no function over 60 lines outside tests/ and
eval/, so the chain, the service and the build stay small enough to read and change."""

from __future__ import annotations

import ast

from conftest import ROOT

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
PACKAGES = ("policyqa", "ingest", "index", "qa", "faces")


def _sources():
    yield ROOT / "app.py"
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_no_module_is_over_400_lines():
    long = {p.relative_to(ROOT).as_posix(): n for p in _sources()
            if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES}
    assert not long, long


def test_no_function_is_over_60_lines():
    long = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT).as_posix()}:{node.name}"] = lines
    assert not long, long


def test_every_module_has_its_line_in_the_architecture_page():
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [p.relative_to(ROOT).as_posix() for p in _sources()
               if p.name != "__init__.py" and f"`{p.relative_to(ROOT).as_posix()}`" not in page]
    assert not missing, f"add a line for each to docs/ARCHITECTURE.md: {missing}"
