"""Server settings, declared once as data: a typed, frozen `Settings` built at `create_app`.

Each field of `Settings` declares one setting: its type, default and help line
(`shared.settings.setting`). `create_app` layers the defaults, then `SMILETAP_<NAME>`
environment variables, then a test override, reads the layers once into a `Settings` and keeps
it in `app.extensions`; code asks `current()` (in a request) or `of(app)` and reads typed
attributes, never the config dict. The README's settings table is rendered from the same
declarations by `settings_table_markdown`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from flask import Flask, current_app

from shared.settings import (
    Setting,
    SettingsError,
    declarations,
    read_environment,
    setting,
    table_markdown,
)

ENV_PREFIX = "SMILETAP_"
EXTENSION = "smiletap.settings"


@dataclass(frozen=True)
class Settings:
    """Every server setting, typed; one instance per app, built by `create_app`."""

    database_url: str | None = setting(
        None,
        "SQLAlchemy URL (sqlite:///path or postgresql://...); default: smiletap.db in the "
        "instance folder",
    )
    secret_key: str | None = setting(
        None,
        "Signs sessions and CSRF tokens; unset: a random key made once into the instance "
        "folder (file secret_key, mode 0600). Known examples and keys under 32 characters are"
        " refused",
    )
    instance_path: str | None = setting(
        None,
        "Folder for the default SQLite file and instance data",
    )
    skew_threshold_s: float = setting(
        120.0,
        "Device clock skew (s) above which tap times are corrected",
    )
    min_n: int = setting(30, "Default minimum number of answers before a group is ranked")
    enroll_code_ttl_h: int = setting(24, "Hours an enrollment code stays valid")
    enroll_fails_per_address: int = setting(10, "Failed enrollments allowed per address per window")
    enroll_fails_global: int = setting(
        10000,
        "Failed enrollments allowed in total per window: a backstop against many addresses at"
        " once, far above what one guesser can reach (see SECURITY.md)",
    )
    enroll_fail_window_s: int = setting(900, "Window (s) over which failed enrollments are counted")
    max_content_length: int = setting(5 * 1024 * 1024, "Largest accepted request body, in bytes")
    scheduler: bool = setting(
        False,
        "Run scheduled jobs (rollup check) in this process; each runs once across processes",
    )
    rollup_check_interval_s: int = setting(86400, "Seconds between rollup consistency checks")
    rollup_fold_every: int = setting(
        200,
        "Uploads count their taps in the rollups in batches: each process folds after this many"
        " accepted submissions (0: after every upload); readers fold first anyway",
    )
    rollup_inline_from: int = setting(
        32,
        "Uploads of at least this many new submissions count them in the rollups in their own"
        " transaction (for a batch cheaper than a fold's re-read); smaller ones leave it to a fold",
    )
    rollup_fold_interval_s: int = setting(
        5, "Seconds between the scheduler's folds of taps not yet counted in the rollups"
    )
    proxy_fix_x_for: int = setting(
        0,
        "Number of trusted proxies (e.g. 1 behind nginx) whose X-Forwarded-For gives the client",
    )
    trusted_proxy: str = setting(
        "",
        "`smiletap-server run` (waitress): the reverse proxy's address whose X-Forwarded-For "
        "and -Proto are believed (PROXY_FIX_X_FOR hops, at least 1); empty: none",
    )
    log_format: str = setting(
        "text",
        "Log lines as text or json (one object per line); each carries its request's id "
        "(X-Request-Id, returned in the response)",
    )
    metrics: bool = setting(
        False,
        "Serve Prometheus metrics at /metrics (to METRICS_ALLOW only; others get 404)",
    )
    metrics_allow: str = setting(
        "127.0.0.1/32,::1/128",
        "Client addresses or CIDR ranges (comma-separated) allowed to read /metrics",
    )
    contact_write_interval_s: int = setting(
        60,
        "Device API: a config pull or unchanged heartbeat writes the device's last contact "
        "only when the stored one is at least this old (s, at most 60): last contact lags by "
        "less",
    )
    idle_reset_s: int = setting(20, "Kiosk: seconds without a touch before it returns to the start")
    thank_you_s: int = setting(4, "Kiosk: seconds the thank-you screen shows")
    burst_max_taps: int = setting(5, "Kiosk: submissions within the burst window before flagging")
    burst_window_s: int = setting(10, "Kiosk: burst window in seconds")
    tls: bool = setting(False, "Served behind TLS: session cookie Secure and HSTS sent")
    session_lifetime_h: int = setting(12, "Hours a dashboard sign-in lasts")
    login_fails_per_account_address: int = setting(
        5,
        "Failed sign-ins to one account from one address before each further try waits twice "
        "as long (1 s, 2 s, 4 s, …); never per account alone, so the owner gets in",
    )
    login_fails_per_address: int = setting(
        20,
        "Failed sign-ins from one address, to any accounts, before its tries slow down likewise",
    )
    login_fail_window_s: int = setting(3600, "Window (s) over which failed sign-ins are counted")
    login_delay_max_s: int = setting(900, "Longest wait (s) between sign-in tries once slowed down")
    password_login: bool = setting(
        True,
        "Sign in with a local e-mail and password; false: only single sign-on (OIDC_ISSUER "
        "must be set)",
    )
    oidc_issuer: str = setting(
        "",
        "Single sign-on: the OpenID provider's issuer URL (its /.well-known/openid-configuration"
        " is read); empty: no single sign-on",
    )
    oidc_client_id: str = setting("", "Single sign-on: this server's client id at the provider")
    oidc_client_secret: str = setting("", "Single sign-on: the client secret")
    oidc_name: str = setting(
        "your company account",
        'Single sign-on: the button reads "Sign in with <this>" (e.g. Acme)',
    )
    oidc_allowed_domains: str = setting(
        "",
        "Single sign-on: e-mail domains allowed in (comma-separated, e.g. acme.com); empty: any"
        " domain of a user Smiletap knows",
    )
    oidc_create_users: bool = setting(
        False,
        "Single sign-on: a verified e-mail of an allowed domain that Smiletap does not know "
        "becomes a manager with no locations (an admin then gives some); false: refused",
    )
    password_hash_memory_kib: int = setting(
        65536,
        "Argon2id memory (KiB) per new password hash; lower only for tests or a very small machine",
    )
    device_warning_silent_s: int = setting(
        3600, "Seconds silent while its store is open before a device shows warning"
    )
    device_critical_silent_s: int = setting(
        86400, "Seconds silent (at any hour) before a device shows critical"
    )
    alert_check_interval_s: int = setting(
        60,
        "Seconds between alert checks (run once across processes)",
    )
    digest_check_interval_s: int = setting(
        300,
        "Seconds between looks for e-mailed digests that are due (run once across processes)",
    )
    alert_surge_share: float = setting(
        50.0,
        "Alert: % of unhappy answers in the window that is a surge",
    )
    alert_surge_window_s: int = setting(900, "Alert: seconds of answers a surge looks back over")
    alert_surge_min_n: int = setting(4, "Alert: fewest answers in the window before a surge counts")
    alert_drop: bool = setting(
        True,
        "Alert: watch for a week-over-week drop outside the 95 % intervals",
    )
    alert_webhook_url: str = setting(
        "",
        "Alert webhook (JSON POST) for locations without their own",
    )
    alert_webhook_secret: str = setting(
        "",
        "Signs each POST to ALERT_WEBHOOK_URL (header X-Smiletap-Signature, HMAC-SHA256); "
        "empty: no signature header",
    )
    alert_delivery_timeout_s: float = setting(
        10.0,
        "Seconds before an alert mail or webhook gives up",
    )
    webhook_allow: str = setting(
        "",
        "Internal webhook destinations allowed despite the SSRF guard: comma-separated host "
        "names, addresses or CIDR ranges (loopback, private, link-local and metadata addresses "
        "are refused otherwise)",
    )
    public_url: str = setting("", "The dashboard's address, for links in alerts (https://host)")
    smtp_host: str = setting("", "SMTP server for alert mail; empty: no mail is sent")
    smtp_port: int = setting(25, "SMTP port")
    smtp_user: str = setting("", "SMTP user name; empty: no login")
    smtp_password: str = setting("", "SMTP password")
    smtp_from: str = setting("smiletap@localhost", "Sender address of alert mail")
    smtp_tls: bool = setting(False, "Use STARTTLS on the SMTP connection")
    comment_retention_days: int = setting(
        365,
        "Days a typed comment is kept (whole store-local days, up to 2 more); then the purge "
        "job blanks it. 0: kept as long as its answer",
    )
    answer_retention_days: int = setting(
        0,
        "Days raw answers (submissions) are kept; then the purge job deletes them. Scores in "
        "rollups stay; exports, comments and top reasons lose those days. 0: kept forever",
    )
    purge_interval_s: int = setting(
        86400,
        "Seconds between purges of what is past its retention (run once across processes)",
    )
    currency: str = setting(
        "EUR",
        "ISO 4217 code of the chain's one currency: KPI revenue and basket are shown in it",
    )


SETTINGS: tuple[Setting, ...] = declarations(Settings)


def defaults() -> dict[str, Any]:
    """Every setting's default value, by name."""
    return {s.name: s.default for s in SETTINGS}


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings given as `SMILETAP_*` environment variables, typed like their defaults."""
    return read_environment(SETTINGS, ENV_PREFIX, os.environ if environ is None else environ)


def _typed(declared: Setting, value: Any) -> Any:
    """A layered value as its setting's type: text is read like the environment's, numbers
    and flags given by a test override are converted once, here."""
    if value is None or declared.default is None:
        return value
    if isinstance(value, str) and not isinstance(declared.default, str):
        try:
            return declared.read(value)
        except ValueError as exc:
            raise SettingsError(f"{declared.name}={value!r}: {exc}") from exc
    kind = type(declared.default)
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise SettingsError(f"{declared.name}={value!r}: must be a whole number")
    return kind(value)


def from_layers(layered: Mapping[str, Any]) -> Settings:
    """The typed settings from layered values by name (missing names keep their default)."""
    values = {s.name.lower(): _typed(s, layered[s.name]) for s in SETTINGS if s.name in layered}
    return Settings(**values)


def init_app(app: Flask, settings: Settings) -> None:
    """Keep the app's settings, and mirror them into app.config for Flask and extensions."""
    app.extensions[EXTENSION] = settings
    app.config.update({f.name.upper(): getattr(settings, f.name) for f in fields(settings)})


def of(app: Flask) -> Settings:
    """The settings of this app."""
    found: Settings = app.extensions[EXTENSION]
    return found


def current() -> Settings:
    """The settings of the app handling this request or command."""
    return of(current_app)


def override(app: Flask, **changes: Any) -> Settings:
    """Replace some of an app's settings (tests, a CLI option); returns the new settings."""
    changed = replace(of(app), **changes)
    init_app(app, changed)
    return changed


def settings_table_markdown() -> str:
    """The settings as a Markdown table for the README."""
    return table_markdown(SETTINGS, ENV_PREFIX) + "\n"


__all__ = [
    "ENV_PREFIX",
    "SETTINGS",
    "Settings",
    "SettingsError",
    "current",
    "defaults",
    "from_environment",
    "from_layers",
    "init_app",
    "of",
    "override",
    "settings_table_markdown",
]
