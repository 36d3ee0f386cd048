"""Server settings, declared once as data.

Each setting has a name, a default and a help line. `create_app` reads the defaults from here,
then `SMILETAP_<NAME>` environment variables, then a test override; the README's settings
table is rendered from the same list by `settings_table_markdown`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "SMILETAP_"


@dataclass(frozen=True)
class Setting:
    """One configuration value: its name, default and what it does."""

    name: str
    default: Any
    help: str


SETTINGS: list[Setting] = [
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL (sqlite:///path or postgresql://...); default: smiletap.db in the "
        "instance folder",
    ),
    Setting(
        "SECRET_KEY",
        None,
        "Signs sessions and CSRF tokens; unset: a random key made once into the instance "
        "folder (file secret_key, mode 0600). Known examples and keys under 32 characters "
        "are refused",
    ),
    Setting("INSTANCE_PATH", None, "Folder for the default SQLite file and instance data"),
    Setting("SKEW_THRESHOLD_S", 120.0, "Device clock skew (s) above which tap times are corrected"),
    Setting("MIN_N", 30, "Default minimum number of answers before a group is ranked"),
    Setting("ENROLL_CODE_TTL_H", 24, "Hours an enrollment code stays valid"),
    Setting("ENROLL_FAILS_PER_ADDRESS", 10, "Failed enrollments allowed per address per window"),
    Setting(
        "ENROLL_FAILS_GLOBAL",
        10000,
        "Failed enrollments allowed in total per window: a backstop against many addresses "
        "at once, far above what one guesser can reach (see SECURITY.md)",
    ),
    Setting("ENROLL_FAIL_WINDOW_S", 900, "Window (s) over which failed enrollments are counted"),
    Setting("MAX_CONTENT_LENGTH", 5 * 1024 * 1024, "Largest accepted request body, in bytes"),
    Setting(
        "SCHEDULER",
        False,
        "Run scheduled jobs (rollup check) in this process; each runs once across processes",
    ),
    Setting("ROLLUP_CHECK_INTERVAL_S", 86400, "Seconds between rollup consistency checks"),
    Setting(
        "PROXY_FIX_X_FOR",
        0,
        "Number of trusted proxies (e.g. 1 behind nginx) whose X-Forwarded-For gives the client",
    ),
    Setting(
        "TRUSTED_PROXY",
        "",
        "`smiletap-server run` (waitress): the reverse proxy's address whose X-Forwarded-For "
        "and -Proto are believed (PROXY_FIX_X_FOR hops, at least 1); empty: none",
    ),
    Setting(
        "CONTACT_WRITE_INTERVAL_S",
        60,
        "Device API: a config pull or unchanged heartbeat writes the device's last contact only "
        "when the stored one is at least this old (s, at most 60): last contact lags by less",
    ),
    Setting("IDLE_RESET_S", 20, "Kiosk: seconds without a touch before it returns to the start"),
    Setting("THANK_YOU_S", 4, "Kiosk: seconds the thank-you screen shows"),
    Setting("BURST_MAX_TAPS", 5, "Kiosk: submissions within the burst window before flagging"),
    Setting("BURST_WINDOW_S", 10, "Kiosk: burst window in seconds"),
    Setting("TLS", False, "Served behind TLS: session cookie Secure and HSTS sent"),
    Setting("SESSION_LIFETIME_H", 12, "Hours a dashboard sign-in lasts"),
    Setting(
        "LOGIN_FAILS_PER_ACCOUNT_ADDRESS",
        5,
        "Failed sign-ins to one account from one address before each further try waits "
        "twice as long (1 s, 2 s, 4 s, …); never per account alone, so the owner gets in",
    ),
    Setting(
        "LOGIN_FAILS_PER_ADDRESS",
        20,
        "Failed sign-ins from one address, to any accounts, before its tries slow down likewise",
    ),
    Setting("LOGIN_FAIL_WINDOW_S", 3600, "Window (s) over which failed sign-ins are counted"),
    Setting("LOGIN_DELAY_MAX_S", 900, "Longest wait (s) between sign-in tries once slowed down"),
    Setting(
        "PASSWORD_HASH_MEMORY_KIB",
        65536,
        "Argon2id memory (KiB) per new password hash; lower only for tests or a very small machine",
    ),
    Setting("DEVICE_WARNING_SILENT_S", 3600, "Seconds silent before a device shows warning"),
    Setting("DEVICE_CRITICAL_SILENT_S", 86400, "Seconds silent before a device shows critical"),
    Setting(
        "ALERT_CHECK_INTERVAL_S", 60, "Seconds between alert checks (run once across processes)"
    ),
    Setting("ALERT_SURGE_SHARE", 50.0, "Alert: % of unhappy answers in the window that is a surge"),
    Setting("ALERT_SURGE_WINDOW_S", 900, "Alert: seconds of answers a surge looks back over"),
    Setting("ALERT_SURGE_MIN_N", 4, "Alert: fewest answers in the window before a surge counts"),
    Setting(
        "ALERT_DROP", True, "Alert: watch for a week-over-week drop outside the 95 % intervals"
    ),
    Setting("ALERT_WEBHOOK_URL", "", "Alert webhook (JSON POST) for locations without their own"),
    Setting("ALERT_DELIVERY_TIMEOUT_S", 10.0, "Seconds before an alert mail or webhook gives up"),
    Setting("PUBLIC_URL", "", "The dashboard's address, for links in alerts (https://host)"),
    Setting("SMTP_HOST", "", "SMTP server for alert mail; empty: no mail is sent"),
    Setting("SMTP_PORT", 25, "SMTP port"),
    Setting("SMTP_USER", "", "SMTP user name; empty: no login"),
    Setting("SMTP_PASSWORD", "", "SMTP password"),
    Setting("SMTP_FROM", "smiletap@localhost", "Sender address of alert mail"),
    Setting("SMTP_TLS", False, "Use STARTTLS on the SMTP connection"),
]


class SettingError(ValueError):
    """An environment variable holds a value of the wrong type."""


def _coerce(setting: Setting, raw: str) -> Any:
    # The default's type decides how the environment string is read.
    default = setting.default
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError as exc:
        raise SettingError(f"{ENV_PREFIX}{setting.name}: not a number: {raw!r}") from exc
    return raw


def defaults() -> dict[str, Any]:
    """Every setting's default value, by name."""
    return {s.name: s.default for s in SETTINGS}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The settings given as `SMILETAP_*` environment variables, typed like their defaults."""
    env = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = env.get(ENV_PREFIX + setting.name)
        if raw is not None:
            found[setting.name] = _coerce(setting, raw)
    return found


def settings_table_markdown() -> str:
    """The settings as a Markdown table for the README."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for s in SETTINGS:
        default = "" if s.default in (None, "") else f"`{s.default}`"
        lines.append(f"| `{ENV_PREFIX}{s.name}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"
