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

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection

from server import kpi_report
from server.array_json import Coded, Parts, object_parts, pieced, texts
from server.scores import rounded
from server.store import day_parts
from server.store import kpis as kpi_store
from server.store.filters import Filters

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


class _Periods:
    """(location, period) groups as int64 codes — location index × 2**32 + period index — so
    the rows of a year (18,000 location-days) become arrays with no object made per row:
    each distinct location is looked up once, and each distinct period named once. Shared
    by the scores and the KPIs of one report, so their codes match."""

    def __init__(self, grain: str) -> None:
        self.grain = grain
        self.locations: dict[str, int] = {}
        #: Each period's index by its number (a `day_parts.day_number`, or a week number),
        #: and its name as the points write it, by index.
        self.numbers: dict[int, int] = {}
        self.periods: list[str] = []

    def _name(self, number: int) -> str:
        if self.grain == "day":
            return day_parts.day_of(number).isoformat()
        return kpi_report.iso_week(day_parts.week_monday(number))

    def codes(self, locations: Sequence[str], numbers: np.ndarray) -> np.ndarray:
        """Each row's group code, from its location id and its period's number."""
        for location in set(locations).difference(self.locations):
            self.locations[location] = len(self.locations)
        distinct, at = np.unique(numbers, return_inverse=True)
        index = np.empty(len(distinct), np.int64)
        for i, number in enumerate(distinct.tolist()):
            if number not in self.numbers:
                self.numbers[number] = len(self.periods)
                self.periods.append(self._name(number))
            index[i] = self.numbers[number]
        n = len(locations)
        found = np.fromiter(map(self.locations.__getitem__, locations), np.int64, n) << 32
        code: np.ndarray = found | index[at.reshape(-1)]
        return code

    def keys(self, codes: np.ndarray) -> list[tuple[str, str]]:
        """(location_id, period) of each code."""
        return list(zip(*self.names(codes), strict=True))

    def names(self, codes: np.ndarray) -> tuple[list[str], list[str]]:
        """The location ids and the periods of the codes: two lists, no object made per code
        (each one a request holds alive makes Python's collector work longer)."""
        locations = np.array(list(self.locations), dtype=object)[codes >> 32]
        periods = np.array(self.periods, dtype=object)[codes & _LOW]
        return locations.tolist(), periods.tolist()

    def order(self, codes: np.ndarray) -> np.ndarray:
        """The indices that put codes in period order, then location order (as text)."""
        ranks = []
        for names in (list(self.locations), self.periods):
            rank = np.empty(len(names), dtype=np.int64)
            rank[np.argsort(np.array(names, dtype=object))] = np.arange(len(names))
            ranks.append(rank)
        found: np.ndarray = np.lexsort((ranks[0][codes >> 32], ranks[1][codes & _LOW]))
        return found


_LOW = 2**32 - 1


def _sums(group: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the sum of its known values (NaN: unknown) and whether it has any.

    `np.bincount` adds the weights one by one in row order, as a Python loop over the rows
    would: the same floats (counts and cents are whole numbers far below 2**53, so exact).
    """
    known = ~np.isnan(values)
    sums = np.bincount(group[known], weights=values[known], minlength=size)
    return sums, np.bincount(group[known], minlength=size) > 0


def period_kpis(
    rows: Iterable[tuple[str, date | str, Any, Any]], kpi: str, grain: str
) -> dict[tuple[str, str], float]:
    """One KPI per (location, day or ISO week) that has it, from (location_id, day, numerator,
    denominator) rows in any order (`kpi_columns`): `kpi_of` each group of
    `kpi_report.build_groups` over the same days, summing only the parts this KPI needs (the
    same sums, in the same order, so the same floats), with numpy over all groups at once."""
    periods = _Periods(grain)
    columns = [list(column) for column in zip(*rows, strict=True)] or [[], [], [], []]
    columns[1] = [_as_date(day).toordinal() - 1 for day in columns[1]]  # `day_number`s
    codes, values = _kpi_parts(columns, kpi, periods)
    return dict(zip(periods.keys(codes), values.tolist(), strict=True))


def _as_date(day: date | str) -> date:
    return date.fromisoformat(day) if isinstance(day, str) else day


def _kpi_parts(
    columns: Sequence[Sequence[Any]], kpi: str, periods: _Periods
) -> tuple[np.ndarray, np.ndarray]:
    """`period_kpis` of (location_id, `day_parts.day_number`, numerator, denominator) columns
    in any order (`kpi_store.daily_parts`), as the groups' codes (ascending) and their KPIs."""
    locations, days, tops, bottoms = columns
    if not len(locations):
        return np.empty(0, dtype=np.int64), np.empty(0)
    numbers = np.asarray(days, dtype=np.int64)
    week = periods.grain == "week"
    codes = periods.codes(locations, numbers // 7 if week else numbers)  # weeks: as in SQL
    top = np.array(tops, dtype=float)  # None: NaN
    bottom = np.array(bottoms, dtype=float)
    if week:
        # A week sums its days in date order, as kpi_report does (staffed hours are floats,
        # whose sums depend on the order): the rows by date, stably.
        by_date = np.argsort(numbers, kind="stable")
        codes, top, bottom = codes[by_date], top[by_date], bottom[by_date]
    keys, group = np.unique(codes, return_inverse=True)
    size = len(keys)
    if kpi in RATIO_PARTS:  # both parts or neither, as kpi_report's pairs are
        both = ~np.isnan(top) & ~np.isnan(bottom)
        top_sum, has = _sums(group, np.where(both, top, np.nan), size)
        bottom_sum, _ = _sums(group, np.where(both, bottom, np.nan), size)
        _, _, scale, digits = RATIO_PARTS[kpi]
        usable = has & (bottom_sum != 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = top_sum / bottom_sum * scale
        return keys[usable], rounded(values[usable], digits)
    top_sum, has_top = _sums(group, top, size)
    bottom_sum, has_bottom = _sums(group, bottom, size)
    if kpi == "visitors":
        usable, values = has_top, top_sum
    else:
        usable = has_top & has_bottom & (bottom_sum != 0)
        # Staffed hours per 100 visitors: the hours rounded to 2 digits, as kpi_report does.
        numerators = top_sum / 100 if kpi == "revenue_per_visitor" else rounded(top_sum, 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = numerators / bottom_sum
        if kpi == "staff_hours_per_visitor":
            values = values * 100.0
    found: np.ndarray = values[usable]
    return keys[usable], found


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
    x, y = (np.fromiter((p[i] for p in points), dtype=float, count=n) for i in (1, 2))
    return _within(location, x, y)


def _within(location: np.ndarray, x: np.ndarray, y: np.ndarray) -> Link:
    """`within_location` of points as arrays: each one's location index (0..L − 1, every
    one used), score and KPI."""
    n = len(location)
    sizes = np.bincount(location)
    dof = n - len(sizes) - 2
    if n < MIN_POINTS or dof < 1:
        return Link(n, None, None, "not_enough_data")
    # Each point around its location's mean (one bincount per column, not a loop per place).
    x, y = (values - (np.bincount(location, weights=values) / sizes)[location] for values in (x, y))
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


def period_scores(
    conn: Connection, filters: Filters, score: str, grain: str
) -> dict[tuple[str, str], float]:
    """The score of each (location, day or ISO week) with answers of its kind, keyed by
    location id and the period as the points write it.

    Equal to `score_of` over `server.scores.build_groups` of the same counts (the same
    majority scale, the same headline), but from a headline's parts per location-period and
    scale summed in SQL (`day_parts.headline_counts`), with no interval computed — a point
    needs the headline alone — and with numpy over all periods at once: `shared.scoring`'s
    formulas in the same order of operations, rounded as Python's `round` rounds
    (`scores.rounded`), so the same floats.
    """
    periods = _Periods(grain)
    columns = day_parts.headline_counts(conn, score, filters, grain)
    codes, values = _score_parts(columns, score, periods)
    return dict(zip(periods.keys(codes), values.tolist(), strict=True))


def _score_parts(
    columns: Sequence[Sequence[Any]], score: str, periods: _Periods
) -> tuple[np.ndarray, np.ndarray]:
    """`period_scores` of `day_parts.headline_counts` columns, as the groups' codes
    (ascending) and their scores."""
    locations, days, scales, *columns = columns
    if not locations:
        return np.empty(0, dtype=np.int64), np.empty(0)
    scale = np.array(scales, dtype=np.int64)
    codes = periods.codes(locations, np.asarray(days, dtype=np.int64))
    # One part per (period, scale): a week sums its days; a period on two scales keeps both.
    pair, at = np.unique((codes << 4) | scale, return_inverse=True)
    # Scales are 3..11: four bits. Sums as float64 are exact (whole numbers below 2**53).
    n, *parts = (
        np.bincount(at, weights=np.array(column, dtype=np.int64), minlength=len(pair))
        for column in columns
    )
    # The majority scale of each period (most answers, then the larger scale): the last of its
    # parts ordered by period, n, scale.
    pair_group, pair_scale = pair >> 4, pair & 15
    if len(pair) > 1 and (pair_group[1:] == pair_group[:-1]).any():
        order = np.lexsort((pair_scale, n, pair_group))
        last = np.ones(len(order), dtype=bool)
        last[:-1] = pair_group[order][1:] != pair_group[order][:-1]
        chosen = np.sort(order[last])  # codes ascending again
        pair_group, n, parts = pair_group[chosen], n[chosen], [p[chosen] for p in parts]
    if score == "nps":
        happy, unhappy = parts
        return pair_group, rounded(100.0 * ((happy - unhappy) / n), 1)
    if score == "ces":
        return pair_group, rounded(parts[0] / n, 2)
    # csat (satisfied), smiley (upper half): a share
    return pair_group, rounded(100.0 * (parts[0] / n), 1)


def points(
    conn: Connection, filters: Filters, score: str, kpi: str, grain: str
) -> list[dict[str, Any]]:
    """The (location, period) points with both a score and a KPI, in period order."""
    return report(conn, filters, score, kpi, grain)[0]


def report(
    conn: Connection, filters: Filters, score: str, kpi: str, grain: str
) -> tuple[list[dict[str, Any]], Link]:
    """The points with both a score and a KPI, in period order, and their link
    (`within_location` of the points)."""
    matched = _matched(conn, filters, score, kpi, grain)
    found = [
        {"location_id": location_id, "period": period, "score": score, "kpi": kpi}
        for location_id, period, score, kpi in zip(
            *matched.periods.names(matched.codes), matched.x.tolist(), matched.y.tolist(),
            strict=True,
        )
    ]  # fmt: skip
    return found, matched.link


def report_json(
    conn: Connection, filters: Filters, score: str, kpi: str, grain: str
) -> tuple[bytes, Link]:
    """`report`'s points as JSON text — byte for byte orjson's of them with sorted keys — and
    their link: written from the arrays (`array_json`), with no object made per point."""
    matched = _matched(conn, filters, score, kpi, grain)
    periods, codes = matched.periods, matched.codes
    if not len(codes):
        return b"[]", matched.link
    fields: dict[str, Parts] = {
        "location_id": [Coded([orjson.dumps(name) for name in periods.locations], codes >> 32)],
        "period": [Coded([orjson.dumps(name) for name in periods.periods], codes & _LOW)],
        "score": [texts(matched.x)],
        "kpi": [texts(matched.y)],
    }
    return b"[" + pieced(object_parts(fields), len(codes), b",")[:-1] + b"]", matched.link


@dataclass(frozen=True)
class _Matched:
    """The points as arrays: their (location, period) codes in period order, then location
    order; their scores and KPIs (to 3 digits); and their link."""

    periods: _Periods
    codes: np.ndarray
    x: np.ndarray
    y: np.ndarray
    link: Link


def _matched(conn: Connection, filters: Filters, score: str, kpi: str, grain: str) -> _Matched:
    """The location-periods with both a score and a KPI, matched and ordered as arrays."""
    periods = _Periods(grain)
    columns = day_parts.headline_counts(conn, score, filters, grain)
    score_codes, scores = _score_parts(columns, score, periods)
    # The KPIs alone: no raw answers read, whatever their number.
    top, bottom = kpi_columns(kpi)
    columns = kpi_store.daily_parts(conn, filters.location_ids, filters.day_from,
                                    filters.day_to, top, bottom)  # fmt: skip
    kpi_codes, kpis = _kpi_parts(columns, kpi, periods)
    codes, at_score, at_kpi = np.intersect1d(
        score_codes, kpi_codes, assume_unique=True, return_indices=True
    )
    order = periods.order(codes)
    codes, at_score, at_kpi = codes[order], at_score[order], at_kpi[order]
    x, y = scores[at_score], rounded(kpis[at_kpi], 3)
    return _Matched(periods, codes, x, y, _within(_dense(codes >> 32), x, y))


def _dense(values: np.ndarray) -> np.ndarray:
    """Each value's index among the distinct values."""
    found: np.ndarray = np.unique(values, return_inverse=True)[1]
    return found
