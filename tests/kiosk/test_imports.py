"""The kiosk's import graph: no cycles, and a core that never imports Kivy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KIOSK = Path(__file__).resolve().parents[2] / "kiosk"
#: The plain-Python core: the controller and what it stands on (mypy strict checks these).
CORE = (
    "kiosk.controller",
    "kiosk.view",
    "kiosk.store",
    "kiosk.sync",
    "kiosk.settings",
    "kiosk.migrations",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(KIOSK.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every kiosk module's imports (anywhere in it, lazy ones too), by module name."""
    graph: dict[str, set[str]] = {}
    for path in KIOSK.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        graph[module_name(path)] = names
    return graph


def kiosk_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {m: {n for n in names if n in graph and n != m} for m, names in graph.items()}


def test_no_import_cycles() -> None:
    edges = kiosk_edges(imports())
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_core_never_imports_kivy() -> None:
    graph = imports()
    edges = kiosk_edges(graph)
    seen: set[str] = set()
    todo = list(CORE)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(edges[module])
    assert "kiosk.controller" in seen and "kiosk.answering" in seen  # the walk follows imports
    kivy = {m: sorted(n for n in graph[m] if n.split(".")[0] == "kivy") for m in sorted(seen)}
    assert {m: names for m, names in kivy.items() if names} == {}


@pytest.mark.parametrize(
    "library",
    [
        "requests",  # the API client is on urllib: requests and what it loads held ~4 MiB
        "apscheduler",  # sync and heartbeat run on threads of their own: it held ~1.5 MiB
    ],
)
def test_the_kiosk_never_imports(library: str) -> None:
    """Libraries the kiosk left for its memory's sake (bench/kiosk_tap.py)."""
    graph = imports()
    users = sorted(
        m for m, names in graph.items() if any(n.split(".")[0] == library for n in names)
    )
    assert users == []
