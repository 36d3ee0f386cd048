"""`GET /reports/kpis`: answers, KPIs, response rate and coverage per day, week or location.

A group sums its days, and each ratio is the ratio of those sums, taken over the days where
both sums are known: a day without a visitor count adds nothing to the response rate, rather
than its answers counting against no visitors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import Connection

from server import coverage
from server.store import kpis as kpi_store
from server.store import locations, submissions
from server.store.filters import Filters

GROUP_BY = ("day", "week", "location")


def iso_week(day: date) -> str:
    """The ISO week of a day, written 2026-W48."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def group_key(location_id: str, day: date, group_by: str) -> tuple[str, ...]:
    """The group a location-day falls in."""
    if group_by == "day":
        return (location_id, day.isoformat())
    if group_by == "week":
        return (location_id, iso_week(day))
    return (location_id,)


def _key_dict(key: tuple[str, ...], group_by: str) -> dict[str, str]:
    names = {"day": ("location_id", "date"), "week": ("location_id", "week")}
    return dict(zip(names.get(group_by, ("location_id",)), key, strict=True))


@dataclass
class Sums:
    """A group's sums, and the sums behind each ratio (over days where both parts are known)."""

    answers: int = 0
    visitors: int | None = None
    transactions: int | None = None
    revenue_cents: int | None = None
    staff_hours: float | None = None
    open_minutes: int = 0
    covered_minutes: int = 0
    pairs: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float | None) -> None:
        """Add a day's value to the sum of `name` (None: unknown that day)."""
        if value is not None:
            current = getattr(self, name)
            setattr(self, name, value if current is None else current + value)

    def pair(self, ratio: str, top: float | None, bottom: float | None) -> None:
        """Add a day's numerator and denominator to a ratio, when both are known."""
        if top is not None and bottom is not None:
            sums = self.pairs.setdefault(ratio, [0.0, 0.0])
            sums[0] += top
            sums[1] += bottom

    def ratio(self, name: str, scale: float, digits: int) -> float | None:
        """The ratio of the sums × scale, rounded; None without a denominator."""
        top, bottom = self.pairs.get(name, [0.0, 0.0])
        return round(top / bottom * scale, digits) if bottom else None


def day_rows(
    conn: Connection, wanted: Filters, *, kpis_only: bool = False
) -> dict[tuple[str, date], dict[str, Any]]:
    """Per location-day with anything known: answers, the KPIs, opening and covered minutes.

    `kpis_only` reads the stored KPIs alone (answers 0, no coverage): what the link report
    needs, at a cost that does not grow with the number of answers (no raw answer is read).
    """
    day_from, day_to, location_ids = wanted.day_from, wanted.day_to, wanted.location_ids
    located = locations.visible(conn, None if location_ids is None else frozenset(location_ids))
    ids = [loc["id"] for loc in located]
    rows: dict[tuple[str, date], dict[str, Any]] = {}

    def row(key: tuple[str, date]) -> dict[str, Any]:
        return rows.setdefault(key, {"answers": 0, **kpi_store.EMPTY})

    for stored in kpi_store.daily(conn, ids, day_from, day_to):
        row((stored["location_id"], stored["date"])).update(
            {c: stored[c] for c in kpi_store.VALUE_COLUMNS}
        )
    if kpis_only:
        return rows
    answered = submissions.daily_counts(conn, replace(wanted, location_ids=ids))
    for key, count in answered.items():
        row(key)["answers"] = count
    for key, day_coverage in coverage.daily(
        conn, located, day_from, day_to, wanted.touchpoint_ids
    ).items():
        row(key).update(
            open_minutes=day_coverage.open_minutes, covered_minutes=day_coverage.covered_minutes
        )
    return rows


def build_groups(
    rows: dict[tuple[str, date], dict[str, Any]], group_by: str
) -> list[dict[str, Any]]:
    """One group per key in key order, each summing its days (see the module's note)."""
    groups: dict[tuple[str, ...], Sums] = {}
    for (location_id, day), values in rows.items():
        sums = groups.setdefault(group_key(location_id, day, group_by), Sums())
        sums.answers += values["answers"]
        for name in ("visitors", "transactions", "revenue_cents", "staff_hours"):
            sums.add(name, values[name])
        if "open_minutes" in values:
            sums.pair("coverage", values["covered_minutes"], values["open_minutes"])
        sums.pair("response_rate", values["answers"], values["visitors"])
        sums.pair("conversion", values["transactions"], values["visitors"])
        sums.pair("basket", values["revenue_cents"], values["transactions"])
    return [
        {
            "key": _key_dict(key, group_by),
            "answers": sums.answers,
            "visitors": sums.visitors,
            "response_rate": sums.ratio("response_rate", 100, 1),
            "coverage": sums.ratio("coverage", 100, 1),
            "transactions": sums.transactions,
            "revenue": None if sums.revenue_cents is None else sums.revenue_cents / 100,
            "staff_hours": None if sums.staff_hours is None else round(sums.staff_hours, 2),
            "conversion": sums.ratio("conversion", 100, 1),
            "basket": sums.ratio("basket", 0.01, 2),
        }
        for key, sums in sorted(groups.items())
    ]
