"""What the IT status screen says, as plain lines built from the store (no Kivy here)."""

from __future__ import annotations

import json
from datetime import datetime

from kiosk.store import LocalStore

#: Rejected submissions listed one by one; the rest are counted.
MAX_REJECTED_SHOWN = 5


def status_lines(
    store: LocalStore, app_version: str, now: datetime, write_problem: str | None = None
) -> list[str]:
    """Device, server, sync, backlog, rejected items, config, clock and database health.

    `write_problem` is why the store last refused a write (a full disk), while it still does.
    """
    summary = store.summary()
    config = store.get_config()
    lines = []
    if write_problem:
        lines.append(f"TAPS PAUSED: the local database refuses writes ({write_problem})")
    if config is not None:
        lines.append(f"Device: {config.device.name} ({config.device.id})")
        location = config.location
        lines.append(f"Location: {location.name} ({location.id}, {location.timezone})")
    else:
        lines.append(f"Device: {summary['device_id'] or 'not enrolled'}")
    lines.append(f"Server: {summary['server_url'] or '-'}  status: {summary['status']}")
    result = summary["last_sync_result"]
    outcome = (
        f"uploaded {result['sent']} accepted {result['accepted']} "
        f"duplicate {result['duplicate']} rejected {result['rejected']}"
        if result
        else "-"
    )
    lines.append(f"Last sync: {summary['last_sync_at'] or 'never'}  {outcome}")
    if summary["last_error"]:
        lines.append(f"Last error: {summary['last_error']}")
    lines.append(
        f"Backlog: {summary['backlog']}  oldest pending: {summary['oldest_pending_at'] or '-'}"
        f"  delivered (kept): {summary['delivered_count']}"
    )
    rejected = store.rejected()
    lines.append(f"Rejected: {len(rejected)}")
    for item in rejected[:MAX_REJECTED_SHOWN]:
        field = f" ({item.field})" if item.field else ""
        lines.append(f"  {item.submission.id}: {item.reason}{field}")
    if len(rejected) > MAX_REJECTED_SHOWN:
        lines.append(f"  … and {len(rejected) - MAX_REJECTED_SHOWN} more")
    survey = summary["survey"]
    survey_text = f"survey {survey['id']} v{survey['version']}" if survey else "no survey"
    lines.append(f"Config: {summary['config_etag'] or '-'}  {survey_text}")
    skew = store.get_state("clock_skew_s")
    skew_text = f"{float(skew):+.1f} s at {store.get_state('clock_skew_at')}" if skew else "unknown"
    lines.append(f"App version: {app_version}  device clock: {now.isoformat(timespec='seconds')}")
    lines.append(f"Clock skew (server - device): {skew_text}")
    recovered = store.get_state("store_recovered")
    if recovered:
        event = json.loads(recovered)
        lines.append(
            f"Database: corrupt at start {event['at']}; moved to {event['moved_to']}, "
            "a new one was started"
        )
    return lines
