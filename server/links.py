"""`GET /reports/links`: does a score move with a KPI, each location compared with itself?

Method. Each point is a location's day (or ISO week) with both a score and a KPI. Over
several locations both are centred on each location's own mean first, so a big store's sales
cannot pass for a good score: what is left is how a location's better-than-usual days go with
its own KPI. r is Pearson's correlation of the centred values (scipy.stats.pearsonr). Its 95 %
interval is Fisher's z ± 1.96 / sqrt(n − L − 2) for n points over L locations: centring spends
one degree of freedom per location beyond the first, which scipy's own interval (n − 3) would
not count, and would then be too narrow. This is the interval of a partial correlation with
the L − 1 location dummies as covariates; with one location it is scipy's. A link is claimed
only when the interval excludes zero; under 6 points, or with no freedom left, there is not
enough data. It says "moves with", never "causes".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Connection

from server import kpi_report
from server.report_filters import Filters
from server.scores import majority_scale
from server.store import kpis as kpi_store
from shared import scoring

SCORES = ("nps", "csat", "ces", "smiley")
KPIS = ("conversion", "basket", "revenue_per_visitor", "visitors", "staff_hours_per_visitor")
GRAINS = ("day", "week")
MIN_POINTS = 6

METHOD = (
    "Pearson correlation of each location's values around its own average (within-location),"
    " with a 95 % interval from Fisher's z on n − L − 2 degrees of freedom (n points, L"
    " locations); a link is claimed only when the interval excludes zero."
)


def score_of(group: dict[str, Any], score: str) -> float | None:
    """The headline number of one score kind in a score group, or None when it has none."""
    found = group.get(score)
    if not found:
        return None
    field = {"nps": "score", "csat": "score", "ces": "mean", "smiley": "positive_share"}[score]
    value = found[field]
    return None if value is None else float(value)


def kpi_of(group: dict[str, Any], kpi: str) -> float | None:
    """One KPI of a KPI-report group, or None when its parts are unknown."""
    visitors = group["visitors"]
    if kpi in ("conversion", "basket"):
        ratio = group[kpi]
        return None if ratio is None else float(ratio)
    if kpi == "visitors":
        return None if visitors is None else float(visitors)
    top = group["revenue"] if kpi == "revenue_per_visitor" else group["staff_hours"]
    if top is None or not visitors:
        return None
    scale = 1.0 if kpi == "revenue_per_visitor" else 100.0  # staffed hours per 100 visitors
    return float(top) / float(visitors) * scale


#: A ratio KPI's numerator and denominator, summed over the days where both are known, and
#: its scale and digits (as `kpi_report.build_groups` takes them).
RATIO_PARTS = {
    "conversion": ("transactions", "visitors", 100.0, 1),
    "basket": ("revenue_cents", "transactions", 0.01, 2),
}
#: The other KPIs' numerators, each summed over the days it is known (visitors likewise).
SUMMED_TOPS = {
    "visitors": "visitors",
    "revenue_per_visitor": "revenue_cents",
    "staff_hours_per_visitor": "staff_hours",
}


def kpi_columns(kpi: str) -> tuple[str, str]:
    """The two stored KPI columns (`kpis`) one KPI is made of: numerator and denominator
    (for `visitors`, visitors twice)."""
    if kpi in RATIO_PARTS:
        top, bottom = RATIO_PARTS[kpi][:2]
        return top, bottom
    return SUMMED_TOPS[kpi], "visitors"


def _period_namer(grain: str) -> Callable[[date | str], str]:
    """A day's period as the points write it, from a date or its ISO text (SQLite's, read
    without conversion); remembered, as a year of rows has 365 days."""

    def name(day: date | str) -> str:
        if grain == "day":
            return day if isinstance(day, str) else day.isoformat()
        return kpi_report.iso_week(date.fromisoformat(day) if isinstance(day, str) else day)

    return functools.cache(name)


def period_kpis(
    rows: Iterable[tuple[str, date | str, Any, Any]], kpi: str, grain: str
) -> dict[tuple[str, str], float]:
    """One KPI per (location, day or ISO week) that has it, from (location_id, day, numerator,
    denominator) rows, each location's in date order (`kpi_columns`): `kpi_of` each group of
    `kpi_report.build_groups` over the same days, summing only the parts this KPI needs (the
    same sums, in the same order, so the same floats)."""
    period_of = _period_namer(grain)
    ratio = kpi in RATIO_PARTS
    tops: dict[tuple[str, str], list[Any]] = {}
    for location_id, day, top, bottom in rows:
        key = (location_id, period_of(day))
        sums = tops.get(key)
        if ratio:  # both parts or neither, summed from 0.0 as kpi_report's pairs are
            if top is not None and bottom is not None:
                if sums is None:
                    tops[key] = [0.0 + top, 0.0 + bottom]
                else:
                    sums[0] += top
                    sums[1] += bottom
            continue
        if sums is None:
            tops[key] = sums = [None, None]
        if top is not None:
            sums[0] = top if sums[0] is None else sums[0] + top
        if bottom is not None:
            sums[1] = bottom if sums[1] is None else sums[1] + bottom
    found = {}
    for key, (top, bottom) in tops.items():
        value = _kpi_from_sums(kpi, top, bottom)
        if value is not None:
            found[key] = value
    return found


def _kpi_from_sums(kpi: str, top: Any, bottom: Any) -> float | None:
    if kpi in RATIO_PARTS:
        _, _, scale, digits = RATIO_PARTS[kpi]
        return round(top / bottom * scale, digits) if bottom else None
    if kpi == "visitors":
        return None if top is None else float(top)
    if top is None or not bottom:
        return None
    if kpi == "revenue_per_visitor":
        return float(top / 100) / float(bottom)
    return float(round(top, 2)) / float(bottom) * 100.0  # staffed hours per 100 visitors


@dataclass(frozen=True)
class Link:
    """The correlation, its interval, the verdict, and n."""

    n: int
    r: float | None
    ci95: tuple[float, float] | None
    verdict: str


def within_location(points: Sequence[tuple[str, float, float]]) -> Link:
    """The within-location correlation of (location_id, score, kpi) points."""
    n = len(points)
    codes: dict[str, int] = {}
    location = np.fromiter(
        (codes.setdefault(p[0], len(codes)) for p in points), dtype=np.intp, count=n
    )
    dof = n - len(codes) - 2
    if n < MIN_POINTS or dof < 1:
        return Link(n, None, None, "not_enough_data")
    values = np.array([p[1:] for p in points], dtype=float)
    # Each point around its location's mean (one bincount per column, not a loop per place).
    sizes = np.bincount(location)
    x, y = (
        values[:, i] - (np.bincount(location, weights=values[:, i]) / sizes)[location]
        for i in (0, 1)
    )
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return Link(n, None, None, "not_enough_data")  # nothing varies: no correlation
    # Imported here, on the first link asked for: scipy.stats takes about a second of CPU to
    # import, which every server start and every CLI command would otherwise pay.
    from scipy import stats

    r = float(stats.pearsonr(x, y).statistic)
    z = math.atanh(max(min(r, 1 - 1e-12), -1 + 1e-12))
    half = float(stats.norm.ppf(0.975)) / math.sqrt(dof)
    low, high = math.tanh(z - half), math.tanh(z + half)
    if low > 0:
        verdict = "moves_with"
    elif high < 0:
        verdict = "moves_against"
    else:
        verdict = "no_clear_link"
    return Link(n, round(r, 3), (round(low, 3), round(high, 3)), verdict)


#: Each score's headline from (n, happy, unhappy, value total): `shared.scoring`'s formulas.
_HEADLINES: dict[str, Callable[[int, int, int, int], float]] = {
    "nps": lambda n, happy, unhappy, _: scoring.nps_score(happy, unhappy, n),
    "ces": lambda n, _happy, _unhappy, total: scoring.mean_score(total, n),
    "csat": lambda n, happy, _unhappy, _total: scoring.share_score(happy, n),  # satisfied
    "smiley": lambda n, happy, _unhappy, _total: scoring.share_score(happy, n),  # upper half
}


def period_scores(
    conn: Connection, filters: Filters, score: str, grain: str
) -> dict[tuple[str, str], float]:
    """The score of each (location, day or ISO week) with answers of its kind, keyed by
    location id and the period as the points write it.

    Equal to `score_of` over `server.scores.build_groups` of the same counts (the same
    majority scale, the same headline), but from one row per location-day and scale summed
    in SQL, with no interval computed: a point needs the headline alone.
    """
    period_of = _period_namer(grain)
    parts: dict[tuple[str, str], dict[int, list[int]]] = {}
    for location_id, day, scale, *sums in filters.daily_score_parts(conn, score):
        key = (location_id, period_of(day))
        by_scale = parts.get(key)
        if by_scale is None:
            parts[key] = {scale: sums}
            continue
        summed = by_scale.get(scale)
        if summed is None:
            by_scale[scale] = sums
        else:  # another day of the same week
            by_scale[scale] = [a + b for a, b in zip(summed, sums, strict=True)]
    headline = _HEADLINES[score]
    found = {}
    for key, by_scale in parts.items():
        if len(by_scale) == 1:
            [chosen] = by_scale.values()
        else:
            chosen = by_scale[majority_scale({s: p[0] for s, p in by_scale.items()})]
        n, happy, unhappy, total = chosen
        if n > 0:
            found[key] = headline(n, happy, unhappy, total)
    return found


def points(
    conn: Connection, filters: Filters, score: str, kpi: str, grain: str
) -> list[dict[str, Any]]:
    """The (location, period) points with both a score and a KPI, in period order."""
    scores = period_scores(conn, filters, score, grain)
    # The KPIs alone: no raw answers read, whatever their number.
    top, bottom = kpi_columns(kpi)
    rows = kpi_store.daily_parts(conn, filters.location_ids, filters.day_from, filters.day_to,
                                 top, bottom)  # fmt: skip
    kpis = period_kpis(rows, kpi, grain)
    found = [(key[1], key[0], value) for key, value in kpis.items() if key in scores]
    found.sort()
    return [
        {"location_id": location_id, "period": period, "score": scores[(location_id, period)],
         "kpi": round(value, 3)}
        for period, location_id, value in found
    ]  # fmt: skip
