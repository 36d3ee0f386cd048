"""The settings declaration kiosk and server share: reading the environment, the table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk import settings as kiosk_settings
from server import settings as server_settings
from shared.settings import (
    Setting,
    SettingsError,
    declarations,
    read_environment,
    setting,
    table_markdown,
)

DECLARED = (
    Setting("COUNT", 3, "How many"),
    Setting("SHARE", 0.5, "Which share"),
    Setting("ON", False, "Whether"),
    Setting("NAME", "", "Called"),
    Setting("PATH", None, "Where", Path),
)


def test_the_environment_is_read_like_the_defaults() -> None:
    env = {"X_COUNT": "7", "X_SHARE": "0.25", "X_ON": "Yes", "X_NAME": "n", "X_PATH": "/a", "Y": ""}
    assert read_environment(DECLARED, "X_", env) == {
        "COUNT": 7,
        "SHARE": 0.25,
        "ON": True,
        "NAME": "n",
        "PATH": Path("/a"),
    }
    assert read_environment(DECLARED, "X_", {"X_ON": "off"}) == {"ON": False}


@pytest.mark.parametrize(("name", "raw"), [("COUNT", "lots"), ("SHARE", "half"), ("ON", "maybe")])
def test_a_value_that_cannot_be_read_names_the_variable(name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=f"X_{name}='{raw}'"):
        read_environment(DECLARED, "X_", {f"X_{name}": raw})


def test_table() -> None:
    table = table_markdown(DECLARED, "X_", unset="see meaning").splitlines()
    assert table[2] == "| `X_COUNT` | `3` | How many |"
    assert table[5] == "| `X_NAME` |  | Called |"
    assert table[6] == "| `X_PATH` | see meaning | Where |"


def test_a_typed_class_declares_its_settings_once() -> None:
    @dataclass(frozen=True)
    class Example:
        min_n: int = setting(30, "Fewest answers")
        url: str | None = setting(None, "Where", str)

    assert declarations(Example) == (
        Setting("MIN_N", 30, "Fewest answers"),
        Setting("URL", None, "Where", str),
    )
    assert Example().min_n == 30


def test_a_field_without_default_is_declared_with_none_and_must_be_given() -> None:
    @dataclass(frozen=True)
    class Example:
        folder: Path = setting(help="Where", parse=Path)
        count: int = setting(3, "How many")

    assert declarations(Example) == (
        Setting("FOLDER", None, "Where", Path),
        Setting("COUNT", 3, "How many"),
    )
    with pytest.raises(TypeError):
        Example()  # type: ignore[call-arg]
    assert Example(Path("/a")).count == 3


def test_kiosk_and_server_declare_with_the_shared_setting() -> None:
    assert all(isinstance(s, Setting) for s in kiosk_settings.SETTINGS)
    assert all(isinstance(s, Setting) for s in server_settings.SETTINGS)
    assert kiosk_settings.SettingsError is server_settings.SettingsError is SettingsError
    # The kiosk's declarations are its `Settings` fields, made as its prefixed `Setting`.
    kiosk_fields = declarations(kiosk_settings.Settings)
    assert [(s.name, s.default, s.help) for s in kiosk_settings.SETTINGS] == [
        (s.name, s.default, s.help) for s in kiosk_fields
    ]
    assert kiosk_settings.SETTINGS[0].env_var == "SMILETAP_KIOSK_DATA_DIR"
