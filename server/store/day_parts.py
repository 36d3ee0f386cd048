"""What `rollups_day_parts` holds: per location, store-local day, touchpoint, burst flag,
question kind and scale, the count of each answer value 0..10 — `rollups_location`'s days —
and the link report's read of a kind's headline parts per location and day or week.

`server.store.rollups` writes the rows beside the other rollups (ingest's upsert, `derive`,
`differences`); this module says what a row is made of, in Python for ingest (`parts`) and
in SQL for the rebuild and the check (`derived`), and reads the headline parts (n, happy,
unhappy, the answers' sum) the link report's points are scored from (`headline_counts`).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    FromClause,
    Integer,
    Select,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from server.store import fetch_columns
from server.store.filters import Filters
from server.store.schema import (
    DAY_PARTS_KEY,
    DAY_PARTS_SUMS,
    DAY_PARTS_VALUES,
    ROLLUP_KEY,
    rollups_day_parts,
    rollups_location_any,
)
from shared.scoring import is_happy, is_unhappy
from shared.survey import ALLOWED_SCALES, value_range

_KEY_AT = tuple(ROLLUP_KEY.index(name) for name in DAY_PARTS_KEY)
_VALUE_AT = ROLLUP_KEY.index("value")


def parts(counted: Iterable[tuple[tuple[Any, ...], int]]) -> list[dict[str, Any]]:
    """The day-parts rows of (hourly rollup key, count) pairs, in key order (the order rows
    are locked in, as for the other rollups)."""
    return [
        {**dict(zip(DAY_PARTS_KEY, key, strict=True)),
         **dict(zip(DAY_PARTS_SUMS, row, strict=True))}
        for key, row in sums(counted)
    ]  # fmt: skip


def sums(counted: Iterable[tuple[tuple[Any, ...], int]]) -> list[tuple[tuple[Any, ...], list[int]]]:
    """`parts` as (key, sums) pairs: each row's DAY_PARTS_KEY values, then its DAY_PARTS_SUMS."""
    found: dict[tuple[Any, ...], list[int]] = {}
    for key, n in counted:
        row = found.get(day_key(key))
        if row is None:
            found[day_key(key)] = row = [0] * len(DAY_PARTS_SUMS)
        row[key[_VALUE_AT]] += n
    return sorted(found.items())


def day_key(hourly: tuple[Any, ...]) -> tuple[Any, ...]:
    """The DAY_PARTS_KEY values of the row an hourly rollup key (with or without its value)
    counts in."""
    return tuple(hourly[i] for i in _KEY_AT)


def derived(rows: FromClause) -> Select[Any]:
    """The table's rows summed from hourly-shaped rows (local_date, location_id,
    touchpoint_id, burst, kind, scale, value, count): the hourly table, a recomputation from
    the answers, or the day rows of `rollups_location` (`starts_on` labelled local_date)."""
    h = rows.c
    count = h["count"]

    def total(expression: ColumnElement[Any]) -> ColumnElement[Any]:
        return cast(func.coalesce(func.sum(expression), 0), BigInteger)

    sums = [total(case({v: count}, value=h.value)) for v in DAY_PARTS_VALUES]
    key = [h[name] for name in DAY_PARTS_KEY]
    labelled = [s.label(name) for s, name in zip(sums, DAY_PARTS_SUMS, strict=True)]
    return select(*key, *labelled).group_by(*key)


#: Beside n, the parts of a kind's headline (`shared.scoring`): NPS promoters and detractors,
#: the satisfied or upper-half count of CSAT and smiley, the sum of the CES answers.
HEADLINE_PARTS = {
    "nps": ("happy", "unhappy"),
    "csat": ("happy",),
    "ces": ("total",),
    "smiley": ("happy",),
}


class day_number(FunctionElement[int]):
    """A day as a whole number: the days since 0001-01-01 (`date.fromordinal(1 + n)` is the
    day). Reports read days as these, not as text or dates: numpy takes 18,000 numbers from
    one JSON array with no Python object each, where texts cost one each and a look-up."""

    type = Integer()
    inherit_cache = True


@compiles(day_number, "sqlite")
def _day_number_sqlite(element: FunctionElement[int], compiler: Any, **kw: Any) -> str:
    # julianday of a day is N.5 (midnight); 1721425.5 is 0001-01-01's.
    day = compiler.process(element.clauses, **kw)
    return f"(CAST(julianday({day}) AS INTEGER) - 1721425)"


@compiles(day_number, "postgresql")
def _day_number_postgresql(element: FunctionElement[int], compiler: Any, **kw: Any) -> str:
    day = compiler.process(element.clauses, **kw)
    return f"({day} - DATE '0001-01-01')"


def day_of(number: int) -> date:
    """The day of a `day_number`."""
    return date.fromordinal(1 + number)


class _week_number(FunctionElement[int]):
    """The week a day falls in, counted in whole weeks from Monday 0001-01-01 (so Monday to
    Sunday; `week_monday` is its Monday)."""

    type = Integer()
    inherit_cache = True


@compiles(_week_number, "sqlite")
def _week_number_sqlite(element: _week_number, compiler: Any, **kw: Any) -> str:
    return f"({_day_number_sqlite(element, compiler, **kw)} / 7)"


@compiles(_week_number, "postgresql")
def _week_number_postgresql(element: _week_number, compiler: Any, **kw: Any) -> str:
    return f"({_day_number_postgresql(element, compiler, **kw)} / 7)"


def week_monday(week: int) -> date:
    """The Monday of a `headline_counts` week number."""
    return date.fromordinal(1 + 7 * week)


def _value_span(kind: str) -> tuple[int, int]:
    """The lowest and highest answer value a kind takes on any of its scales."""
    ranges = [value_range(kind, scale) for scale in ALLOWED_SCALES[kind]]
    return min(low for low, _ in ranges), max(high for _, high in ranges)


def _part(kind: str, part: str, r: Any) -> ColumnElement[Any]:
    """One headline part of a row of value counts, in SQL: on each of the kind's scales
    (`ALLOWED_SCALES`) the sum of the counts `shared.scoring` puts in it (the sum of the
    answers for "total"); one expression where every scale has the same cut-off."""
    by_scale = {}
    for scale in ALLOWED_SCALES[kind]:
        low, high = value_range(kind, scale)  # the other counts are 0 (see `_value_span`)
        if part == "total":
            weights = tuple(v if low <= v <= high else 0 for v in DAY_PARTS_VALUES)
        else:
            counted = is_happy if part == "happy" else is_unhappy
            weights = tuple(int(low <= v <= high and counted(kind, scale, v))
                            for v in DAY_PARTS_VALUES)  # fmt: skip
        by_scale[scale] = weights

    def summed(weights: tuple[int, ...]) -> ColumnElement[Any]:
        terms = [r[name] if w == 1 else r[name] * w
                 for name, w in zip(DAY_PARTS_SUMS, weights, strict=True) if w]  # fmt: skip
        return functools.reduce(operator.add, terms) if terms else literal(0)

    if len(set(by_scale.values())) == 1:
        return summed(next(iter(by_scale.values())))
    return case({scale: summed(w) for scale, w in by_scale.items()}, value=r.scale)


def headline_counts(conn: Connection, kind: str, filters: Filters, grain: str) -> list[Any]:
    """Per location, period and scale, n and the `HEADLINE_PARTS` of `kind`'s answers under
    the filters — what a period's headline score is made of (the point scores of the link
    report), summed in SQL from the value counts: aligned columns (`fetch_columns`) of
    location ids, periods, scales, n and each part.

    `grain` "day": the period is the store-local day as stored (ISO text on SQLite, a date on
    PostgreSQL), and a location-day-scale may come in several rows (burst and not, several
    touchpoints): the caller adds them up — one row per location-day is the common case,
    and a GROUP BY would cost SQLite more than the reading. "week": the period is the week
    number (`week_monday`), grouped in SQL (a seventh of the rows to read).

    The day rows are `rollups_location_any`'s (summed over the touchpoints: one row per
    location-day and scale, 18,250 a year at 50 locations whatever the number of answers)
    or, narrowed to touchpoints, `rollups_day_parts`'s through its touchpoint index.
    """
    narrowed = filters.touchpoint_ids is not None
    by_location = filters.location_ids is not None
    params: dict[str, Any] = {"day_from": filters.day_from, "day_to": filters.day_to}
    if filters.location_ids is not None:
        params["location_ids"] = filters.location_ids
    if filters.touchpoint_ids is not None:
        params["touchpoint_ids"] = [tp or "" for tp in filters.touchpoint_ids]
    query = _headline_query(kind, grain, narrowed, by_location, filters.include_burst)
    return fetch_columns(conn, query, params)


@functools.cache
def _headline_query(
    kind: str, grain: str, narrowed: bool, by_location: bool, include_burst: bool
) -> Select[Any]:
    """`headline_counts`' query, with the filters as parameters: made once per shape (its few
    hundred expression objects cost more to make, and to make a cache key of, than the
    reading of 18,000 rows)."""
    table = rollups_day_parts if narrowed else rollups_location_any
    r = table.c
    day: ColumnElement[Any] = r.local_date if narrowed else r.starts_on
    where = [day >= bindparam("day_from"), day <= bindparam("day_to"), r.kind == kind]
    if narrowed:
        where.append(r.touchpoint_id.in_(bindparam("touchpoint_ids", expanding=True)))
    else:
        where.append(r.period == "day")
    if by_location:
        where.append(r.location_id.in_(bindparam("location_ids", expanding=True)))
    if not include_burst:
        where.append(r.burst.is_(False))
    # Only the counts of values the kind can take (ingest refuses others: value_out_of_range):
    # each count a row adds costs SQLite about as much as reading one more column.
    low, high = _value_span(kind)
    n = functools.reduce(operator.add, [r[f"c{v}"] for v in range(low, high + 1)])
    parts = [n, *(_part(kind, part, r) for part in HEADLINE_PARTS[kind])]
    if grain == "day":
        query = select(r.location_id, day_number(day), r.scale, *parts)
    else:
        week = _week_number(day)
        sums = (cast(func.sum(part), BigInteger) for part in parts)
        query = select(r.location_id, week, r.scale, *sums).group_by(week, r.location_id, r.scale)
    if narrowed:  # see rollups._by_touchpoint
        hint = "INDEXED BY ix_rollups_day_parts_touchpoint"
        query = query.with_hint(rollups_day_parts, hint, "sqlite")
    return query.where(*where)
