"""Opening hours per ISO weekday in store-local time, e.g. {"1": ["08:00", "20:00"], ...}.

A weekday missing from the mapping is closed; no mapping at all (None) means always open.
A closing time at or before the opening time runs past midnight into the next day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

Hours = dict[str, list[str]]


class BadHours(ValueError):
    """Opening hours that cannot be read; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_form(form: Mapping[str, str]) -> Hours | None:
    """Read fields open_1..open_7 / close_1..close_7 (HH:MM, both empty = closed).

    Returns None when the `always_open` box is ticked.
    """
    if form.get("always_open"):
        return None
    hours: Hours = {}
    for day in range(1, 8):
        opens = form.get(f"open_{day}", "").strip()
        closes = form.get(f"close_{day}", "").strip()
        if not opens and not closes:
            continue
        for field, value in ((f"open_{day}", opens), (f"close_{day}", closes)):
            if not _HHMM.match(value):
                name = WEEKDAY_NAMES[day - 1]
                raise BadHours(field, f"{name}: give both times as HH:MM, or neither (closed)")
        if opens == closes:
            raise BadHours(f"close_{day}", f"{WEEKDAY_NAMES[day - 1]}: opens and closes at once")
        hours[str(day)] = [opens, closes]
    return hours


def _minutes(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    return int(hour) * 60 + int(minute)


def is_open(hours: Mapping[str, list[str]] | None, timezone: str, moment: datetime) -> bool:
    """Whether the store is open at this moment (an aware datetime), in its own time zone."""
    if hours is None:
        return True
    local = moment.astimezone(ZoneInfo(timezone))
    now = local.hour * 60 + local.minute
    today = local.isoweekday()
    yesterday = 7 if today == 1 else today - 1
    if str(today) in hours:
        opens, closes = (_minutes(t) for t in hours[str(today)])
        if opens < closes and opens <= now < closes:
            return True
        if closes <= opens and now >= opens:
            return True
    if str(yesterday) in hours:
        opens, closes = (_minutes(t) for t in hours[str(yesterday)])
        if closes <= opens and now < closes:
            return True
    return False


def rows(hours: Mapping[str, list[str]] | None) -> list[dict[str, str | int]]:
    """One row per weekday for the form: day number, name, open and close (or '')."""
    found = hours or {}
    return [
        {
            "day": day,
            "name": WEEKDAY_NAMES[day - 1],
            "open": found.get(str(day), ["", ""])[0],
            "close": found.get(str(day), ["", ""])[1],
        }
        for day in range(1, 8)
    ]


__all__ = ["WEEKDAY_NAMES", "BadHours", "Hours", "is_open", "parse_form", "rows"]
