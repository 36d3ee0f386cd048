"""Every exception class of ours is named `...Error` (STYLE: names say what they hold).

Read from the source (ast): a class is an exception when one of its bases is a built-in
exception, a name ending in `Error`/`Exception`, or another exception class of ours.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("shared", "server", "kiosk", "deploy", "bench")


def _base_name(base: ast.expr) -> str:
    if isinstance(base, ast.Attribute):
        return base.attr
    return base.id if isinstance(base, ast.Name) else ""


def _is_builtin_exception(name: str) -> bool:
    found = getattr(builtins, name, None)
    return isinstance(found, type) and issubclass(found, BaseException)


def exception_classes() -> dict[str, str]:
    """Our exception classes: name → where it is defined."""
    classes: dict[str, tuple[list[str], str]] = {}
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ClassDef):
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    classes[node.name] = ([_base_name(b) for b in node.bases], where)
    found: dict[str, str] = {}
    grew = True
    while grew:
        grew = False
        for name, (bases, where) in classes.items():
            if name in found:
                continue
            if any(
                _is_builtin_exception(b) or b.endswith(("Error", "Exception")) or b in found
                for b in bases
            ):
                found[name] = where
                grew = True
    return found


def test_the_walk_finds_exceptions() -> None:
    # Through a built-in base, a third-party base and one of ours.
    found = exception_classes()
    assert {"ApiError", "SettingsError", "UnauthorizedError", "HarnessError"} <= set(found)


def test_every_exception_class_is_named_error() -> None:
    misnamed = {
        name: where for name, where in exception_classes().items() if not name.endswith("Error")
    }
    assert not misnamed, misnamed
