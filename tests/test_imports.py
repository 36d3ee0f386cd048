"""The whole import graph (shared, server, kiosk): no cycles, and the layers stay apart.

Imports are read from the source (ast), lazy ones inside functions too, so a cycle that only
bites at run time still shows. `from package import name` depends on `package.name` when that
is a module (its package's `__init__` runs first, as for any submodule), else on `package`.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shared", "server", "kiosk")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """Each of our modules and the modules of ours it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from . import x
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    targets.add(child if child in modules else base)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk meets, each as the modules along it."""
    found: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_no_import_cycle_anywhere() -> None:
    graph = import_graph()
    assert {"shared.survey", "server.app", "kiosk.controller"} <= set(graph)
    assert "server.settings" in graph["server.app"]  # the walk sees `from server import x`
    assert cycles(graph) == []


def test_the_walk_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_shared_stands_alone_and_kiosk_and_server_never_import_each_other() -> None:
    crossing = {
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        if (module.startswith("shared") and not target.startswith("shared"))
        or (module.startswith("kiosk") and target.startswith("server"))
        or (module.startswith("server") and target.startswith("kiosk"))
    }
    assert crossing == set()


def test_a_server_process_starts_without_scipy_or_matplotlib(tmp_path: Path) -> None:
    """Each server start and CLI command makes the app: scipy.stats (about a second of CPU) and
    matplotlib load on the first link report or digest chart, not there."""
    script = (
        "import sys; from server.app import create_app; create_app();"
        " print(*sorted(m for m in ('scipy', 'matplotlib') if m in sys.modules))"
    )
    env = {**os.environ, "SMILETAP_INSTANCE_PATH": str(tmp_path)}
    env.pop("SMILETAP_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.split() == []
