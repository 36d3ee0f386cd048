"""What the IT status screen says, as plain lines built from the store (no Kivy here).

The words are gettext msgids with named fields; `status_lines` takes the `gettext` of the
language to show them in (English, the msgids themselves, by default). Ids, reason codes and
the status (`enrolled`, `revoked`) stay as the server and the logs spell them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from kiosk.store import LocalStore

#: Rejected submissions listed one by one; the rest are counted.
MAX_REJECTED_SHOWN = 5


def _english(message: str) -> str:
    return message


def status_lines(
    store: LocalStore,
    app_version: str,
    now: datetime,
    write_problem: str | None = None,
    gettext: Callable[[str], str] = _english,
) -> list[str]:
    """Device, server, sync, backlog, rejected items, config, clock and database health.

    `write_problem` is why the store last refused a write (a full disk), while it still does.
    """
    _ = gettext
    summary = store.summary()
    config = store.get_config()
    lines = []
    if write_problem:
        lines.append(
            _("TAPS PAUSED: the local database refuses writes ({problem})").format(
                problem=write_problem
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
            at=summary["last_sync_at"] or _("never"), outcome=outcome
        )
    )
    if summary["last_error"]:
        lines.append(_("Last error: {error}").format(error=summary["last_error"]))
    lines.append(
        _("Backlog: {backlog}  oldest pending: {oldest}  delivered (kept): {delivered}").format(
            backlog=summary["backlog"],
            oldest=summary["oldest_pending_at"] or "-",
            delivered=summary["delivered_count"],
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
            skew=f"{float(skew):+.1f}", at=store.get_state("clock_skew_at")
        )
        if skew
        else _("unknown")
    )
    lines.append(
        _("App version: {version}  device clock: {clock}").format(
            version=app_version, clock=now.isoformat(timespec="seconds")
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
