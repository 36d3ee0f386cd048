"""The period picker: last N days, or an explicit from..to, as store-local dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import request

from shared.clock import utcnow

PRESETS = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "365": "Last year"}
DEFAULT = "30"
MAX_DAYS = 3700


@dataclass(frozen=True)
class Period:
    """Store-local days from..to (both included) and how the picker shows them."""

    key: str  # a PRESETS key, or "custom"
    day_from: date
    day_to: date

    @property
    def args(self) -> dict[str, str]:
        """Query parameters that select this period again."""
        if self.key == "custom":
            return {"from": self.day_from.isoformat(), "to": self.day_to.isoformat()}
        return {"period": self.key}

    @property
    def days(self) -> int:
        """How many days the period spans."""
        return (self.day_to - self.day_from).days + 1


def latest_local_day() -> date:
    """The newest store-local date anywhere (UTC+14), so "today" covers every time zone."""
    return (utcnow() + timedelta(hours=14)).date()


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw and len(raw) == 10 else None
    except ValueError:
        return None


def from_request() -> Period:
    """The period the query string asks for; a bad or missing one falls back to the default."""
    day_from, day_to = _date(request.args.get("from")), _date(request.args.get("to"))
    if day_from and day_to and day_from <= day_to and (day_to - day_from).days <= MAX_DAYS:
        return Period("custom", day_from, day_to)
    key = request.args.get("period", DEFAULT)
    if key not in PRESETS:
        key = DEFAULT
    end = latest_local_day()
    return Period(key, end - timedelta(days=int(key) - 1), end)
