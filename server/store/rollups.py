"""Pre-aggregated answer counts that reports read instead of raw answers.

Two levels, both upserted by ingest in its own transaction and recomputed by `rebuild`:

- `rollups`, hourly: one row per (location, touchpoint ('' for none), staff, survey version,
  question, store-local date/weekday/hour, burst, value). Alerts and the dashboard read it;
  it is also the source the coarser tables are derived from.
- Period rollups, one table per report grouping (`rollups_location`, `rollups_staff`,
  `rollups_weekday_hour`): the same counts without survey and question, summed per whole
  store-local day, month and year (`period`, `starts_on`).
- `rollups_day_parts`: the day counts of `rollups_location` with the value folded into
  columns, and each score's headline parts (`server.store.day_parts`).

A report for days from..to splits the range into at most five pieces — the days before the
first whole month, the whole months before the first whole year, the whole years, then whole
months and days again (`pieces`) — and reads each from its period's rows. Its cost is then
bounded by groups × values × (≤ 62 days + ≤ 22 months + years), whatever the number of
answers or of hourly rows. Days and hours are store-local, so months, years and DST need no
zone arithmetic here: a period is a range of `local_date`s.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Insert,
    Select,
    Table,
    and_,
    case,
    cast,
    delete,
    except_,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import BigInteger, Date

from server.store import bulk, day_parts, retention
from server.store.schema import (
    DAY_PARTS_KEY,
    DAY_PARTS_SUMS,
    ROLLUP_KEY,
    ROLLUP_PERIODS,
    answers,
    rollups,
    rollups_day_parts,
    rollups_location,
    rollups_staff,
    rollups_weekday_hour,
    submissions,
)

RollupKey = tuple[Any, ...]  # values in ROLLUP_KEY order
SelectT = TypeVar("SelectT", bound=Select[Any])

PERIOD_TABLES = (rollups_location, rollups_staff, rollups_weekday_hour)

#: The table each report grouping reads, and the columns (besides kind, scale, value) it groups by.
GROUP_TABLES: dict[str, Table] = {
    "location": rollups_location,
    "touchpoint": rollups_location,
    "staff": rollups_staff,
    "day": rollups_location,
    "weekday_hour": rollups_weekday_hour,
}
GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "location": ("location_id",),
    "touchpoint": ("location_id", "touchpoint_id"),
    "staff": ("location_id", "staff_id"),
    "day": ("location_id", "local_date"),
    "weekday_hour": ("location_id", "weekday", "hour"),
}


def _key_columns(table: Table) -> list[str]:
    return [column.name for column in table.primary_key.columns]


def period_start(period: str, day: date) -> date:
    """The first day of the day, month or year that holds `day`."""
    if period == "month":
        return day.replace(day=1)
    if period == "year":
        return day.replace(month=1, day=1)
    return day


def _upsert(conn: Connection, table: Table, counted: Counter[RollupKey]) -> None:
    """INSERT … ON CONFLICT DO UPDATE count = count + n, rows in key order (`_upsert_rows`)."""
    key = _key_columns(table)
    rows = [dict(zip(key, k, strict=True), count=n) for k, n in sorted(counted.items())]
    _upsert_rows(conn, table, rows)


def _upsert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO UPDATE adding every column outside the key, rows in key
    order: one statement (PostgreSQL: the rows as one JSON parameter; SQLite: one
    `executemany` of the driver, `server.store.bulk`).

    Key order (and the fixed order of tables in `add`) makes concurrent transactions lock
    rows in the same order, so they wait for each other instead of deadlocking.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_pg_upsert(table), {"rows": bulk.json_rows(rows)})
    else:
        bulk.sqlite_executemany(conn, _sqlite_upsert(table), table, rows)


def _on_conflict_add(stmt: Any, table: Table) -> Insert:
    key = _key_columns(table)
    added = {c.name: c + stmt.excluded[c.name] for c in table.c if c.name not in key}
    upsert: Insert = stmt.on_conflict_do_update(index_elements=key, set_=added)
    return upsert


@functools.cache
def _sqlite_upsert(table: Table) -> Insert:
    # Built once per table: building `excluded` costs more than running the statement.
    return _on_conflict_add(sqlite.insert(table), table)


@functools.cache
def _pg_upsert(table: Table) -> Insert:
    # INSERT … SELECT keeps the JSON array's order, so rows are still locked in key order.
    return _on_conflict_add(bulk.recordset_insert(table), table)


def add(conn: Connection, keys: Iterable[RollupKey]) -> None:
    """Count one answer for each hourly key, in the hourly, every period and the day-parts
    table."""
    counted = Counter(keys)
    if not counted:
        return
    _upsert(conn, rollups, counted)
    for table in PERIOD_TABLES:
        rest = _key_columns(table)[2:]  # after period and starts_on
        positions = [ROLLUP_KEY.index(name) for name in rest]
        day_at = ROLLUP_KEY.index("local_date")
        derived: Counter[RollupKey] = Counter()
        for key, n in counted.items():
            tail = tuple(key[i] for i in positions)
            for period in ROLLUP_PERIODS:
                derived[(period, period_start(period, key[day_at]), *tail)] += n
        _upsert(conn, table, derived)
    _upsert_rows(conn, rollups_day_parts, day_parts.parts(counted.items()))


def _recomputed(kept_from: date | None = None) -> Select[Any]:
    """The hourly rollup rows as recomputed from the stored answers (of store-local days from
    `kept_from` on, when given)."""
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
    query = select(*columns, func.count().label("count")).select_from(
        answers.join(submissions, a.submission_id == s.id)
    )
    if kept_from is not None:
        query = query.where(s.local_date >= kept_from)
    return query.group_by(*columns)


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
    pieces = []
    for period in ROLLUP_PERIODS:
        starts_on = _starts_on_sql(dialect, period, hourly.c.local_date)
        grouped = [starts_on, *(hourly.c[name] for name in rest)]
        pieces.append(
            select(
                literal_column(f"'{period}'").label("period"),
                starts_on.label("starts_on"),
                *(hourly.c[name] for name in rest),
                func.sum(hourly.c["count"]).label("count"),
            ).group_by(*grouped)
        )
    combined = union_all(*pieces).subquery()
    return select(*(combined.c[name] for name in (*_key_columns(table), "count")))


def derive(conn: Connection) -> None:
    """Recompute every period table and the day parts from the hourly `rollups` table."""
    for table in PERIOD_TABLES:
        conn.execute(delete(table))
        query = _derived(conn.dialect.name, table, rollups)
        conn.execute(table.insert().from_select([*_key_columns(table), "count"], query))
    conn.execute(delete(rollups_day_parts))
    columns = [*DAY_PARTS_KEY, *DAY_PARTS_SUMS]
    conn.execute(rollups_day_parts.insert().from_select(columns, day_parts.derived(rollups)))


def rebuild(conn: Connection) -> int:
    """Recompute every rollup from the stored answers; return the number of hourly rows.

    Days whose raw answers the retention purge deleted keep their hourly rows: they are
    the only record of those days left (`retention.kept_from`).
    """
    kept_from = retention.kept_from(conn, "answers")
    if kept_from is None:
        conn.execute(delete(rollups))
    else:
        conn.execute(delete(rollups).where(rollups.c.local_date >= kept_from))
    conn.execute(rollups.insert().from_select([*ROLLUP_KEY, "count"], _recomputed(kept_from)))
    derive(conn)
    return conn.execute(select(func.count()).select_from(rollups)).scalar_one()


def _mismatches(conn: Connection, stored: Select[Any], recomputed: Select[Any]) -> int:
    missing = select(func.count()).select_from(except_(recomputed, stored).subquery())
    extra = select(func.count()).select_from(except_(stored, recomputed).subquery())
    return int(conn.execute(missing).scalar_one()) + int(conn.execute(extra).scalar_one())


def differences(conn: Connection) -> int:
    """How many rows of any rollup table differ from a recomputation from the answers (and,
    for days whose answers were purged, from the hourly rows kept for them)."""
    recomputed = _expected(retention.kept_from(conn, "answers"))
    total = _mismatches(
        conn, select(*(rollups.c[name] for name in (*ROLLUP_KEY, "count"))), recomputed
    )
    hourly = recomputed.subquery()
    for table in PERIOD_TABLES:
        stored = select(*(table.c[name] for name in (*_key_columns(table), "count")))
        total += _mismatches(conn, stored, _derived(conn.dialect.name, table, hourly))
    stored = select(*(rollups_day_parts.c[name] for name in (*DAY_PARTS_KEY, *DAY_PARTS_SUMS)))
    total += _mismatches(conn, stored, day_parts.derived(hourly))
    return total


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


def _split(first: date, last: date, period: str) -> list[tuple[str, date, date]]:
    """[first, last] as whole periods in the middle and finer pieces at either end."""
    if period == "day":
        return [("day", first, last)]
    begin = first if period_start(period, first) == first else _shift(period_end(period, first), 1)
    last_start = period_start(period, last)
    end: date | None = last_start
    if period_end(period, last) != last:
        before = _shift(last_start, -1)
        end = None if before is None else period_start(period, before)
    if begin is None or end is None or begin > end:
        return _split(first, last, FINER[period])
    found = []
    if first < begin:
        found += _split(first, begin - timedelta(days=1), FINER[period])
    found.append((period, begin, end))
    if period_end(period, end) < last:
        found += _split(period_end(period, end) + timedelta(days=1), last, FINER[period])
    return found


def pieces(day_from: date, day_to: date) -> list[tuple[str, date, date]]:
    """Store-local days from..to as at most five (period, first start, last start) ranges."""
    return _split(day_from, day_to, "year")


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


def _narrowed(
    table: Table,
    ranges: list[tuple[str, date, date]],
    location_ids: list[str] | None,
    include_burst: bool,
    touchpoint_ids: list[str | None] | None,
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a period-table read: its pieces and the report's filters."""
    r = table.c
    found = [or_(*(and_(r.period == p, r.starts_on.between(a, b)) for p, a, b in ranges))]
    if location_ids is not None:
        found.append(r.location_id.in_(location_ids))
    if not include_burst:
        found.append(r.burst.is_(False))
    if touchpoint_ids is not None:
        found.append(r.touchpoint_id.in_([tp or "" for tp in touchpoint_ids]))
    return found


def _count_query(
    group_by: str,
    day_from: date,
    day_to: date,
    location_ids: list[str] | None,
    include_burst: bool,
    touchpoint_ids: list[str | None] | None,
) -> tuple[Table, list[ColumnElement[Any]], Select[Any]]:
    """The period table of `group_by`, its group columns, and a SELECT of them over the
    pieces of [from, to] under the filters (columns and grouping still to add)."""
    table = GROUP_TABLES[group_by]
    r = table.c
    ranges = [("day", day_from, day_to)] if group_by == "day" else pieces(day_from, day_to)
    group: list[ColumnElement[Any]] = [
        r.starts_on.label("local_date") if name == "local_date" else r[name]
        for name in GROUP_COLUMNS[group_by]
    ]
    where = _narrowed(table, ranges, location_ids, include_burst, touchpoint_ids)
    return table, group, select(*group).where(*where)


def counts(
    conn: Connection,
    group_by: str,
    day_from: date,
    day_to: date,
    location_ids: list[str] | None,
    include_burst: bool,
    touchpoint_ids: list[str | None] | None = None,
) -> list[dict[str, Any]]:
    """Summed counts per group, kind, scale and value, for store-local days in [from, to].

    `touchpoint_ids` narrows to answers taken at these touchpoints (None in it: at none).
    """
    table, group, query = _count_query(
        group_by, day_from, day_to, location_ids, include_burst, touchpoint_ids
    )
    r = table.c
    query = query.add_columns(r.kind, r.scale, r.value, func.sum(r["count"]).label("n"))
    query = query.group_by(*group, r.kind, r.scale, r.value)  # build_groups orders the groups
    result = conn.execute(_by_touchpoint(query, table, touchpoint_ids))
    names = list(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result]


def count_rows(
    conn: Connection,
    group_by: str,
    day_from: date,
    day_to: date,
    location_ids: list[str] | None,
    include_burst: bool,
    touchpoint_ids: list[str | None] | None = None,
) -> Sequence[Sequence[Any]]:
    """The same counts as `counts`, one row per group, kind and scale: the group columns,
    kind, scale, then the count of each answer value 0..10 (`scores.VALUES`), as
    `scores.score_groups` reads them. A fifth of the rows of `counts`, and no mapping per row.
    """
    table, group, query = _count_query(
        group_by, day_from, day_to, location_ids, include_burst, touchpoint_ids
    )
    r = table.c
    # CASE value WHEN v THEN count END: the simple form, no ELSE, costs SQLite a tenth less.
    by_value = [
        cast(func.coalesce(func.sum(case({v: r["count"]}, value=r.value)), 0), BigInteger)
        for v in range(11)
    ]
    query = query.add_columns(r.kind, r.scale, *by_value).group_by(*group, r.kind, r.scale)
    return conn.execute(_by_touchpoint(query, table, touchpoint_ids)).all()


def burst_answers(
    conn: Connection,
    location_id: str,
    day_from: date,
    day_to: date,
    touchpoint_ids: list[str | None] | None = None,
) -> int:
    """How many answers from burst-flagged taps the scores leave out (from the period rollups),
    at these touchpoints when given (None in them: at none)."""
    r = rollups_location.c
    ranges = pieces(day_from, day_to)
    query = select(func.coalesce(func.sum(r["count"]), 0)).where(
        *_narrowed(rollups_location, ranges, [location_id], True, touchpoint_ids),
        r.burst.is_(True),
    )
    return int(conn.execute(_by_touchpoint(query, rollups_location, touchpoint_ids)).scalar_one())


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
