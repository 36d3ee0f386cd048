"""Which period a digest covers and when it is due.

A digest covers the last complete period on the store's clock (PROTOCOL.md): yesterday, the
last ISO week (Monday–Sunday) or the last calendar month, and compares it with the period
before. It is due at the user's delivery time on the first day after the period: every
morning, on Monday morning, or on the morning of the 1st.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

KINDS = ("daily", "weekly", "monthly")
TIME_PATTERN = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True)
class Period:
    """Store-local days first..last of a digest, and the period before for comparison."""

    kind: str
    first: date
    last: date
    previous_first: date
    previous_last: date

    @property
    def key(self) -> str:
        """The name the sent-record keeps, e.g. `weekly:2026-11-30`."""
        return f"{self.kind}:{self.first.isoformat()}"


def _span_before(kind: str, day: date) -> tuple[date, date]:
    """The last complete period of this kind that ends before `day`."""
    if kind == "daily":
        return day - timedelta(days=1), day - timedelta(days=1)
    if kind == "weekly":
        monday = day - timedelta(days=day.weekday())
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if kind == "monthly":
        last = day.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise ValueError(f"kind must be one of {', '.join(KINDS)}")


def before(kind: str, day: date) -> Period:
    """The last complete period ending before `day`, with the period before it."""
    first, last = _span_before(kind, day)
    previous_first, previous_last = _span_before(kind, first)
    return Period(kind, first, last, previous_first, previous_last)


def last_complete(kind: str, now: datetime, timezone: str) -> Period:
    """The last complete period at `now` on the clock of `timezone`."""
    return before(kind, now.astimezone(ZoneInfo(timezone)).date())


def due_at(period: Period, at: time, timezone: str) -> datetime:
    """When the period's digest is due: `at` on the store's clock, the day after it ends."""
    return datetime.combine(period.last + timedelta(days=1), at, ZoneInfo(timezone))


def latest_due(kind: str, at: time, timezone: str, now: datetime) -> Period:
    """The newest period whose digest is due at `now`: only this one is sent after an outage,
    never the stale ones before it."""
    period = last_complete(kind, now, timezone)
    if due_at(period, at, timezone) <= now:
        return period
    return before(kind, period.first)


def parse_time(raw: str) -> time:
    """A delivery time `HH:MM` (24-hour clock); ValueError otherwise."""
    found = TIME_PATTERN.fullmatch(raw.strip())
    if not found:
        raise ValueError(f"{raw!r} is not a time HH:MM (00:00 to 23:59)")
    return time(int(found[1]), int(found[2]))
