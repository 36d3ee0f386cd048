"""Kiosk settings, declared once as data and read from `SMILETAP_KIOSK_<NAME>` variables.

Each field of `Settings` declares one setting with `shared.settings.setting`, as the server's
do; `SETTINGS` is derived from those fields and drives both the parsing here and the README's
settings table (`settings_table_markdown`), so a setting cannot exist without being documented.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from shared import settings as shared_settings
from shared.settings import SettingsError, declarations, read_flag, setting

ENV_PREFIX = "SMILETAP_KIOSK_"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_DATA_HOME/smiletap-kiosk`, else `~/.local/share/smiletap-kiosk`."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "smiletap-kiosk"


@dataclass(frozen=True)
class Setting(shared_settings.Setting):
    """One kiosk setting (`shared.settings.Setting`), read from `SMILETAP_KIOSK_<NAME>`."""

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError("must be positive")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be positive")
    return value


def _pin(text: str) -> str:
    if not (6 <= len(text) <= 8 and text.isascii() and text.isdigit()):
        raise ValueError("must be 6 to 8 digits")
    return text


@dataclass(frozen=True)
class Settings:
    """The kiosk's settings, passed explicitly to the pieces that need them.

    Each field declares one setting (`shared.settings.setting`: default, help, how to read the
    environment); `SETTINGS` and the README's table come from these declarations.
    """

    data_dir: Path = setting(
        help="Where the kiosk keeps its database (default `$XDG_DATA_HOME/smiletap-kiosk`, "
        "else `~/.local/share/smiletap-kiosk`).",
        parse=Path,
    )
    sync_interval_s: float = setting(
        30.0, "Seconds between uploads and config pulls.", _positive_float
    )
    heartbeat_interval_s: float = setting(60.0, "Seconds between heartbeats.", _positive_float)
    batch_size: int = setting(
        500, "Most submissions sent in one upload (at most 500).", _positive_int
    )
    http_timeout_s: float = setting(
        10.0, "Seconds before an HTTP request gives up.", _positive_float
    )
    it_pin: str | None = setting(
        None,
        "The IT PIN (6-8 digits) behind the long press in the top-left corner, used until "
        "`smiletap-kiosk enroll --pin-stdin` stores a hashed one. With neither, the PIN pad opens "
        "nothing.",
        _pin,
    )
    allow_http: bool = setting(
        False,
        "Allow enrolling with a plain `http://` server address that is not this machine "
        "(the device token then travels unencrypted). Off: a bare `host` means `https://host`, "
        "and `http://` is accepted for `localhost`/`127.0.0.1`/`::1` only. Same as "
        "`smiletap-kiosk enroll --allow-http`.",
        read_flag,
    )
    long_press_s: float = setting(
        3.0,
        "Seconds IT holds the top-left corner to open the PIN pad (a customer's tap never "
        "lasts this long).",
        _positive_float,
    )
    it_idle_s: float = setting(
        120.0,
        "Seconds the PIN pad, status screen or a re-enroll stay open untouched before the "
        "kiosk goes back to the customer.",
        _positive_float,
    )
    pin_max_failures: int = setting(
        5, "Wrong IT PINs in a row that lock the PIN pad.", _positive_int
    )
    pin_lockout_s: float = setting(
        60.0,
        "Seconds the PIN pad refuses every PIN after `PIN_MAX_FAILURES` wrong ones.",
        _positive_float,
    )
    retention_days: int = setting(
        30,
        "Days a delivered tap stays in the local database before it is pruned; also the "
        "longest an undelivered tap keeps its comment (it is still sent, without it).",
        _positive_int,
    )
    comment_retention_days: int = setting(
        7,
        "Days after its tap that a delivered (or rejected) tap's comment is removed from the "
        "local database; the server keeps its own copy, masked.",
        _positive_int,
    )

    @property
    def database_path(self) -> Path:
        return self.data_dir / "kiosk.db"

    def with_data_dir(self, data_dir: Path | str) -> Settings:
        """A copy with another data directory (the CLI's `--data-dir`)."""
        return replace(self, data_dir=Path(data_dir))


SETTINGS: tuple[Setting, ...] = declarations(Settings, Setting)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment, each falling back to its declared default."""
    environ = os.environ if environ is None else environ
    # An empty variable means unset, as in a systemd EnvironmentFile with `NAME=`.
    given = {name: value for name, value in environ.items() if value != ""}
    values = {
        name.lower(): value
        for name, value in shared_settings.read_environment(SETTINGS, ENV_PREFIX, given).items()
    }
    values.setdefault("data_dir", default_data_dir(environ))
    values["batch_size"] = min(values.get("batch_size", 500), 500)
    return Settings(**values)


def settings_table_markdown() -> str:
    """The README's table of kiosk settings."""
    return shared_settings.table_markdown(SETTINGS, ENV_PREFIX, unset="see meaning")


__all__ = [
    "SETTINGS",
    "Setting",
    "Settings",
    "SettingsError",
    "default_data_dir",
    "load_settings",
    "settings_table_markdown",
]
