"""Settings as data, layered config."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import pytest

from server import settings
from server.app import create_app
from server.db import database_url
from server.settings import (
    SETTINGS,
    Settings,
    SettingsError,
    from_environment,
    settings_table_markdown,
)

SERVER = Path(__file__).resolve().parents[2] / "server"


def test_every_setting_in_the_table() -> None:
    table = settings_table_markdown()
    for setting in SETTINGS:
        assert f"`SMILETAP_{setting.name}`" in table
        assert setting.help in table


def test_environment_is_typed() -> None:
    env = {"SMILETAP_MIN_N": "12", "SMILETAP_SKEW_THRESHOLD_S": "2.5", "OTHER": "x"}
    assert from_environment(env) == {"MIN_N": 12, "SKEW_THRESHOLD_S": 2.5}
    with pytest.raises(SettingsError, match="SMILETAP_MIN_N"):
        from_environment({"SMILETAP_MIN_N": "lots"})


def test_layers(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SMILETAP_MIN_N", "7")
    monkeypatch.setenv("SMILETAP_THANK_YOU_S", "9")
    monkeypatch.setenv("SMILETAP_INSTANCE_PATH", str(tmp_path))
    app = create_app({"THANK_YOU_S": 3})
    assert app.config["MIN_N"] == 7  # environment over default
    assert app.config["THANK_YOU_S"] == 3  # test override over environment
    assert app.config["IDLE_RESET_S"] == 20  # default
    assert app.instance_path == str(tmp_path)
    assert database_url(app) == f"sqlite:///{tmp_path / 'smiletap.db'}"


def test_postgres_url_uses_psycopg(tmp_path) -> None:
    app = create_app({"DATABASE_URL": "postgresql://u@h/db", "INSTANCE_PATH": str(tmp_path)})
    assert database_url(app) == "postgresql+psycopg://u@h/db"


def test_one_typed_frozen_settings_object(tmp_path) -> None:
    app = create_app({"MIN_N": "12", "ALERT_SURGE_SHARE": 40, "INSTANCE_PATH": str(tmp_path)})
    typed = settings.of(app)
    assert typed.min_n == 12 and isinstance(typed.alert_surge_share, float)
    assert {s.name.lower() for s in SETTINGS} == {f.name for f in fields(Settings)}
    with pytest.raises(FrozenInstanceError):
        typed.min_n = 1  # type: ignore[misc]
    with app.test_request_context():
        assert settings.current() is typed
    changed = settings.override(app, min_n=5)
    assert settings.of(app) is changed and changed.min_n == 5 and typed.min_n == 12
    assert app.config["MIN_N"] == 5  # the templates read the mirror in app.config


def test_a_test_override_that_cannot_be_read_names_the_setting(tmp_path) -> None:
    with pytest.raises(SettingsError, match="MIN_N='many'"):
        create_app({"MIN_N": "many", "INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(SettingsError, match=r"MIN_N=2\.5"):
        create_app({"MIN_N": 2.5, "INSTANCE_PATH": str(tmp_path)})


def test_no_module_reads_a_setting_from_the_config_dict() -> None:
    """Settings are read from the typed object (`settings.current()`), never re-cast from
    `app.config[...]` at the use site."""
    names = {s.name for s in SETTINGS}
    pattern = re.compile(r"""(?:\[|\.get\()\s*["']([A-Z][A-Z0-9_]+)["']""")
    found = [
        f"{path.relative_to(SERVER.parent)}: {name}"
        for path in sorted(SERVER.rglob("*.py"))
        if path.name != "settings.py"
        for name in pattern.findall(path.read_text(encoding="utf-8"))
        if name in names
    ]
    assert found == []
