"""The dashboard's opening-hours form: read it, and fill it from stored hours.

The format and `is_open` live in `shared.opening_hours` (the kiosk uses them too).
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.opening_hours import Hours, is_hhmm

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class BadHoursError(ValueError):
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
            if not is_hhmm(value):
                name = WEEKDAY_NAMES[day - 1]
                raise BadHoursError(field, f"{name}: give both times as HH:MM, or neither (closed)")
        if opens == closes:
            raise BadHoursError(
                f"close_{day}", f"{WEEKDAY_NAMES[day - 1]}: opens and closes at once"
            )
        hours[str(day)] = [opens, closes]
    return hours


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


__all__ = ["WEEKDAY_NAMES", "BadHoursError", "Hours", "parse_form", "rows"]
