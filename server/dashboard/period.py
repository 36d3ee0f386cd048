"""The period picker: a preset (last N days, this or last month, this year) or a custom
from..to, as store-local dates.

One form carries both: `period` names a preset or "custom"; `from`/`to` are read only for
"custom" (or when no `period` is given, as older links do), so the date fields showing the
current range never override a preset the user just picked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import request

from server.store.filters import Filters
from shared.clock import utcnow

PRESETS = {
    "7": "Last 7 days",
    "30": "Last 30 days",
    "90": "Last 90 days",
    "month": "This month",
    "last-month": "Last month",
    "year": "This year",
}
CUSTOM = "custom"
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
        if self.key == CUSTOM:
            return {
                "period": CUSTOM,
                "from": self.day_from.isoformat(),
                "to": self.day_to.isoformat(),
            }
        return {"period": self.key}

    @property
    def days(self) -> int:
        """How many days the period spans."""
        return (self.day_to - self.day_from).days + 1

    @property
    def text(self) -> str:
        """The range in words, e.g. `3 Nov – 2 Dec 2026` (never the browser's date format)."""
        end = f"{self.day_to.day} {self.day_to:%b %Y}"
        if self.day_from.year != self.day_to.year:
            return f"{self.day_from.day} {self.day_from:%b %Y} – {end}"
        if self.day_from == self.day_to:
            return end
        return f"{self.day_from.day} {self.day_from:%b} – {end}"

    def filters(
        self, location_ids: list[str] | None, touchpoint_ids: list[str | None] | None = None
    ) -> Filters:
        """What the dashboard reads for this period: these locations and touchpoints, burst
        taps left out."""
        return Filters(self.day_from, self.day_to, location_ids, False, touchpoint_ids)

    def previous(self) -> Period:
        """The same number of days just before this period (what "moved since" compares to)."""
        day_to = self.day_from - timedelta(days=1)
        return Period(CUSTOM, day_to - timedelta(days=self.days - 1), day_to)


def latest_local_day(timezones: Iterable[str] = ()) -> date:
    """Today at the stores shown: the newest local date among these time zones, so "today"
    covers every store on the page without running ahead of them (a Warsaw manager in the
    evening sees today's date, not tomorrow's). With no store to go by, the newest date
    anywhere (UTC+14)."""
    now = utcnow()
    days = [now.astimezone(ZoneInfo(zone)).date() for zone in set(timezones)]
    return max(days) if days else (now + timedelta(hours=14)).date()


def preset_range(key: str, today: date) -> tuple[date, date]:
    """The days a preset covers when today is `today`."""
    if key == "month":
        return today.replace(day=1), today
    if key == "last-month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if key == "year":
        return today.replace(month=1, day=1), today
    return today - timedelta(days=int(key) - 1), today


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw and len(raw) == 10 else None
    except ValueError:
        return None


def from_request(timezones: Iterable[str] = ()) -> Period:
    """The period the query string asks for; a bad or missing one falls back to the default.
    Presets end today at the stores shown (`latest_local_day`)."""
    key = request.args.get("period")
    if key in (CUSTOM, None):
        day_from, day_to = _date(request.args.get("from")), _date(request.args.get("to"))
        if day_from and day_to and day_from <= day_to and (day_to - day_from).days <= MAX_DAYS:
            return Period(CUSTOM, day_from, day_to)
    if key not in PRESETS:
        key = DEFAULT
    return Period(key, *preset_range(key, latest_local_day(timezones)))
