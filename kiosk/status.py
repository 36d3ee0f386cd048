"""What the IT status screen says, as plain lines built from the store (no Kivy here).

The words are gettext msgids with named fields; `status_lines` takes the `gettext` of the
language to show them in (English, the msgids themselves, by default). Ids, reason codes and
the status (`enrolled`, `revoked`) stay as the server and the logs spell them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from kiosk.store import LocalStore
from shared.clock import parse_rfc3339

#: Rejected submissions listed one by one; the rest are counted.
MAX_REJECTED_SHOWN = 5


def _english(message: str) -> str:
    return message


#: The states IT reads at a glance, worst last: the screen colours each.
STATES = ("in_sync", "behind", "offline", "revoked")


@dataclass(frozen=True)
class StatusReport:
    """The sync state (one of `STATES`), its word, and the status lines."""

    state: str
    headline: str
    lines: list[str]


def sync_state(summary: dict[str, object]) -> str:
    """revoked; offline when the last sync failed; behind with taps waiting; else in sync."""
    if summary["status"] == "revoked":
        return "revoked"
    if summary["last_error"]:
        return "offline"
    if summary["backlog"]:
        return "behind"
    return "in_sync"


def duration_text(seconds: float, gettext: Callable[[str], str] = _english) -> str:
    """A span in its largest whole unit: `12 s`, `5 min`, `3 h`, `2 d` (never negative)."""
    _ = gettext
    seconds = max(0, round(seconds))
    if seconds < 60:
        return _("{n} s").format(n=seconds)
    if seconds < 3600:
        return _("{n} min").format(n=seconds // 60)
    if seconds < 86400:
        return _("{n} h").format(n=seconds // 3600)
    return _("{n} d").format(n=seconds // 86400)


def _moment(raw: object) -> datetime | None:
    try:
        return parse_rfc3339(str(raw)) if raw else None
    except ValueError:
        return None


def clock_text(moment: datetime, timezone: str | None, now: datetime) -> str:
    """`14:03:12` on the store's clock (the machine's before a location is known), with the
    date in front when it is not today there."""
    zone = ZoneInfo(timezone) if timezone else None
    local, today = moment.astimezone(zone), now.astimezone(zone)
    if local.date() == today.date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def status_report(
    store: LocalStore,
    app_version: str,
    now: datetime,
    write_problem: str | None = None,
    gettext: Callable[[str], str] = _english,
) -> StatusReport:
    """The sync state with its word, and `status_lines`."""
    _ = gettext
    state = sync_state(store.summary())
    words = {
        "in_sync": _("In sync"),
        "behind": _("Behind"),
        "offline": _("Offline"),
        "revoked": _("Revoked"),
    }
    lines = status_lines(store, app_version, now, write_problem, gettext)
    return StatusReport(state, words[state], lines)


def status_lines(
    store: LocalStore,
    app_version: str,
    now: datetime,
    write_problem: str | None = None,
    gettext: Callable[[str], str] = _english,
) -> list[str]:
    """Sync, backlog, device, server, rejected items, config, clock and database health.

    Times read as durations ("12 s ago") with the store's clock time beside them.
    `write_problem` is why the store last refused a write (a full disk), while it still does.
    """
    _ = gettext
    summary = store.summary()
    config = store.get_config()
    timezone = config.location.timezone if config is not None else None

    def ago(raw: object) -> str | None:
        moment = _moment(raw)
        if moment is None:
            return None
        span = duration_text((now - moment).total_seconds(), gettext)
        return _("{duration} ago").format(duration=span) + f" ({clock_text(moment, timezone, now)})"

    lines = []
    if write_problem:
        lines.append(
            _("TAPS PAUSED: the local database refuses writes ({problem})").format(
                problem=write_problem
            )
        )
    result = summary["last_sync_result"]
    outcome = (
        _("uploaded {sent} accepted {accepted} duplicate {duplicate} rejected {rejected}").format(
            sent=result["sent"],
            accepted=result["accepted"],
            duplicate=result["duplicate"],
            rejected=result["rejected"],
        )
        if result
        else "-"
    )
    lines.append(
        _("Last sync: {at}  {outcome}").format(
            at=ago(summary["last_sync_at"]) or _("never"), outcome=outcome
        )
    )
    if summary["last_error"]:
        lines.append(_("Last error: {error}").format(error=summary["last_error"]))
    pending_since = _moment(summary["oldest_pending_at"])
    oldest = (
        duration_text((now - pending_since).total_seconds(), gettext)
        + f" ({clock_text(pending_since, timezone, now)})"
        if pending_since
        else "-"
    )
    lines.append(
        _("Backlog: {backlog}  oldest pending: {oldest}  delivered (kept): {delivered}").format(
            backlog=summary["backlog"],
            oldest=oldest,
            delivered=summary["delivered_count"],
        )
    )
    if config is not None:
        device, location = config.device, config.location
        lines.append(_("Device: {name} ({id})").format(name=device.name, id=device.id))
        lines.append(
            _("Location: {name} ({id}, {timezone})").format(
                name=location.name, id=location.id, timezone=location.timezone
            )
        )
    else:
        lines.append(_("Device: {id}").format(id=summary["device_id"] or _("not enrolled")))
    lines.append(
        _("Server: {url}  status: {status}").format(
            url=summary["server_url"] or "-", status=summary["status"]
        )
    )
    rejected = store.rejected()
    lines.append(_("Rejected: {count}").format(count=len(rejected)))
    for item in rejected[:MAX_REJECTED_SHOWN]:
        field = f" ({item.field})" if item.field else ""
        lines.append(f"  {item.submission.id}: {item.reason}{field}")
    if len(rejected) > MAX_REJECTED_SHOWN:
        more = _("… and {count} more").format(count=len(rejected) - MAX_REJECTED_SHOWN)
        lines.append(f"  {more}")
    survey = summary["survey"]
    survey_text = (
        _("survey {id} v{version}").format(id=survey["id"], version=survey["version"])
        if survey
        else _("no survey")
    )
    lines.append(
        _("Config: {etag}  {survey}").format(etag=summary["config_etag"] or "-", survey=survey_text)
    )
    skew = store.get_state("clock_skew_s")
    skew_text = (
        _("{skew} s at {at}").format(
            skew=f"{float(skew):+.1f}", at=ago(store.get_state("clock_skew_at")) or "-"
        )
        if skew
        else _("unknown")
    )
    lines.append(
        _("App version: {version}  device clock: {clock}").format(
            version=app_version, clock=clock_text(now, timezone, now)
        )
    )
    lines.append(_("Clock skew (server - device): {skew}").format(skew=skew_text))
    recovered = store.get_state("store_recovered")
    if recovered:
        event = json.loads(recovered)
        lines.append(
            _("Database: corrupt at start {at}; moved to {path}, a new one was started").format(
                at=event["at"], path=event["moved_to"]
            )
        )
    return lines
