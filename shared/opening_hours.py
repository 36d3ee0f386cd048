"""Opening hours per ISO weekday in store-local time, e.g. {"1": ["08:00", "20:00"], ...}.

A weekday missing from the mapping is closed all day; no mapping at all (None) means always
open. A closing time at or before the opening time runs past midnight into the next day
(`["18:00", "02:00"]`). Times are wall-clock times in the store's IANA time zone, so a
daylight-saving change moves the hours with the clocks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: Opening hours: ISO weekday "1" (Monday) .. "7" (Sunday) → [opens "HH:MM", closes "HH:MM"].
Hours = dict[str, list[str]]

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_WEEKDAYS = frozenset(str(day) for day in range(1, 8))


def is_hhmm(text: str) -> bool:
    """Whether `text` is a time of day written HH:MM (00:00 .. 23:59)."""
    return bool(_HHMM.match(text))


def check_hours(hours: Hours | None) -> Hours | None:
    """The hours unchanged, or ValueError naming what is wrong with them."""
    if hours is None:
        return None
    for day, times in hours.items():
        if day not in _WEEKDAYS:
            raise ValueError(f"weekday {day!r} is not an ISO weekday 1..7")
        if len(times) != 2 or not all(is_hhmm(t) for t in times):
            raise ValueError(f"weekday {day}: give [opens, closes] as HH:MM")
        if times[0] == times[1]:
            raise ValueError(f"weekday {day}: opens and closes at once")
    return hours


def _minutes(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    return int(hour) * 60 + int(minute)


def is_open(hours: Mapping[str, list[str]] | None, moment: datetime, timezone: str) -> bool:
    """Whether the store is open at `moment` (an aware datetime), in its own time zone."""
    if hours is None:
        return True
    local = moment.astimezone(ZoneInfo(timezone))
    now = local.hour * 60 + local.minute
    today = local.isoweekday()
    yesterday = 7 if today == 1 else today - 1
    if str(today) in hours:
        opens, closes = (_minutes(t) for t in hours[str(today)])
        if opens <= now < closes or (closes <= opens and now >= opens):
            return True
    if str(yesterday) in hours:
        opens, closes = (_minutes(t) for t in hours[str(yesterday)])
        if closes <= opens and now < closes:
            return True
    return False


def open_spans(
    hours: Mapping[str, list[str]] | None, day: date, timezone: str
) -> list[tuple[datetime, datetime]]:
    """The UTC spans [start, end) the store is open on its business day `day`.

    A day's hours belong to the day they open on, so `["18:00", "02:00"]` runs into the next
    morning; no mapping (None) is the whole local day. Wall-clock times are placed in the
    store's zone, so the spans are the real lengths on a daylight-saving day (23 or 25 hours
    for an always-open store).
    """
    zone = ZoneInfo(timezone)

    def at(on: date, minutes: int) -> datetime:
        local = datetime.combine(on, time(minutes // 60, minutes % 60), zone)
        return local.astimezone(UTC)

    if hours is None:
        return [(at(day, 0), at(day + timedelta(days=1), 0))]
    times = hours.get(str(day.isoweekday()))
    if not times:
        return []
    opens, closes = (_minutes(t) for t in times)
    closes_on = day if closes > opens else day + timedelta(days=1)
    return [(at(day, opens), at(closes_on, closes))]


__all__ = ["Hours", "check_hours", "is_hhmm", "is_open", "open_spans"]
