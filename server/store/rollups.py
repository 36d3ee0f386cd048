"""Pre-aggregated answer counts that reports read instead of raw answers.

Two levels, both upserted by ingest in its own transaction and recomputed by `rebuild`:

- `rollups`, hourly: one row per (location, touchpoint ('' for none), staff, survey version,
  question, store-local date/weekday/hour, burst, value). Alerts and the dashboard read it;
  it is also the source the coarser tables are derived from.
- Period rollups, two tables per report grouping: `rollups_location`, `rollups_staff`,
  `rollups_weekday_hour` by touchpoint, and their `…_any` twins summed over the location's
  touchpoints — the same counts without survey and question, summed per whole store-local
  day, month and year (`period`, `starts_on`), one row per group, kind and scale with a
  count per answer value (`VALUE_COLUMNS`, c0..c10). A report narrowed to touchpoints, or
  grouped by them, reads the first; every other report the second. `rollups_location` and
  `rollups_weekday_hour` hold months and years only (`TABLE_PERIODS`): the first's days are
  `rollups_day_parts`' rows, the second's `rollups_day_hours`' (one row per day with every
  hour's counts packed, `server.store.day_hours`).
- `rollups_day_parts`: per location, day, touchpoint, burst, kind and scale the counts per
  value and each score's headline parts (`server.store.day_parts`).

A report for days from..to reads a few signed pieces of whole days, months and years
(`pieces`): each partial end filled from inside or cut from its whole period, whichever spans
fewer periods. Its cost is then bounded by groups × (≤ 32 days + ≤ 12 months + years),
whatever the number of answers or of hourly rows. Days and hours are store-local, so months,
years and DST need no zone arithmetic here: a period is a range of `local_date`s.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    FromClause,
    Insert,
    Integer,
    LargeBinary,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    except_,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import BigInteger, Date

from server.db import Prepared
from server.store import bulk, day_hours, day_parts, fetch_columns, fetch_tuples, retention
from server.store.filters import Filters
from server.store.schema import (
    DAY_PARTS_KEY,
    DAY_PARTS_SUMS,
    ROLLUP_KEY,
    ROLLUP_PERIODS,
    VALUE_COLUMNS,
    answers,
    pending_rollups,
    rollups,
    rollups_day_parts,
    rollups_location,
    rollups_location_any,
    rollups_staff,
    rollups_staff_any,
    rollups_weekday_hour,
    rollups_weekday_hour_any,
    submissions,
)

RollupKey = tuple[Any, ...]  # values in ROLLUP_KEY order
SelectT = TypeVar("SelectT", bound=Select[Any])

PERIOD_TABLES = (
    rollups_location,
    rollups_staff,
    rollups_weekday_hour,
    rollups_location_any,
    rollups_staff_any,
    rollups_weekday_hour_any,
)

#: The periods a table holds: `rollups_location`'s days are `rollups_day_parts`' rows (the
#: same counts per location, day, touchpoint, burst flag, kind and scale, with c0..c10), so it
#: keeps months and years only and its day pieces are read from there (`_source`); the
#: weekday × hour tables' days are `rollups_day_hours`' packed rows (`_day_hours_columns`).
TABLE_PERIODS: dict[Table, tuple[str, ...]] = {
    rollups_location: ("month", "year"),
    rollups_weekday_hour: ("month", "year"),
    rollups_weekday_hour_any: ("month", "year"),
}


def _periods(table: Table) -> tuple[str, ...]:
    return TABLE_PERIODS.get(table, ROLLUP_PERIODS)


#: The table each report grouping reads when narrowed to touchpoints (or grouped by them),
#: and the columns (besides kind and scale) it groups by.
GROUP_TABLES: dict[str, Table] = {
    "location": rollups_location,
    "touchpoint": rollups_location,
    "staff": rollups_staff,
    "day": rollups_location,
    "weekday_hour": rollups_weekday_hour,
}
#: The table a report not narrowed to touchpoints reads: the same counts summed over them.
ANY_TOUCHPOINT: dict[Table, Table] = {
    rollups_location: rollups_location_any,
    rollups_staff: rollups_staff_any,
    rollups_weekday_hour: rollups_weekday_hour_any,
}
GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "location": ("location_id",),
    "touchpoint": ("location_id", "touchpoint_id"),
    "staff": ("location_id", "staff_id"),
    "day": ("location_id", "local_date"),
    "weekday_hour": ("location_id", "weekday", "hour"),
}


# Cached: walking a Table's columns costs more than SQLite's upsert of one row, and an
# upload's rollups ask for them 13 times.
@functools.cache
def _key_columns(table: Table) -> tuple[str, ...]:
    return tuple(str(column.name) for column in table.primary_key.columns)  # plain str: orjson


@functools.cache
def _summed_columns(table: Table) -> tuple[str, ...]:
    """The columns an upsert adds to: `count` (hourly) or c0..c10 (period tables)."""
    return tuple(str(column.name) for column in table.columns if not column.primary_key)


@functools.cache
def _positions(table: Table) -> tuple[int, ...]:
    """Where a period table's key columns after period and starts_on are in ROLLUP_KEY."""
    return tuple(ROLLUP_KEY.index(name) for name in _key_columns(table)[2:])


def _table_for(group_by: str, touchpoint_ids: object) -> Table:
    table = GROUP_TABLES[group_by]
    if touchpoint_ids is None and group_by != "touchpoint":
        return ANY_TOUCHPOINT[table]
    return table


def period_start(period: str, day: date) -> date:
    """The first day of the day, month or year that holds `day`."""
    if period == "month":
        return day.replace(day=1)
    if period == "year":
        return day.replace(month=1, day=1)
    return day


def _upsert(conn: Connection, table: Table, counted: Mapping[RollupKey, Sequence[int]]) -> None:
    """INSERT … ON CONFLICT DO UPDATE adding to each column outside the key (`count`, or
    c0..c10), rows in key order (`_upsert_all`)."""
    _upsert_all(conn, [(table, sorted(counted.items()))])


def _upsert_all(
    conn: Connection, work: Sequence[tuple[Table, Sequence[tuple[RollupKey, Sequence[int]]]]]
) -> None:
    """For each table in turn, INSERT … ON CONFLICT DO UPDATE adding every column outside the
    key, of rows given as (key, sums) in key order: one statement per table (PostgreSQL: the
    rows as one JSON parameter; SQLite: one `executemany` of the driver each, all on one
    cursor, the values in the table's column order — key then sums — as `server.store.bulk`
    converts them, with no dict per row).

    Key order (and the fixed order of tables in `add`) makes concurrent transactions lock
    rows in the same order, so they wait for each other instead of deadlocking.
    """
    if conn.dialect.name == "postgresql":
        for table, rows in work:
            if rows:
                names = [*_key_columns(table), *_summed_columns(table)]
                dicts = [dict(zip(names, (*k, *n), strict=True)) for k, n in rows]
                _pg_upsert(table).all(conn, {"rows": bulk.json_rows(dicts)})
        return
    bulk.sqlite_executemany_values(
        conn,
        [(_sqlite_upsert(table), table, [(*k, *n) for k, n in rows]) for table, rows in work],
    )


def _on_conflict_add(stmt: Any, table: Table) -> Insert:
    key = _key_columns(table)
    added = {c.name: c + stmt.excluded[c.name] for c in table.c if c.name not in key}
    upsert: Insert = stmt.on_conflict_do_update(index_elements=key, set_=added)
    return upsert


@functools.cache
def _sqlite_upsert(table: Table) -> Insert:
    # Built once per table: building `excluded` costs more than running the statement.
    if table in day_hours.SQLITE_UPSERTS:  # packed cells, added by a SQL function
        return day_hours.SQLITE_UPSERTS[table]
    return _on_conflict_add(sqlite.insert(table), table)


@functools.cache
def _pg_upsert(table: Table) -> Prepared:
    # INSERT … SELECT keeps the JSON array's order, so rows are still locked in key order.
    if table in day_hours.PG_UPSERTS:  # packed cells, added element by element
        return day_hours.PG_UPSERTS[table]
    return Prepared(_on_conflict_add(bulk.recordset_insert(table), table))


def add(conn: Connection, keys: Iterable[RollupKey]) -> None:
    """Count one answer for each hourly key, in the hourly, every period and the day-parts
    table."""
    counted = Counter(keys)
    if not counted:
        return
    value_at = ROLLUP_KEY.index("value")
    width = len(VALUE_COLUMNS)
    derived: list[dict[RollupKey, list[int]]] = [{} for _ in _DERIVED_TABLES]
    for key, n in counted.items():
        value = key[value_at]
        for rows, of_table in zip(derived, _derived_keys(key[:value_at]), strict=True):
            for row_key in of_table:
                row = rows.get(row_key)
                if row is None:
                    row = rows[row_key] = [0] * width
                row[value] += n
    hourly = sorted((key, (n,)) for key, n in counted.items())
    work = [
        (table, sorted(rows.items())) for table, rows in zip(_DERIVED_TABLES, derived, strict=True)
    ]
    # The tables in a fixed order (the day-hour tables before the day parts, as before).
    packed = day_hours.rows(conn.dialect.name, counted)
    _upsert_all(conn, [(rollups, hourly), *work[:-1], *packed, work[-1]])


#: The tables an hourly count is added to besides `rollups` and the packed day-hour tables.
_DERIVED_TABLES = (*PERIOD_TABLES, rollups_day_parts)


@functools.lru_cache(maxsize=4096)
def _derived_keys(hourly: RollupKey) -> tuple[tuple[RollupKey, ...], ...]:
    """For an hourly key without its value, the key of each row it counts in, per table of
    `_DERIVED_TABLES`: a period table's day, month and year rows (`_periods`), the day-parts
    row. The answer's value picks the column (c0..c10) it counts in.

    Kept for the last few thousand keys: an upload's taps share their hours with the
    uploads before it, and working the keys out cost more than adding to them."""
    day = hourly[ROLLUP_KEY.index("local_date")]
    found = []
    for table in PERIOD_TABLES:
        tail = tuple(hourly[i] for i in _positions(table))
        found.append(
            tuple((period, period_start(period, day), *tail) for period in _periods(table))
        )
    found.append((day_parts.day_key(hourly),))
    return tuple(found)


def _recomputed(kept_from: date | None = None) -> Select[Any]:
    """The hourly rollup rows as recomputed from the stored answers (of store-local days from
    `kept_from` on, when given), leaving out the submissions still pending: the rollups count
    them only once they are folded (`server.store.pending_rollups`)."""
    s = submissions.c
    pending = exists().where(pending_rollups.c.submission_id == s.id)
    query = hourly_counts(answers.join(submissions, answers.c.submission_id == s.id))
    if kept_from is not None:
        query = query.where(s.local_date >= kept_from)
    return query.where(~pending)


def hourly_counts(joined: FromClause) -> Select[Any]:
    """The hourly rollup rows (ROLLUP_KEY, `count`) of the answers in `joined`, a join of
    `answers` and `submissions` (and what narrows them), grouped in SQL."""
    s, a = submissions.c, answers.c
    sources = {
        "location_id": s.location_id,
        "touchpoint_id": func.coalesce(s.touchpoint_id, literal("")),
        "staff_id": func.coalesce(s.staff_id, literal("")),
        "survey_id": s.survey_id,
        "survey_version": s.survey_version,
        "question_id": a.question_id,
        "kind": a.kind,
        "scale": a.scale,
        "local_date": s.local_date,
        "weekday": s.weekday,
        "hour": s.hour,
        "burst": s.burst,
        "value": a.value,
    }
    columns = [sources[name].label(name) for name in ROLLUP_KEY]
    return select(*columns, func.count().label("count")).select_from(joined).group_by(*columns)


def _expected(kept_from: date | None) -> Select[Any]:
    """The hourly rows as they should be: recomputed from the answers where they are still
    stored, and the stored rows themselves for the days whose raw answers were purged."""
    if kept_from is None:
        return _recomputed()
    names = (*ROLLUP_KEY, "count")
    purged = select(*(rollups.c[name] for name in names)).where(rollups.c.local_date < kept_from)
    combined = union_all(purged, _recomputed(kept_from)).subquery()
    return select(*(combined.c[name] for name in names))


def _starts_on_sql(dialect: str, period: str, day: ColumnElement[Any]) -> ColumnElement[Any]:
    # Literal SQL, not bound parameters: PostgreSQL must see the SELECT and GROUP BY
    # expressions as the same expression.
    if period == "day":
        return day
    if dialect == "postgresql":
        return cast(func.date_trunc(literal_column(f"'{period}'"), day), Date)
    return func.date(day, literal_column(f"'start of {period}'"))


def _derived(dialect: str, table: Table, hourly: FromClause) -> Select[Any]:
    """A period table's rows, summed from hourly rows (the table or a recomputation)."""
    rest = _key_columns(table)[2:]
    h = hourly.c
    by_value = [
        cast(func.sum(case((h.value == value, h["count"]), else_=0)), BigInteger).label(name)
        for value, name in enumerate(VALUE_COLUMNS)
    ]
    pieces = []
    for period in _periods(table):
        starts_on = _starts_on_sql(dialect, period, h.local_date)
        grouped = [starts_on, *(h[name] for name in rest)]
        pieces.append(
            select(
                literal_column(f"'{period}'").label("period"),
                starts_on.label("starts_on"),
                *(h[name] for name in rest),
                *by_value,
            ).group_by(*grouped)
        )
    combined = union_all(*pieces).subquery()
    return select(*(combined.c[column.name] for column in table.columns))


def derive(conn: Connection) -> None:
    """Recompute every period table and the day parts from the hourly `rollups` table."""
    for table in PERIOD_TABLES:
        conn.execute(delete(table))
        query = _derived(conn.dialect.name, table, rollups)
        conn.execute(table.insert().from_select([c.name for c in table.columns], query))
    conn.execute(delete(rollups_day_parts))
    columns = [*DAY_PARTS_KEY, *DAY_PARTS_SUMS]
    conn.execute(rollups_day_parts.insert().from_select(columns, day_parts.derived(rollups)))
    day_hours.derive(conn, rollups)


def rebuild(conn: Connection) -> int:
    """Recompute every rollup from the stored answers; return the number of hourly rows.

    Days whose raw answers the retention purge deleted keep their hourly rows: they are
    the only record of those days left (`retention.kept_from`).
    """
    lock_out_folds(conn)
    # Whatever was pending is counted by the recomputation: the pending rows go in the same
    # transaction. On PostgreSQL an upload committed after this DELETE keeps its pending row,
    # and `_recomputed` (a later statement, a later snapshot) leaves it out for a fold.
    conn.execute(delete(pending_rollups))
    kept_from = retention.kept_from(conn, "answers")
    if kept_from is None:
        conn.execute(delete(rollups))
    else:
        conn.execute(delete(rollups).where(rollups.c.local_date >= kept_from))
    conn.execute(rollups.insert().from_select([*ROLLUP_KEY, "count"], _recomputed(kept_from)))
    derive(conn)
    return conn.execute(select(func.count()).select_from(rollups)).scalar_one()


#: PostgreSQL's advisory lock between folds (shared) and what rewrites the rollups under them
#: (exclusive: `rebuild`, erasing a location), so neither sees the other half done.
FOLD_LOCK = int.from_bytes(hashlib.sha256(b"smiletap:fold").digest()[:8], "big", signed=True)


def lock_folds(conn: Connection, exclusive: bool) -> None:
    """Take `FOLD_LOCK` for the transaction (PostgreSQL; SQLite's write lock serializes)."""
    if conn.dialect.name == "postgresql":
        name = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn.execute(select(getattr(func, name)(literal(FOLD_LOCK, BigInteger))))


def lock_out_folds(conn: Connection) -> None:
    """Wait for running folds and keep new ones waiting until the transaction ends."""
    lock_folds(conn, exclusive=True)


def _mismatches(conn: Connection, stored: Select[Any], recomputed: Select[Any]) -> int:
    missing = select(func.count()).select_from(except_(recomputed, stored).subquery())
    extra = select(func.count()).select_from(except_(stored, recomputed).subquery())
    return int(conn.execute(missing).scalar_one()) + int(conn.execute(extra).scalar_one())


def differences(conn: Connection) -> int:
    """How many rows of any rollup table differ from a recomputation from the answers (and,
    for days whose answers were purged, from the hourly rows kept for them). Submissions still
    pending are in neither: within one snapshot the check needs no fold (and takes no write
    lock)."""
    recomputed = _expected(retention.kept_from(conn, "answers"))
    total = _mismatches(
        conn, select(*(rollups.c[name] for name in (*ROLLUP_KEY, "count"))), recomputed
    )
    hourly = recomputed.subquery()
    for table in PERIOD_TABLES:
        stored = select(*table.columns)
        total += _mismatches(conn, stored, _derived(conn.dialect.name, table, hourly))
    stored = select(*(rollups_day_parts.c[name] for name in (*DAY_PARTS_KEY, *DAY_PARTS_SUMS)))
    total += _mismatches(conn, stored, day_parts.derived(hourly))
    return total + day_hours.differences(conn, hourly)


def period_end(period: str, day: date) -> date:
    """The last day of the day, month or year that holds `day`."""
    if period == "year" or (period == "month" and day.month == 12):
        return date(day.year, 12, 31)
    if period == "month":
        return date(day.year, day.month + 1, 1) - timedelta(days=1)
    return day


def _shift(day: date, days: int) -> date | None:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


FINER = {"year": "month", "month": "day"}

#: A signed piece of a range: (sign, period, first start, last start) — whole periods from
#: `first start` to `last start`, whose counts are added (1) or taken away (-1).
Piece = tuple[int, str, date, date]


def _units(period: str, first: date, last: date) -> int:
    """How many periods a piece spans: the rows per group it reads, at most."""
    if period == "year":
        return last.year - first.year + 1
    if period == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return (last - first).days + 1


def _negated(found: tuple[Piece, ...]) -> tuple[Piece, ...]:
    return tuple((-sign, period, a, b) for sign, period, a, b in found)


@functools.lru_cache(maxsize=1024)
def _cover(first: date, last: date, period: str) -> tuple[int, tuple[Piece, ...]]:
    """The cheapest signed pieces of periods up to `period` whose counts sum to [first, last],
    and their cost in `_units`.

    Each end is either filled from inside (its partial period from finer pieces) or cut from
    outside (the whole period, less its other part from finer pieces), whichever spans fewer
    units: 15 Jan – 16 Dec is the year less 1–14 Jan and 17–31 Dec (1 + 29 units), not 17 +
    16 days and 10 months (43).
    """
    if first > last:
        return 0, ()
    if period == "day":
        return _units("day", first, last), ((1, "day", first, last),)
    finer = FINER[period]
    best = _cover(first, last, finer)
    one_day = timedelta(days=1)
    # (first whole period's start, cost, pieces) for the left end; (last one's start, …) right.
    lefts: list[tuple[date, int, tuple[Piece, ...]]] = []
    start = period_start(period, first)
    if start == first:
        lefts.append((first, 0, ()))
    else:
        after = _shift(period_end(period, first), 1)
        if after is not None:
            lefts.append((after, *_cover(first, after - one_day, finer)))
        cost, found = _cover(start, first - one_day, finer)
        lefts.append((start, cost, _negated(found)))
    rights: list[tuple[date, int, tuple[Piece, ...]]] = []
    start = period_start(period, last)
    if period_end(period, last) == last:
        rights.append((start, 0, ()))
    else:
        before = _shift(start, -1)
        if before is not None:
            rights.append((period_start(period, before), *_cover(start, last, finer)))
        cost, found = _cover(last + one_day, period_end(period, last), finer)
        rights.append((start, cost, _negated(found)))
    for begin, left_cost, left in lefts:
        for end, right_cost, right in rights:
            # The ends add up to [first, begin) and (end's period, last]: valid when the whole
            # periods begin..end fill the gap between them, or there is no gap.
            if begin <= end:
                middle: tuple[Piece, ...] = ((1, period, begin, end),)
                cost = left_cost + _units(period, begin, end) + right_cost
            elif _shift(period_end(period, end), 1) == begin:
                middle, cost = (), left_cost + right_cost
            else:
                continue
            if cost < best[0]:
                best = (cost, (*left, *middle, *right))
    return best


def pieces(day_from: date, day_to: date) -> list[Piece]:
    """Store-local days from..to as a few signed pieces of whole days, months and years
    (`_cover`): for each group, the counts of the pieces times their signs sum to the range's."""
    return list(_cover(day_from, day_to, "year")[1])


@compiles(Table, "sqlite")
def _sqlite_table(table: Table, compiler: Any, **kw: Any) -> str:
    """A table in SQLite's FROM, with its `with_hint` text after it (`INDEXED BY …`).

    SQLAlchemy renders table hints for the backends whose syntax it knows and leaves them out
    on SQLite, whose syntax for one is just that: the hint right after the table's name.
    """
    rendered: str = compiler.visit_table(table, **kw)
    hint = (kw.get("fromhints") or {}).get(table)
    return f"{rendered} {hint}" if hint and kw.get("asfrom") else rendered


def _by_touchpoint(query: SelectT, table: Table, touchpoint_ids: object) -> SelectT:
    """A period-table read narrowed to touchpoints goes through the touchpoint index.

    SQLite, without statistics (no ANALYZE), reads the key's range of each piece instead — all
    locations' rows of those days, months and years, checking each one's touchpoint — as
    the index needs a look-up per row for `count`; that range grows with the answers, the
    touchpoint's own rows hardly. `INDEXED BY` fixes the plan whatever the statistics say
    (tests/server/test_touchpoint_plans.py reads it back). PostgreSQL keeps its statistics
    itself (autovacuum) and picks the index on its own.
    """
    if touchpoint_ids is None:
        return query
    return query.with_hint(table, f"INDEXED BY ix_{table.name}_touchpoint", "sqlite")


Narrowing = tuple[list[str] | None, bool | None, list[str | None] | None]
"""A read's filters: location ids (None: all), the burst flag (None: either) and touchpoints
(None: any; a None in them: at none)."""


def _narrowed(source: Table, narrowing: Narrowing) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a rollup read for the report's filters."""
    location_ids, burst, touchpoint_ids = narrowing
    r = source.c
    found: list[ColumnElement[bool]] = []
    if location_ids is not None:
        found.append(r.location_id.in_(location_ids))
    if burst is not None:
        found.append(r.burst.is_(burst))
    if touchpoint_ids is not None:
        found.append(r.touchpoint_id.in_([tp or "" for tp in touchpoint_ids]))
    return found


def _source(table: Table, period: str) -> Table:
    """Where a piece of `table` is read: `rollups_location`'s days from `rollups_day_parts`
    (the weekday × hour tables' days are packed: `_day_hours_columns` reads them)."""
    if period in _periods(table):
        return table
    assert table not in day_hours.DAY_TABLES, "packed days are read by _day_hours_columns"
    return rollups_day_parts


def _piece_columns(source: Table, names: Sequence[str]) -> list[ColumnElement[Any]]:
    """The columns `names` of a piece's source; the day as stored (ISO text on SQLite;
    `scores` writes a date as ISO too), labelled local_date: parsing 18,000 dates cost more
    than summing their rows."""
    c = source.c
    day = c.local_date if source is rollups_day_parts else c.get("starts_on")
    return [
        type_coerce(day, String).label("local_date") if name == "local_date" else c[name]
        for name in names
    ]


def _in_piece(source: Table, period: str, first: date, last: date) -> ColumnElement[bool]:
    if source is rollups_day_parts:
        return source.c.local_date.between(first, last)
    return and_(source.c.period == period, source.c.starts_on.between(first, last))


def _signed_sums(
    table: Table,
    found: list[Piece],
    names: Sequence[str],
    narrowing: Narrowing,
    grouped: bool = True,
    summed: bool = True,
) -> Select[Any] | CompoundSelect[Any]:
    """SELECT the columns `names` and the sum of each value count over the signed pieces of
    `table`, grouped by the columns (not `grouped`: one positive piece whose rows are one per
    value of the columns already, read as they are).

    One piece (an aligned range, a day range) is one grouped read. Several are a UNION ALL
    of one read per piece, its counts negated where the piece is taken away, summed outside
    (not `summed`: the signed rows, for the caller to sum): on SQLite that also reads each
    piece by its key range, where OR'ed ranges of a WITHOUT ROWID table go through a
    MULTI-INDEX OR that keys every row it reads in a temporary index.
    """
    touchpoint_ids = narrowing[2]
    reads = []
    for sign, period, first, last in found:
        source = _source(table, period)
        r = source.c
        columns = _piece_columns(source, names)
        counts: list[ColumnElement[Any]]
        if sign > 0 and len(found) == 1:
            counts = [r[name] if not grouped else cast(func.sum(r[name]), BigInteger)
                      for name in VALUE_COLUMNS]  # fmt: skip
        else:
            counts = [(r[name] if sign > 0 else -r[name]).label(name) for name in VALUE_COLUMNS]
        query = select(*columns, *counts).where(
            _in_piece(source, period, first, last), *_narrowed(source, narrowing)
        )
        if sign > 0 and len(found) == 1 and grouped:
            query = query.group_by(*columns)
        reads.append(_by_touchpoint(query, source, touchpoint_ids))
    if len(reads) == 1 and found[0][0] == 1:
        return reads[0]
    if not summed:
        return union_all(*reads)
    united = union_all(*reads).subquery()
    outer = [united.c[name] for name in names]
    sums = [cast(func.sum(united.c[name]), BigInteger) for name in VALUE_COLUMNS]
    return select(*outer, *sums).group_by(*outer)


def count_rows(conn: Connection, group_by: str, wanted: Filters) -> Sequence[Sequence[Any]]:
    """Summed counts for store-local days in [from, to], one row per group, kind and scale:
    the group columns, kind, scale, then the count of each answer value 0..10
    (`scores.VALUES`), as `scores.score_groups` reads them.

    `wanted.touchpoint_ids` narrows to answers taken at these touchpoints (None in it: at none).
    """
    if _reads_day_hours(group_by, wanted):
        return _as_rows(_day_hours_columns(conn, group_by, wanted))
    query, taken_away = _count_query(group_by, wanted)
    rows: Sequence[Sequence[Any]] = fetch_tuples(conn, query)  # no SQLAlchemy row each
    if taken_away:
        # A group, kind and scale answered only on the days taken away sums to nothing: the
        # report has no row for it, as when those days are not read at all.
        width = len(GROUP_COLUMNS[group_by]) + 2
        rows = [row for row in rows if any(row[width:])]
    return rows


@dataclasses.dataclass
class CountColumns:
    """`count_rows` column by column (`count_columns`), for `scores.groups_json`."""

    groups: list[Any]  # each group column (`GROUP_COLUMNS`) by row: a list, or an int array
    kinds: list[str]
    scales: np.ndarray
    counts: np.ndarray  # per row, the count of each answer value 0..10


def count_columns(conn: Connection, group_by: str, wanted: Filters) -> CountColumns:
    """`count_rows`, read column by column (`fetch_columns`): a year by day is 18,000 rows.

    On SQLite the signed pieces of a range not made of whole periods are summed here, with
    numpy: SQLite's GROUP BY sorts their rows in a temporary b-tree, which for the 25,000 rows
    of 15 Jan – 16 Dec by weekday × hour at 10M answers cost more than the rest of the report.
    PostgreSQL sums them itself (a hash aggregate), as its rows come as Python objects.
    """
    if _reads_day_hours(group_by, wanted):
        return _day_hours_columns(conn, group_by, wanted)
    in_numpy = conn.dialect.name == "sqlite"
    query, taken_away = _count_query(group_by, wanted, summed=not in_numpy)
    width = len(GROUP_COLUMNS[group_by])
    columns = fetch_columns(conn, query)
    groups, (kinds, scales) = columns[:width], columns[width : width + 2]
    counts = np.stack(columns[width + 2 :], axis=1)
    if taken_away:
        at = np.arange(len(kinds))
        if in_numpy:  # one row per group, kind and scale, as the SQL sum makes them
            row_key, at, _ = key_ids([*groups, kinds, scales])
            summed = np.zeros((len(at), counts.shape[1]), np.int64)
            np.add.at(summed, row_key, counts)
            counts = summed
        kept = counts.any(axis=1)  # as in `count_rows`
        at, counts = at[kept], counts[kept]
        groups = [
            column[at] if isinstance(column, np.ndarray) else _taken(column, at)
            for column in groups
        ]
        kinds, scales = _taken(kinds, at), scales[at]
    return CountColumns(groups, kinds, scales, counts)


def _taken(values: list[Any], at: np.ndarray) -> list[Any]:
    return [values[i] for i in at.tolist()]


def _as_rows(counted: CountColumns) -> list[tuple[Any, ...]]:
    """`count_columns`' columns as `count_rows`' rows."""
    groups = [column if isinstance(column, list) else column.tolist() for column in counted.groups]
    values = counted.counts.T.tolist()
    return list(zip(*groups, counted.kinds, counted.scales.tolist(), *values, strict=True))


def _reads_day_hours(group_by: str, wanted: Filters) -> bool:
    """Whether the read has day pieces of a weekday × hour table (packed rows)."""
    table = _table_for(group_by, wanted.touchpoint_ids)
    found = _found(group_by, wanted)
    return table in day_hours.DAY_TABLES and any(period == "day" for _, period, *_ in found)


def _day_hours_columns(conn: Connection, group_by: str, wanted: Filters) -> CountColumns:
    """`count_columns` of a range with days of a weekday × hour table: the month and year
    pieces' signed rows and the day pieces' packed rows (`day_hours.day_reads`), summed by
    `day_hours.weekday_hour_sums`.

    The day rows are one per location, day and kind whatever the answers; as rows per hour
    they were most of such a report's cost, and grew with the answers until every hour of
    every day was filled.

    Both parts must come from one snapshot (a piece taken away must be the one added): on
    SQLite they are two reads in the caller's transaction (WAL keeps its snapshot; the
    month and year rows come column by column, `fetch_columns`, cheaper than tuples); on
    PostgreSQL, where each statement of a READ COMMITTED transaction sees its own, one
    UNION ALL of both.
    """
    table = _table_for(group_by, wanted.touchpoint_ids)
    narrowing = _narrowing(wanted)
    found = _found(group_by, wanted)
    names = (*GROUP_COLUMNS[group_by], "kind", "scale")
    source = day_hours.DAY_TABLES[table]

    def where(days: Table, first: date, last: date) -> list[ColumnElement[bool]]:
        return [days.c.local_date.between(first, last), *_narrowed(days, narrowing)]

    days = [(sign, first, last) for sign, period, first, last in found if period == "day"]
    reads = [
        _by_touchpoint(read, source, wanted.touchpoint_ids)
        for read in day_hours.day_reads(conn, source, days, where)
    ]
    packed: Select[Any] | CompoundSelect[Any] = reads[0] if len(reads) == 1 else union_all(*reads)
    whole = [piece for piece in found if piece[1] != "day"]
    packed_rows: Sequence[Sequence[Any]]
    if not whole:
        coarse, packed_rows = None, fetch_tuples(conn, packed)
    else:
        # One row per group, kind and scale already where `_count_query` says so.
        keyed = {"period", "starts_on", "burst", "kind", "scale", *GROUP_COLUMNS[group_by]}
        one_row_each = (
            not wanted.include_burst
            and set(_key_columns(table)) <= keyed
            and len(whole) == 1
            and whole[0][2] == whole[0][3]
        )
        rows = _signed_sums(table, whole, names, narrowing, not one_row_each, summed=False)
        if conn.dialect.name == "sqlite":
            coarse = _coarse(fetch_columns(conn, rows), len(names))
            packed_rows = fetch_tuples(conn, packed)
        else:
            coarse, packed_rows = _coarse_and_packed(conn, rows, packed, group_by)
    groups, kinds, scales, counts = day_hours.weekday_hour_sums(
        conn.dialect.name, coarse, packed_rows
    )
    return CountColumns(groups, kinds, scales, counts)


def _coarse(columns: list[Any], width: int) -> day_hours.Coarse:
    """Columns of month and year rows (group columns, kind, scale, c0..c10) as
    `day_hours.weekday_hour_sums` takes them."""
    locations, weekdays, hours, kinds, scales = columns[:width]
    counts = np.stack(columns[width:], axis=1) if len(kinds) else np.zeros((0, len(VALUE_COLUMNS)))
    return locations, weekdays, hours, kinds, scales, counts.astype(np.int64)


def _coarse_and_packed(
    conn: Connection,
    rows: Select[Any] | CompoundSelect[Any],
    packed: Select[Any] | CompoundSelect[Any],
    group_by: str,
) -> tuple[day_hours.Coarse, list[Sequence[Any]]]:
    """PostgreSQL: month and year rows and packed day rows in one statement, NULLs padding
    each to the other's columns."""
    c, p = list(rows.subquery().c), packed.subquery().c  # c: groups, kind, scale, c0..c10
    padding: list[ColumnElement[Any]] = [
        cast(null(), String).label("local_date"),
        cast(null(), Integer).label("sign"),
        cast(null(), LargeBinary).label("counts"),
    ]
    query = union_all(
        select(*c, *padding),
        select(
            p.location_id,
            *(cast(null(), Integer) for _ in GROUP_COLUMNS[group_by][1:]),
            p.kind,
            p.scale,
            *(cast(null(), BigInteger) for _ in VALUE_COLUMNS),
            p.local_date,
            p.sign,
            p.counts,
        ),
    )
    width = len(GROUP_COLUMNS[group_by]) + 2
    coarse: list[Sequence[Any]] = []
    packed_rows: list[Sequence[Any]] = []
    for row in fetch_tuples(conn, query):
        if row[-1] is None:
            coarse.append(row[:-3])
        else:
            packed_rows.append((row[0], *row[width - 2 : width], *row[-3:]))
    columns = list(zip(*coarse, strict=True)) or [()] * (width + len(VALUE_COLUMNS))
    found = [
        list(column) if i in (0, width - 2) else np.array(column, np.int64)
        for i, column in enumerate(columns)
    ]
    return _coarse(found, width), packed_rows


def key_ids(
    columns: Sequence[Any],
) -> tuple[np.ndarray, np.ndarray, list[tuple[list[Any], np.ndarray]]]:
    """Number the distinct keys of rows given column by column (a column: a list, or an int
    array), a key being a row's values in `columns`, in the reports' key order: by the text of
    each part (`str`), column by column.

    Returns each row's key, each key's first row, and per column its distinct values (in that
    order) with each row's index among them.
    """
    code, radix = np.zeros(len(columns[0]), np.int64), 1
    found = []
    for column in columns:
        values, codes = _ranks(column)
        code, radix = code * len(values) + codes, radix * len(values)
        if radix > 2**32:  # renumbered densely, so the combined code stays below rows²
            code = _dense(code, radix)[0]
            radix = len(column)
        found.append((values, codes))
    key, first = _dense(code, radix)
    return key, first, found


def _dense(code: np.ndarray, radix: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes below `radix` renumbered 0, 1, … in their order; and each new number's first
    place. With few possible codes by counting them (no sort: keys of 25,000 rows are read
    per report)."""
    if radix > 4 * len(code) + 1024:
        _, first, dense = np.unique(code, return_index=True, return_inverse=True)
        return dense.reshape(-1), first
    seen = np.zeros(radix, bool)
    seen[code] = True
    number = np.cumsum(seen) - 1
    first = np.zeros(int(number[-1]) + 1 if radix else 0, np.intp)
    first[number[code[::-1]]] = np.arange(len(code) - 1, -1, -1)  # the last write wins
    return number[code], first


def _ranks(column: Any) -> tuple[list[Any], np.ndarray]:
    """A column's distinct values ordered by their text, and each row's index among them."""
    if isinstance(column, np.ndarray):  # whole numbers: numpy finds them, ordered by number
        low = int(column.min(initial=0))
        at, where = _dense(column - low, int(column.max(initial=0)) - low + 1)
        values = column[where].tolist()
        by_text = sorted(range(len(values)), key=lambda i: str(values[i]))
        rank = np.empty(len(values), np.int64)
        rank[by_text] = np.arange(len(values))
        return [values[i] for i in by_text], rank[at]
    values = sorted(dict.fromkeys(column), key=str)
    index = {value: i for i, value in enumerate(values)}
    return values, np.fromiter(map(index.__getitem__, column), np.int64, len(column))


def _count_query(
    group_by: str, wanted: Filters, summed: bool = True
) -> tuple[Select[Any] | CompoundSelect[Any], bool]:
    """The read of `count_rows`, and whether it takes pieces away (a range not made of whole
    periods); not `summed`: several pieces' signed rows, unsummed (`_signed_sums`)."""
    include_burst = wanted.include_burst
    table = _table_for(group_by, wanted.touchpoint_ids)
    names = (*GROUP_COLUMNS[group_by], "kind", "scale")
    found = _found(group_by, wanted)
    narrowing = _narrowing(wanted)
    # Without burst taps, a row is one group, kind and scale when the key's other columns
    # are grouped by and the piece is one period (or grouped by day): a year by weekday ×
    # hour is then 4,900 rows read as they are, with no sort to sum them.
    keyed = {"period", "starts_on", "burst", "kind", "scale", *GROUP_COLUMNS[group_by]}
    one_row_each = (
        not include_burst
        and set(_key_columns(table)) <= keyed
        and len(found) == 1
        and (group_by == "day" or found[0][2] == found[0][3])
    )
    query = _signed_sums(table, found, names, narrowing, not one_row_each, summed)
    return query, any(sign < 0 for sign, *_ in found)


def _found(group_by: str, wanted: Filters) -> list[Piece]:
    """The signed pieces a report reads (by day: the days themselves)."""
    if group_by == "day":
        return [(1, "day", wanted.day_from, wanted.day_to)]
    return pieces(wanted.day_from, wanted.day_to)


def _narrowing(wanted: Filters) -> Narrowing:
    burst = None if wanted.include_burst else False
    return wanted.location_ids, burst, wanted.touchpoint_ids


def counts(conn: Connection, group_by: str, wanted: Filters) -> list[dict[str, Any]]:
    """`count_rows` as one mapping per group, kind, scale and answer value (`value`, `n`),
    for the values answered at least once."""
    width = len(GROUP_COLUMNS[group_by])
    names = (*GROUP_COLUMNS[group_by], "kind", "scale")
    rows = count_rows(conn, group_by, wanted)
    if group_by == "day":  # count_rows leaves the day as stored: ISO text on SQLite
        day_at = names.index("local_date")
        rows = [(*row[:day_at], _as_date(row[day_at]), *row[day_at + 1 :]) for row in rows]
    return [
        {**dict(zip(names, row[: width + 2], strict=True)), "value": value, "n": n}
        for row in rows
        for value, n in enumerate(row[width + 2 :])
        if n
    ]


def _as_date(day: date | str) -> date:
    return day if isinstance(day, date) else date.fromisoformat(day)


def burst_answers(
    conn: Connection,
    location_id: str,
    day_from: date,
    day_to: date,
    touchpoint_ids: list[str | None] | None = None,
) -> int:
    """How many answers from burst-flagged taps the scores leave out (from the period rollups),
    at these touchpoints when given (None in them: at none)."""
    table = rollups_location_any if touchpoint_ids is None else rollups_location
    query = _signed_sums(table, pieces(day_from, day_to), [], ([location_id], True, touchpoint_ids))
    return sum(int(n or 0) for row in conn.execute(query) for n in row)  # NULL: no rows


def value_counts(
    conn: Connection, location_id: str, day_from: date, day_to: date
) -> dict[tuple[str, str, int], dict[int, int]]:
    """Non-burst answer counts per (question, kind, scale) and value, from the hourly rollups."""
    r = rollups.c
    rows = conn.execute(
        select(r.question_id, r.kind, r.scale, r.value, func.sum(r["count"]).label("n"))
        .where(
            r.location_id == location_id,
            r.local_date >= day_from,
            r.local_date <= day_to,
            r.burst.is_(False),
        )
        .group_by(r.question_id, r.kind, r.scale, r.value)
    )
    found: dict[tuple[str, str, int], dict[int, int]] = {}
    for row in rows:
        found.setdefault((row.question_id, row.kind, row.scale), {})[row.value] = int(row.n)
    return found
