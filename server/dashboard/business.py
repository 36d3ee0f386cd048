"""Business results on the dashboard: the chain view that ranks locations by response rate and
coverage (where a score can't be trusted), and the location page's panel — response rate and
coverage over time, a KPI beside a score, and whether they move together (`server.links`)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from sqlalchemy import Connection

from server import kpi_report, links
from server.dashboard import period as periods
from server.dashboard.access import make_blueprint, require_user, scope
from server.dashboard.present import LABELS
from server.db import get_db
from server.store import locations
from server.store.filters import Filters

bp = make_blueprint("business", __name__, "/dashboard")

KPI_LABELS = {
    "conversion": "Conversion (transactions per 100 visitors)",
    "basket": "Basket (revenue per transaction)",
    "revenue_per_visitor": "Revenue per visitor",
    "visitors": "Visitors",
    "staff_hours_per_visitor": "Staffed hours per 100 visitors",
}
VERDICT_WORDS = {
    "moves_with": "moves with",
    "moves_against": "moves against",
    "no_clear_link": "no clear link",
    "not_enough_data": "not enough data",
}
#: Past this many days the panel works in ISO weeks: a point a day would be too many to read.
WEEKS_FROM_DAYS = 92
SORTS = ("response_rate", "coverage", "name")
#: Below this coverage, or under half the chain's median response rate, a row is flagged.
LOW_COVERAGE = 90.0
LOW_RATE_SHARE = 0.5


def choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """A query argument that must be one of `choices`; anything else is the default."""
    raw = request.args.get(name, default)
    return raw if raw in choices else default


def grain_of(period: periods.Period) -> str:
    """Days for a short period, ISO weeks for a long one."""
    return "week" if period.days > WEEKS_FROM_DAYS else "day"


def _score_series(conn: Connection, filters: Filters, score: str, grain: str) -> dict[str, float]:
    """The location's score per day or ISO week (absent where it has no such answers)."""
    found = links.period_scores(conn, filters, score, grain)
    return {period: value for (_, period), value in found.items()}


def verdict_sentence(link: links.Link, score: str, kpi: str, grain: str) -> str:
    """The link in plain words, never "causes"."""
    unit = "weeks" if grain == "week" else "days"
    what = f"{LABELS[score].rstrip(' +')} and {KPI_LABELS[kpi].split(' (')[0].lower()}"
    if link.verdict == "not_enough_data":
        return (
            f"Not enough data to tell whether {what} move together: {link.n} {unit} with both,"
            f" at least {links.MIN_POINTS} needed."
        )
    assert link.r is not None and link.ci95 is not None
    numbers = (
        f"r = {link.r:+.2f}, 95 % interval {link.ci95[0]:+.2f} to {link.ci95[1]:+.2f},"
        f" n = {link.n} {unit}"
    )
    if link.verdict == "no_clear_link":
        return f"No clear link between {what}: the interval includes zero ({numbers})."
    direction = "moves with" if link.verdict == "moves_with" else "moves against"
    return (
        f"{LABELS[score].rstrip(' +')} {direction} {KPI_LABELS[kpi].split(' (')[0].lower()}"
        f" ({numbers}). This says they go together, not that one causes the other."
    )


def location_panel(
    conn: Connection,
    location_id: str,
    period: periods.Period,
    narrow: list[str | None] | None,
    score: str,
    kpi: str,
) -> dict[str, Any]:
    """The panel's numbers for one location: the period's totals, a series per day or week
    (response rate, coverage, the score, the KPI), and the score-KPI link with its points."""
    grain = grain_of(period)
    filters = period.filters([location_id], narrow)
    days = kpi_report.day_rows(conn, filters)
    totals = kpi_report.build_groups(days, "location")
    empty = ("visitors", "response_rate", "coverage", "transactions", "conversion", "basket")
    total = totals[0] if totals else {"answers": 0, **dict.fromkeys(empty)}
    series = kpi_report.build_groups(days, grain)
    scores = _score_series(conn, filters, score, grain)
    points = links.points(conn, filters, score, kpi, grain)
    link = links.within_location([(p["location_id"], p["score"], p["kpi"]) for p in points])
    labels = [g["key"].get("date") or g["key"]["week"] for g in series]
    kpi_values = [links.kpi_of(g, kpi) for g in series]
    return {
        "grain": grain,
        "score": score,
        "score_label": LABELS[score],
        "kpi": kpi,
        "kpi_label": KPI_LABELS[kpi],
        "total": total,
        "labels": labels,
        "response_rate": [g["response_rate"] for g in series],
        "coverage": [g["coverage"] for g in series],
        "scores": [scores.get(label) for label in labels],
        "kpis": [None if v is None else round(v, 2) for v in kpi_values],
        "points": [{"x": p["score"], "y": p["kpi"], "period": p["period"]} for p in points],
        "link": {
            "n": link.n,
            "r": link.r,
            "ci95": None if link.ci95 is None else list(link.ci95),
            "verdict": link.verdict,
            "words": VERDICT_WORDS[link.verdict],
            "sentence": verdict_sentence(link, score, kpi, grain),
        },
    }


def _rank_key(sort: str) -> Any:
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        if sort == "name":
            return (row["name"].lower(),)
        value = row[sort]
        # Lowest first (the least trustworthy on top); unknown after every known figure.
        return (value is None, value if value is not None else 0.0, row["name"].lower())

    return key


@bp.get("/business")
def chain() -> str:
    """Every location the user may see, ranked by response rate or coverage, lowest first."""
    user = require_user()
    sort = choice("sort", SORTS, "response_rate")
    conn = get_db()
    with conn.begin():
        places = locations.visible(conn, scope(user))
        ids = [p["id"] for p in places]
        period = periods.from_request(p["timezone"] for p in places)
        days = kpi_report.day_rows(conn, period.filters(ids))
    groups = {g["key"]["location_id"]: g for g in kpi_report.build_groups(days, "location")}
    rows = []
    for place in places:
        group = groups.get(place["id"], {})
        rows.append(
            {
                "id": place["id"],
                "name": place["name"],
                "answers": group.get("answers", 0),
                "visitors": group.get("visitors"),
                "response_rate": group.get("response_rate"),
                "coverage": group.get("coverage"),
            }
        )
    rows.sort(key=_rank_key(sort))
    known = sorted(r["response_rate"] for r in rows if r["response_rate"] is not None)
    median_rate = known[len(known) // 2] if known else None
    for row in rows:
        doubts = []
        if row["coverage"] is not None and row["coverage"] < LOW_COVERAGE:
            doubts.append("kiosks out of contact part of the day")
        rate = row["response_rate"]
        if rate is not None and median_rate and rate < LOW_RATE_SHARE * median_rate:
            doubts.append("few answers for its visitors")
        row["doubts"] = doubts
    return render_template(
        "dashboard/business.html",
        rows=rows,
        sort=sort,
        period=period,
        presets=periods.PRESETS,
        median_rate=median_rate,
        low_coverage=LOW_COVERAGE,
    )
