"""The README documents every setting and every command the code declares."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pytest

from kiosk import settings as kiosk_settings
from kiosk.cli import build_parser
from server import settings as server_settings
from server.cli import main as server_cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", server_settings.SETTINGS, ids=lambda s: s.name)
def test_server_setting_in_readme(setting: server_settings.Setting) -> None:
    assert f"`SMILETAP_{setting.name}`" in README


@pytest.mark.parametrize("setting", kiosk_settings.SETTINGS, ids=lambda s: s.name)
def test_kiosk_setting_in_readme(setting: kiosk_settings.Setting) -> None:
    assert f"`SMILETAP_KIOSK_{setting.name}`" in README


@pytest.mark.parametrize("command", sorted(server_cli.commands))
def test_server_command_in_readme(command: str) -> None:
    assert f"smiletap-server {command}" in README


def _kiosk_commands() -> list[str]:
    actions = build_parser()._subparsers._group_actions  # type: ignore[union-attr]
    return sorted(
        name
        for action in actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    )


@pytest.mark.parametrize("command", _kiosk_commands())
def test_kiosk_command_in_readme(command: str) -> None:
    assert f"smiletap-kiosk {command}" in README


def test_readme_settings_section_is_generated() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "dev"))
    from readme_settings import settings_section

    assert settings_section() in README, "run deploy/dev/readme_settings.py"


def _architecture_words() -> set[str]:
    """Every word in backticks in the README's architecture section (code blocks left out)."""
    section = README.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    prose = re.sub(r"```.*?```", "", section, flags=re.S)
    return {
        word.strip("()")
        for quoted in re.findall(r"`([^`\n]+)`", prose)
        for word in re.split(r"[,\s]+", quoted)
    }


def _modules() -> list[str]:
    root = Path(__file__).resolve().parents[1]
    return sorted(
        path.relative_to(root).as_posix()
        for package in ("shared", "kiosk", "server")
        for path in (root / package).rglob("*.py")
        if path.name != "__init__.py" and "migrations/versions" not in path.as_posix()
    )


@pytest.mark.parametrize("module", _modules())
def test_module_named_in_readme_architecture(module: str) -> None:
    """A newcomer finds the module that owns a behaviour from the README: each is named there
    (as `name.py`, `dir/name.py` or, in a package's list, `name`)."""
    stem = Path(module).stem
    assert any(
        word in (stem, f"{stem}.py", f"{stem}/") or word.endswith((f"/{stem}.py", f"/{stem}"))
        for word in _architecture_words()
    ), f"{module} is not named in the README's architecture section"
