"""Alert destinations, the locations each is for, and their delivery log.

A destination is for every location (`all_locations`) or for the locations listed for it.
The log has one row per try; a failed try that will be tried again holds `retry_at` until the
next try is claimed (`claim_due`), so the log is the retry queue too.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from server.store.schema import (
    alert_deliveries,
    alert_destination_locations,
    alert_destinations,
    alerts,
    locations,
)
from shared.clock import utcnow
from shared.ids import new_entity_id

KINDS = ("webhook", "slack", "teams")
#: A generic webhook's signing secret: 32 random bytes, hex, behind a prefix people recognise.
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret (shown once to the admin who made the destination)."""
    return SECRET_PREFIX + secrets.token_hex(32)


def create(
    conn: Connection,
    name: str,
    kind: str,
    url: str,
    location_ids: list[str] | None,
    created_by: str,
    enabled: bool = True,
) -> tuple[str, str | None]:
    """Add a destination for these locations (None: all); return (id, signing secret or None).

    Only a generic webhook gets a secret: Slack and Teams URLs are secrets themselves."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    destination_id = new_entity_id("dst")
    secret = new_secret() if kind == "webhook" else None
    conn.execute(
        alert_destinations.insert().values(
            id=destination_id,
            name=name,
            kind=kind,
            url=url,
            secret=secret,
            all_locations=location_ids is None,
            enabled=enabled,
            created_at=utcnow(),
            created_by=created_by,
        )
    )
    for location_id in sorted(set(location_ids or [])):
        conn.execute(
            alert_destination_locations.insert().values(
                destination_id=destination_id, location_id=location_id
            )
        )
    return destination_id, secret


def _location_ids(conn: Connection, destination_ids: list[str]) -> dict[str, list[str]]:
    rows = conn.execute(
        select(alert_destination_locations)
        .where(alert_destination_locations.c.destination_id.in_(destination_ids))
        .order_by(alert_destination_locations.c.location_id)
    )
    found: dict[str, list[str]] = {d: [] for d in destination_ids}
    for row in rows.mappings():
        found[row["destination_id"]].append(row["location_id"])
    return found


def _last_tries(conn: Connection, destination_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each destination's latest log row."""
    latest = (
        select(alert_deliveries.c.destination_id, alert_deliveries.c.id)
        .where(alert_deliveries.c.destination_id.in_(destination_ids))
        .order_by(alert_deliveries.c.destination_id, alert_deliveries.c.id.desc())
    )
    newest: dict[str, int] = {}
    for destination_id, row_id in conn.execute(latest):
        newest.setdefault(destination_id, row_id)
    rows = conn.execute(select(alert_deliveries).where(alert_deliveries.c.id.in_(newest.values())))
    return {r["destination_id"]: dict(r) for r in rows.mappings()}


def all_destinations(conn: Connection) -> list[dict[str, Any]]:
    """Every destination by name, with `location_ids` and `last` (its latest try, or None);
    never the secret."""
    columns = [c for c in alert_destinations.c if c.name != "secret"]
    rows = [
        dict(r)
        for r in conn.execute(
            select(*columns).order_by(alert_destinations.c.name, alert_destinations.c.id)
        ).mappings()
    ]
    ids = [r["id"] for r in rows]
    scope, last = _location_ids(conn, ids), _last_tries(conn, ids)
    for row in rows:
        row["location_ids"] = scope[row["id"]]
        row["last"] = last.get(row["id"])
    return rows


def get(conn: Connection, destination_id: str) -> dict[str, Any] | None:
    """One destination with `location_ids` (and its secret, for signing), or None."""
    row = (
        conn.execute(select(alert_destinations).where(alert_destinations.c.id == destination_id))
        .mappings()
        .first()
    )
    if row is None:
        return None
    found = dict(row)
    found["location_ids"] = _location_ids(conn, [destination_id])[destination_id]
    return found


def for_location(conn: Connection, location_id: str) -> list[dict[str, Any]]:
    """The enabled destinations an alert at this location goes to (with their secrets)."""
    listed = select(alert_destination_locations.c.destination_id).where(
        alert_destination_locations.c.location_id == location_id
    )
    rows = conn.execute(
        select(alert_destinations)
        .where(
            alert_destinations.c.enabled.is_(True),
            or_(
                alert_destinations.c.all_locations.is_(True),
                alert_destinations.c.id.in_(listed),
            ),
        )
        .order_by(alert_destinations.c.id)
    )
    return [dict(r) for r in rows.mappings()]


def set_enabled(conn: Connection, destination_id: str, enabled: bool) -> bool:
    """Pause or resume a destination (a paused one gets no alerts and no retries); False if
    unknown."""
    result = conn.execute(
        update(alert_destinations)
        .where(alert_destinations.c.id == destination_id)
        .values(enabled=enabled)
    )
    if not enabled:
        conn.execute(
            update(alert_deliveries)
            .where(alert_deliveries.c.destination_id == destination_id)
            .values(retry_at=None)
        )
    return result.rowcount == 1


def remove(conn: Connection, destination_id: str) -> bool:
    """Delete a destination with its scope and log; False if unknown."""
    for table in (alert_deliveries, alert_destination_locations):
        conn.execute(delete(table).where(table.c.destination_id == destination_id))
    result = conn.execute(
        delete(alert_destinations).where(alert_destinations.c.id == destination_id)
    )
    return result.rowcount == 1


def record(
    conn: Connection,
    destination_id: str,
    alert_id: int | None,
    attempt: int,
    sent_at: datetime,
    status_code: int | None,
    error: str | None,
    retry_at: datetime | None,
) -> int:
    """Log one try; return its row id."""
    result = conn.execute(
        alert_deliveries.insert().values(
            destination_id=destination_id,
            alert_id=alert_id,
            attempt=attempt,
            sent_at=sent_at,
            status_code=status_code,
            error=error[:500] if error else None,
            retry_at=retry_at,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def claim_due(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """The failed tries whose next try is due, oldest first, each taken off the queue (its
    `retry_at` cleared) so it is tried once; only enabled destinations'."""
    rows = conn.execute(
        select(alert_deliveries)
        .join(alert_destinations, alert_destinations.c.id == alert_deliveries.c.destination_id)
        .where(alert_deliveries.c.retry_at <= now, alert_destinations.c.enabled.is_(True))
        .order_by(alert_deliveries.c.id)
    )
    due = [dict(r) for r in rows.mappings()]
    if due:
        conn.execute(
            update(alert_deliveries)
            .where(alert_deliveries.c.id.in_([r["id"] for r in due]))
            .values(retry_at=None)
        )
    return due


def drop_retries(conn: Connection, alert_id: int) -> None:
    """No more tries for this alert anywhere (a mute now holds it back)."""
    conn.execute(
        update(alert_deliveries)
        .where(alert_deliveries.c.alert_id == alert_id)
        .values(retry_at=None)
    )


def log(conn: Connection, destination_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """A destination's latest tries, newest first, with the alert's location name."""
    rows = conn.execute(
        select(
            alert_deliveries,
            alerts.c.rule,
            alerts.c.severity,
            locations.c.name.label("location_name"),
        )
        .select_from(alert_deliveries.outerjoin(alerts, alerts.c.id == alert_deliveries.c.alert_id))
        .outerjoin(locations, locations.c.id == alerts.c.location_id)
        .where(alert_deliveries.c.destination_id == destination_id)
        .order_by(alert_deliveries.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]
