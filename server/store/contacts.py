"""The contact history: which minutes of each UTC hour each device was in contact.

One row per (location, hour, device) holds a 60-bit set, bit m for minute m. Contact writes
are throttled (`devices.contact_due`: at most one per CONTACT_WRITE_INTERVAL_S, at most 60 s),
so each write also fills the minutes since the previous write when the two are closer than
the interval plus one minute: the calls in between were only held back by the throttle. A
longer silence is a gap, and stays one, to the minute; a break shorter than that (about two
minutes) is not seen. The cost is one small upsert per written contact.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Insert, func, select
from sqlalchemy.dialects import postgresql, sqlite

from server.store import as_utc
from server.store.schema import contact_minutes

MINUTE = timedelta(minutes=1)


def hour_start(moment: datetime) -> datetime:
    """The start of the UTC hour holding `moment`."""
    utc = as_utc(moment)
    assert utc is not None
    return utc.replace(minute=0, second=0, microsecond=0)


def minutes_by_hour(
    previous: datetime | None, now: datetime, interval_s: float
) -> dict[datetime, int]:
    """The minute bits a contact written at `now` sets, by UTC hour (see the module's note)."""
    end = now.replace(second=0, microsecond=0)
    start = end
    if previous is not None and (now - previous).total_seconds() < interval_s + 60:
        start = min(previous.replace(second=0, microsecond=0), end)
    bits: dict[datetime, int] = {}
    minute = start
    while minute <= end:
        hour = hour_start(minute)
        bits[hour] = bits.get(hour, 0) | (1 << minute.minute)
        minute += MINUTE
    return bits


def mark(conn: Connection, device: dict[str, Any], now: datetime, interval_s: float) -> None:
    """Record a written contact of this device at `now`, at its location (and touchpoint).

    `device` is the row as read before this write: its `last_contact_at` is the previous one.
    """
    previous = as_utc(device["last_contact_at"])
    now_utc = as_utc(now)
    assert now_utc is not None
    rows = [
        {
            "location_id": device["location_id"],
            "hour": hour,
            "device_id": device["id"],
            "touchpoint_id": device.get("touchpoint_id"),
            "minutes": bits,
        }
        for hour, bits in minutes_by_hour(previous, now_utc, interval_s).items()
    ]
    conn.execute(_mark_statement(conn.dialect.name), rows)


@functools.cache
def _mark_statement(dialect_name: str) -> Insert:
    # Built once per dialect: building `excluded` costs more than running the statement.
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(contact_minutes)
    upsert: Insert = stmt.on_conflict_do_update(
        index_elements=["location_id", "hour", "device_id"],
        set_={
            "minutes": contact_minutes.c.minutes.op("|")(stmt.excluded.minutes),
            "touchpoint_id": stmt.excluded.touchpoint_id,
        },
    )
    return upsert


def seen_minutes(
    conn: Connection,
    location_ids: Iterable[str],
    start: datetime,
    end: datetime,
    touchpoint_ids: Iterable[str | None] | None = None,
) -> dict[tuple[str, datetime], int]:
    """Per (location, UTC hour) in [start, end): the minutes any of its kiosks was in contact.

    `touchpoint_ids` narrows to kiosks at those touchpoints (None in it: at no touchpoint).
    """
    c = contact_minutes.c
    query = select(c.location_id, c.hour, c.minutes, c.touchpoint_id).where(
        c.location_id.in_(sorted(set(location_ids))), c.hour >= start, c.hour < end
    )
    wanted = None if touchpoint_ids is None else set(touchpoint_ids)
    found: dict[tuple[str, datetime], int] = {}
    for row in conn.execute(query):
        if wanted is not None and row.touchpoint_id not in wanted:
            continue
        key = (row.location_id, hour_start(row.hour))
        found[key] = found.get(key, 0) | int(row.minutes)
    return found


def first_hours(conn: Connection, location_ids: Iterable[str]) -> dict[str, datetime]:
    """Each location's first recorded contact hour (its history starts there)."""

    c = contact_minutes.c
    query = (
        select(c.location_id, func.min(c.hour))
        .where(c.location_id.in_(sorted(set(location_ids))))
        .group_by(c.location_id)
    )
    return {loc: hour_start(first) for loc, first in conn.execute(query)}
