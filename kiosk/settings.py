"""Kiosk settings, declared once as data and read from `SMILETAP_KIOSK_<NAME>` variables.

The declaration (`SETTINGS`, `shared.settings.Setting` like the server's) drives both the
parsing here and the README's settings table (`settings_table_markdown`), so a setting cannot
exist without being documented.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shared import settings as shared_settings
from shared.settings import SettingsError

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


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be 1/true/yes/on or 0/false/no/off")


def _pin(text: str) -> str:
    if not (6 <= len(text) <= 8 and text.isascii() and text.isdigit()):
        raise ValueError("must be 6 to 8 digits")
    return text


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATA_DIR",
        None,
        "Where the kiosk keeps its database (default `$XDG_DATA_HOME/smiletap-kiosk`, "
        "else `~/.local/share/smiletap-kiosk`).",
        Path,
    ),
    Setting("SYNC_INTERVAL_S", 30.0, "Seconds between uploads and config pulls.", _positive_float),
    Setting("HEARTBEAT_INTERVAL_S", 60.0, "Seconds between heartbeats.", _positive_float),
    Setting("BATCH_SIZE", 500, "Most submissions sent in one upload (at most 500).", _positive_int),
    Setting("HTTP_TIMEOUT_S", 10.0, "Seconds before an HTTP request gives up.", _positive_float),
    Setting(
        "IT_PIN",
        None,
        "The IT PIN (6-8 digits) behind the long press in the top-left corner, used until "
        "`smiletap-kiosk enroll --pin-stdin` stores a hashed one. With neither, the PIN pad opens "
        "nothing.",
        _pin,
    ),
    Setting(
        "ALLOW_HTTP",
        False,
        "Allow enrolling with a plain `http://` server address that is not this machine "
        "(the device token then travels unencrypted). Off: a bare `host` means `https://host`, "
        "and `http://` is accepted for `localhost`/`127.0.0.1`/`::1` only. Same as "
        "`smiletap-kiosk enroll --allow-http`.",
        _flag,
    ),
    Setting(
        "LONG_PRESS_S",
        3.0,
        "Seconds IT holds the top-left corner to open the PIN pad (a customer's tap never "
        "lasts this long).",
        _positive_float,
    ),
    Setting(
        "IT_IDLE_S",
        120.0,
        "Seconds the PIN pad, status screen or a re-enroll stay open untouched before the "
        "kiosk goes back to the customer.",
        _positive_float,
    ),
    Setting(
        "PIN_MAX_FAILURES",
        5,
        "Wrong IT PINs in a row that lock the PIN pad.",
        _positive_int,
    ),
    Setting(
        "PIN_LOCKOUT_S",
        60.0,
        "Seconds the PIN pad refuses every PIN after `PIN_MAX_FAILURES` wrong ones.",
        _positive_float,
    ),
    Setting(
        "RETENTION_DAYS",
        30,
        "Days a delivered tap stays in the local database before it is pruned.",
        _positive_int,
    ),
)


@dataclass(frozen=True)
class Settings:
    """The kiosk's settings, passed explicitly to the pieces that need them."""

    data_dir: Path
    sync_interval_s: float = 30.0
    heartbeat_interval_s: float = 60.0
    batch_size: int = 500
    http_timeout_s: float = 10.0
    it_pin: str | None = None
    allow_http: bool = False
    long_press_s: float = 3.0
    it_idle_s: float = 120.0
    pin_max_failures: int = 5
    pin_lockout_s: float = 60.0
    retention_days: int = 30

    @property
    def database_path(self) -> Path:
        return self.data_dir / "kiosk.db"

    def with_data_dir(self, data_dir: Path | str) -> Settings:
        """A copy with another data directory (the CLI's `--data-dir`)."""
        return replace(self, data_dir=Path(data_dir))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment, each falling back to its declared default."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env_var)
        if raw is None or raw == "":
            values[setting.name.lower()] = setting.default
            continue
        try:
            values[setting.name.lower()] = setting.read(raw)
        except ValueError as exc:
            raise SettingsError(f"{setting.env_var}={raw!r}: {exc}") from exc
    if values["data_dir"] is None:
        values["data_dir"] = default_data_dir(environ)
    values["batch_size"] = min(values["batch_size"], 500)
    return Settings(**values)


def settings_table_markdown() -> str:
    """The README's table of kiosk settings."""
    return shared_settings.table_markdown(SETTINGS, ENV_PREFIX, unset="see meaning")
