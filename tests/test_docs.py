"""The README documents every setting and every command the code declares."""

from __future__ import annotations

import argparse
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
