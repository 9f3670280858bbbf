"""The dependency direction (fast tier): ground ← ingest ← index ← qa ← eval ← faces ← app.py, and no
import circle anywhere. Imports inside functions count too: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

LAYERS = ["ground", "ingest", "index", "qa", "eval", "faces", "app"]
PACKAGES = {"policyqa": "ground", "ingest": "ingest", "index": "index", "qa": "qa", "eval": "eval", "faces": "faces"}


def _modules() -> dict[str, Path]:
    found = {"app": ROOT / "app.py"}
    for package in PACKAGES:
        for path in (ROOT / package).glob("*.py"):
            name = f"{package}.{path.stem}"
            found[package if path.stem == "__init__" else name] = path
    return found


def _layer(module: str) -> str:
    return "app" if module == "app" else PACKAGES[module.split(".")[0]]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps |= {m for m in [node.module] + [f"{node.module}.{a.name}" for a in node.names] if m in modules}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in modules}
        graph[name] = deps - {name}
    return graph


def test_every_module_imports_only_its_own_layer_or_below():
    upward = [f"{m} → {d}" for m, deps in _graph().items() for d in deps
              if LAYERS.index(_layer(d)) > LAYERS.index(_layer(m))]
    assert not upward, upward


def test_there_is_no_import_circle():
    graph, state, circles = _graph(), {}, []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(graph[module]):
            if state.get(dep) == "open":
                circles.append(trail[trail.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, trail + [dep])
        state[module] = "done"
    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, circles
