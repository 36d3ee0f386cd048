"""A report narrowed to a touchpoint reads the period rollups through their touchpoint index
(migration 0018), not by the key's range of every location's rows — on SQLite without any
statistics (nothing runs ANALYZE), on PostgreSQL with the statistics autovacuum keeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from itertools import product
from typing import Any

from sqlalchemy import Connection, event, text

from server.db import make_engine
from server.store import day_hours, rollups
from server.store.filters import Filters
from server.store.schema import (
    DAY_HOURS_CELLS,
    DAY_PARTS_SUMS,
    ROLLUP_PERIODS,
    VALUE_COLUMNS,
    rollups_day_parts,
)

FIRST_DAY = date(2026, 1, 1)
LOCATIONS, DAYS = 20, 60


def _start(period: str, d: int) -> date:
    """The d-th day, month or year from FIRST_DAY on: 60 periods of each."""
    if period == "year":
        return date(FIRST_DAY.year + d, 1, 1)
    if period == "month":
        return date(FIRST_DAY.year + d // 12, 1 + d % 12, 1)
    return FIRST_DAY + timedelta(days=d)


def _seed(conn: Connection) -> None:
    """Period rows for 20 locations × 3 touchpoints ('' none) × 60 days (months, years) ×
    2 kinds, so a statistics-driven planner sees one touchpoint as the small part of each
    period it is."""
    for table in rollups.ANY_TOUCHPOINT:
        extra = {"staff_id": ""} if "staff_id" in table.c else {}
        if "hour" in table.c:
            extra = {"weekday": 1, "hour": 9}
        rows = [
            {
                "period": period,
                "starts_on": _start(period, d),
                "location_id": f"loc{loc}",
                "touchpoint_id": tp and f"{tp}{loc}",
                **extra,
                "burst": False,
                "kind": kind,
                "scale": scale,
                **{name: 1 for name in VALUE_COLUMNS},
            }
            for period in rollups.TABLE_PERIODS.get(table, ROLLUP_PERIODS)
            for loc in range(LOCATIONS)
            for tp in ("", "tp_a", "tp_b")
            for d in range(DAYS)
            for kind, scale in (("smiley", 5), ("nps", 11))
        ]
        conn.execute(table.insert(), rows)
    # rollups_location's days (migration 0020).
    parts = {name: 1 for name in DAY_PARTS_SUMS}
    conn.execute(
        rollups_day_parts.insert(),
        [
            {"local_date": FIRST_DAY + timedelta(days=d), "location_id": f"loc{loc}",
             "touchpoint_id": tp and f"{tp}{loc}", "burst": False, "kind": kind, "scale": scale,
             **parts}
            for loc in range(LOCATIONS)
            for tp in ("", "tp_a", "tp_b")
            for d in range(DAYS)
            for kind, scale in (("smiley", 5), ("nps", 11))
        ],
    )  # fmt: skip
    # The weekday × hour tables' days, packed (migration 0022).
    cells = day_hours.stored_counts(conn.dialect.name, [1] * DAY_HOURS_CELLS)
    for table in day_hours.TABLES:
        conn.execute(
            table.insert(),
            [
                {"local_date": FIRST_DAY + timedelta(days=d), "location_id": f"loc{loc}",
                 **({"touchpoint_id": tp and f"{tp}{loc}"} if "touchpoint_id" in table.c else {}),
                 "burst": False, "kind": kind, "scale": scale, "counts": cells}
                for loc in range(LOCATIONS)
                for tp in ("", "tp_a", "tp_b")
                for d in range(DAYS)
                for kind, scale in (("smiley", 5), ("nps", 11))
                if tp == "" or "touchpoint_id" in table.c
            ],
        )  # fmt: skip


@contextmanager
def _statements(conn: Connection) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (and their parameters) run on `conn` meanwhile."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", record)


def _plan(conn: Connection, statement: str, parameters: Any) -> str:
    explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    rows = conn.exec_driver_sql(explain + statement, parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


READS: dict[str, Callable[[Connection, date, date, list[str | None]], object]] = {
    **{
        f"counts/{group_by}": (
            lambda conn, a, b, tps, group_by=group_by: rollups.counts(
                conn, group_by, Filters(a, b, None, False, tps)
            )
        )
        for group_by in rollups.GROUP_TABLES
    },
    **{
        f"count_rows/{group_by}": (
            lambda conn, a, b, tps, group_by=group_by: rollups.count_rows(
                conn, group_by, Filters(a, b, None, False, tps)
            )
        )
        for group_by in rollups.GROUP_TABLES
    },
    "burst_answers": lambda conn, a, b, tps: rollups.burst_answers(conn, "loc3", a, b, tps),
}


def _selects(seen: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(sql, params) for sql, params in seen if sql.lstrip().startswith("SELECT")]


def _select(seen: list[tuple[str, Any]]) -> tuple[str, Any]:
    [found] = _selects(seen)
    return found


def test_touchpoint_reads_use_the_touchpoint_index(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            _seed(conn)
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("ANALYZE"))  # what autovacuum does after such an insert
            for read, touchpoints in product(sorted(READS), (["tp_a3"], ["tp_a3", None])):
                # An unaligned range: days, a month and days again, three OR'ed pieces.
                with _statements(conn) as seen:
                    READS[read](conn, date(2026, 1, 10), date(2026, 3, 1), touchpoints)
                # One read, or on SQLite for weekday × hour two: the months' rows and the
                # packed days (`rollups._day_hours_columns`).
                selects = _selects(seen)
                assert len(selects) == 1 or (
                    read.endswith("weekday_hour") and conn.dialect.name == "sqlite"
                ), selects
                plan = "\n".join(_plan(conn, *select) for select in selects)
                if read == "burst_answers" and conn.dialect.name == "postgresql":
                    # One location's rows: PostgreSQL may read a small piece by the key with
                    # the location as an index condition instead; its choice, bounded either way.
                    continue
                group_by = read.partition("/")[2]
                table = rollups.GROUP_TABLES.get(group_by, rollups.rollups_location)
                # rollups_location's day pieces are read from rollups_day_parts.
                names = {"rollups_day_parts"} if group_by == "day" else {table.name}
                if table is rollups.rollups_location and group_by != "day":
                    names.add("rollups_day_parts")  # the days before and after the months
                if group_by == "weekday_hour":
                    names.add("rollups_day_hours")  # the same, packed
                for name in names:
                    assert f"ix_{name}_touchpoint" in plan, (read, touchpoints, plan)
            # Without a touchpoint filter the sums over touchpoints are read, by their key.
            with _statements(conn) as seen:
                rollups.counts(conn, "location", Filters(date(2026, 1, 10), date(2026, 3, 1)))
            statement, parameters = _select(seen)
            assert "INDEXED BY" not in statement
            assert "rollups_location_any" in statement
            assert "_touchpoint" not in _plan(conn, statement, parameters)
    finally:
        engine.dispose()
