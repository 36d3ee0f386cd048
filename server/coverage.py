"""Coverage: the share of a location's opening minutes in which at least one of its kiosks was
in contact, per store-local day, from the contact history (`store.contacts`) and the opening
hours (`shared.opening_hours`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from server.store import contacts
from server.store.locations import opening_hours
from shared.clock import utcnow
from shared.opening_hours import open_spans

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class DayCoverage:
    """A location-day's opening minutes and those of them with a kiosk in contact."""

    open_minutes: int
    covered_minutes: int


def _covered_in(span: tuple[datetime, datetime], seen: dict[datetime, int]) -> int:
    start, end = span
    covered = 0
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        first = max(start, hour)
        last = min(end, hour + HOUR)
        low = (first - hour).seconds // 60
        high = (last - hour).seconds // 60 if last < hour + HOUR else 60
        window = ((1 << high) - 1) ^ ((1 << low) - 1)
        covered += (seen.get(hour, 0) & window).bit_count()
        hour += HOUR
    return covered


def daily(
    conn: Connection,
    locations: Iterable[dict[str, Any]],
    day_from: date,
    day_to: date,
    touchpoint_ids: Iterable[str | None] | None = None,
) -> dict[tuple[str, date], DayCoverage]:
    """Each location-day's coverage from its first recorded contact on; days before the
    history began, and days the store is closed, are left out (unknown, not 0 %)."""
    located = list(locations)
    if not located:
        return {}
    ids = [loc["id"] for loc in located]
    first = contacts.first_hours(conn, ids)
    spans: dict[tuple[str, date], list[tuple[datetime, datetime]]] = {}
    for location in located:
        started = first.get(location["id"])
        if started is None:
            continue
        hours = opening_hours(location)
        # Only days the history can speak for: from its first hour to tomorrow (any zone).
        day = max(day_from, started.date() - timedelta(days=1))
        last = min(day_to, utcnow().date() + timedelta(days=1))
        while day <= last:
            day_spans = open_spans(hours, day, location["timezone"])
            if day_spans and day_spans[-1][1] > started:
                spans[(location["id"], day)] = day_spans
            day += timedelta(days=1)
    if not spans:
        return {}
    start = min(s for day_spans in spans.values() for s, _ in day_spans)
    end = max(e for day_spans in spans.values() for _, e in day_spans)
    seen = contacts.seen_minutes(conn, ids, contacts.hour_start(start), end, touchpoint_ids)
    by_location: dict[str, dict[datetime, int]] = {}
    for (location_id, hour), bits in seen.items():
        by_location.setdefault(location_id, {})[hour] = bits
    found: dict[tuple[str, date], DayCoverage] = {}
    now = utcnow()
    for (location_id, day), day_spans in spans.items():
        started = first[location_id]
        # Only minutes already past count: today's later opening hours are not a gap yet.
        clipped = [(max(s, started), min(e, now)) for s, e in day_spans if e > started and s < now]
        minutes = sum(int((e - s).total_seconds()) // 60 for s, e in clipped)
        if minutes <= 0:
            continue
        location_seen = by_location.get(location_id, {})
        covered = sum(_covered_in(span, location_seen) for span in clipped)
        found[(location_id, day)] = DayCoverage(minutes, covered)
    return found
