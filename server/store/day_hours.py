"""What `rollups_day_hours` and `rollups_day_hours_any` hold: per store-local day, location,
touchpoint (or summed over them), burst flag, kind and scale, the count of each answer value
0..10 at each store-local hour, packed in one row — `rollups_weekday_hour`'s days.

A report by weekday × hour over a range with partial months reads those months' days (the
signed day pieces of `rollups.pieces`). As one row per hour they grew with the answers until
every opening hour of every day had one (at a year of 50 locations: ~6,500 rows at 100k
answers, 20,300 at 10M); packed, they are one row per location and day at any size, and
numpy sums their cells per weekday.

The packing: cell 11 × hour + value (`schema.DAY_HOURS_CELLS`), a 32-bit count each (a cell
would need 2³¹ answers of one value in one hour at one location to overflow). SQLite keeps
them as a little-endian blob, which the upsert adds to with `server.db.add_int32_cells`;
PostgreSQL as an integer[] the upsert adds to element by element, read back in its binary
form (`array_send`) so no Python int is made per cell.

`server.store.rollups` upserts the rows beside the other rollups (`rows`), recomputes and checks
them (`derive`, `differences`) and reads them (`day_reads`, `weekday_hour_sums`); this module owns
the packing in all four.
"""

from __future__ import annotations

import functools
import itertools
import struct
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    FromClause,
    Insert,
    Integer,
    LargeBinary,
    Select,
    String,
    Table,
    case,
    cast,
    delete,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects import sqlite

from server.db import Prepared
from server.store import bulk
from server.store.schema import (
    DAY_HOURS_CELLS,
    ROLLUP_KEY,
    rollups_day_hours,
    rollups_day_hours_any,
    rollups_weekday_hour,
    rollups_weekday_hour_any,
)

HOURS = 24
WIDTH = DAY_HOURS_CELLS // HOURS  # answer values 0..10
TABLES = (rollups_day_hours, rollups_day_hours_any)
#: Where each weekday × hour table's days are.
DAY_TABLES: dict[Table, Table] = {
    rollups_weekday_hour: rollups_day_hours,
    rollups_weekday_hour_any: rollups_day_hours_any,
}
_PACKED = struct.Struct(f"<{DAY_HOURS_CELLS}i")
_HOUR_AT, _VALUE_AT = ROLLUP_KEY.index("hour"), ROLLUP_KEY.index("value")
#: A day piece: (sign, first day, last day).
DayPiece = tuple[int, date, date]
Rows = dict[tuple[Any, ...], list[int]]  # a table's rows: key → cells


@functools.cache
def _key(table: Table) -> tuple[str, ...]:
    return tuple(column.name for column in table.primary_key.columns)


@functools.cache
def _key_at(table: Table) -> tuple[int, ...]:
    return tuple(ROLLUP_KEY.index(name) for name in _key(table))


def _cells(table: Table, counted: Iterable[tuple[Sequence[Any], int]]) -> Rows:
    """The table's rows of (hourly rollup key, count) pairs: key → every cell's count."""
    at = _key_at(table)
    found: Rows = {}
    for key, n in counted:
        row = found.setdefault(tuple(key[i] for i in at), [0] * DAY_HOURS_CELLS)
        row[WIDTH * key[_HOUR_AT] + key[_VALUE_AT]] += n
    return found


def stored_counts(dialect: str, cells: Sequence[int]) -> Any:
    """Cells as the table's column takes them: a blob on SQLite, a JSON array on PostgreSQL
    (read by `json_to_recordset` into an integer[])."""
    return _PACKED.pack(*cells) if dialect == "sqlite" else cells


def _write(
    conn: Connection, table: Table, found: Iterable[tuple[tuple[Any, ...], list[int]]]
) -> None:
    """Upsert rows (key, cells), adding the cells to a stored row's, in the order given."""
    dialect = conn.dialect.name
    names = (*_key(table), "counts")
    rows = [
        dict(zip(names, (*key, stored_counts(dialect, cells)), strict=True)) for key, cells in found
    ]
    if not rows:
        return
    if dialect == "postgresql":
        _pg_upsert(table).all(conn, {"rows": bulk.json_rows(rows)})
    else:
        bulk.sqlite_executemany(conn, _sqlite_upsert(table), table, rows)


@functools.cache
def _sqlite_upsert(table: Table) -> Insert:
    stmt = sqlite.insert(table)
    added: ColumnElement[bytes] = func.add_int32_cells(
        table.c.counts, stmt.excluded.counts, type_=LargeBinary
    )
    upsert: Insert = stmt.on_conflict_do_update(index_elements=_key(table), set_={"counts": added})
    return upsert


@functools.cache
def _pg_upsert(table: Table) -> Prepared:
    # Element by element, in order: the stored array and the added one have the same length.
    added: ColumnElement[Any] = literal_column(
        "(SELECT array_agg(cell.a + cell.b ORDER BY cell.i) FROM"
        f" unnest({table.name}.counts, excluded.counts) WITH ORDINALITY AS cell(a, b, i))"
    )
    stmt = bulk.recordset_insert(table)
    return Prepared(stmt.on_conflict_do_update(index_elements=_key(table), set_={"counts": added}))


#: Each table's upsert, adding the cells to a stored row's (`rollups._upsert_all` runs them).
SQLITE_UPSERTS = {table: _sqlite_upsert(table) for table in TABLES}
PG_UPSERTS = {table: _pg_upsert(table) for table in TABLES}


def rows(dialect: str, counted: dict[tuple[Any, ...], int]) -> list[tuple[Table, Any]]:
    """Each hourly key's answers counted in both tables: per table its rows as (key,
    (cells as stored,)) in key order (the order rows are locked in, as for the other
    rollups)."""
    return [
        (table, [(key, (stored_counts(dialect, cells),)) for key, cells in sorted(found.items())])
        for table in TABLES
        for found in (_cells(table, counted.items()),)
    ]


def _derived(conn: Connection, table: Table, hourly: FromClause) -> Iterator[tuple[date, Rows]]:
    """The table's rows summed from hourly rows (the table or a recomputation), day by day:
    (day, key → cells), streamed so a rebuild holds one day's rows at a time. The database
    sums each hour's values into 11 columns (one row per key and hour, not per value: a fifth
    of the rows for Python to place)."""
    h = hourly.c
    key = [h[name] for name in _key(table)]
    by_value = [
        cast(func.sum(case((h.value == value, h["count"]), else_=0)), BigInteger)
        for value in range(WIDTH)
    ]
    query = (
        select(*key, h.hour, *by_value)
        .group_by(*key, h.hour)
        .order_by(h.local_date)
        .execution_options(yield_per=10_000)
    )
    width = len(key)
    for day, of_day in itertools.groupby(conn.execute(query), key=lambda row: row[0]):
        found: Rows = {}
        for row in of_day:
            row_key = tuple(row[:width])
            cells = found.get(row_key)
            if cells is None:
                cells = found[row_key] = [0] * DAY_HOURS_CELLS
            at = WIDTH * row[width]
            cells[at : at + WIDTH] = row[width + 1 :]  # one row per key and hour
        yield _as_date(day), found


def derive(conn: Connection, hourly: FromClause) -> None:
    """Recompute both tables from the hourly rollup rows."""
    for table in TABLES:
        conn.execute(delete(table))
        batch: list[tuple[tuple[Any, ...], list[int]]] = []
        for _, found in _derived(conn, table, hourly):
            batch += sorted(found.items())
            if len(batch) >= 2_000:
                _write(conn, table, batch)
                batch = []
        _write(conn, table, batch)


def as_cells(stored: Any) -> list[int]:
    """A stored row's cells: from SQLite's blob or PostgreSQL's list."""
    return list(_PACKED.unpack(stored)) if isinstance(stored, bytes) else list(stored)


def _stored_rows(conn: Connection, table: Table) -> Iterator[tuple[date, Rows]]:
    key = [table.c[name] for name in _key(table)]
    query = select(*key, table.c.counts).order_by(table.c.local_date)
    query = query.execution_options(yield_per=2_000)
    for day, of_day in itertools.groupby(conn.execute(query), key=lambda row: row[0]):
        yield _as_date(day), {tuple(row[:-1]): as_cells(row[-1]) for row in of_day}


def differences(conn: Connection, hourly: FromClause) -> int:
    """How many rows of either table differ from a recomputation from hourly rows (missing,
    extra, or with other counts), compared day by day."""
    total = 0
    for table in TABLES:
        stored, derived = _stored_rows(conn, table), _derived(conn, table, hourly)
        a, b = next(stored, None), next(derived, None)
        while a is not None or b is not None:
            if b is None or (a is not None and a[0] < b[0]):
                assert a is not None
                total, a = total + len(a[1]), next(stored, None)
            elif a is None or b[0] < a[0]:
                total, b = total + len(b[1]), next(derived, None)
            else:
                keys = a[1].keys() | b[1].keys()
                total += sum(a[1].get(key) != b[1].get(key) for key in keys)
                a, b = next(stored, None), next(derived, None)
    return total


def _as_date(day: date | str) -> date:
    return day if isinstance(day, date) else date.fromisoformat(day)


def day_reads(
    conn: Connection, table: Table, found: Sequence[DayPiece], where: Any
) -> list[Select[Any]]:
    """A read per day piece of `table` (a `DAY_TABLES` one): location, kind, scale, the day
    (as stored: ISO text on SQLite), the piece's sign and the packed cells (PostgreSQL: the
    array's binary form), for `day_columns`. `where(table, first, last)`: a piece's
    conditions."""
    c = table.c
    sqlite = conn.dialect.name == "sqlite"
    packed = c.counts if sqlite else func.array_send(c.counts)
    # ISO text: as SQLite stores it, and on PostgreSQL of the type a NULL beside it has.
    day = type_coerce(c.local_date, String) if sqlite else cast(c.local_date, String)
    return [
        select(
            c.location_id,
            c.kind,
            c.scale,
            day.label("local_date"),
            literal(sign, Integer).label("sign"),
            type_coerce(packed, LargeBinary).label("counts"),
        ).where(*where(table, first, last))
        for sign, first, last in found
    ]


def _unpacked(dialect: str, packed: list[bytes], signs: Sequence[int]) -> np.ndarray:
    """Rows' cells times their signs, as a rows × hours × values int32 array (the sums are
    taken in int64)."""
    joined = b"".join(packed)
    if dialect == "sqlite":
        cells = np.frombuffer(joined, "<i4").reshape(len(packed), DAY_HOURS_CELLS)
    else:
        # `array_send` of a one-dimensional int4 array without NULLs: five int32 of header
        # (dimensions, NULL flag, element type, length, lower bound), then per element its
        # length (4) and value, big-endian.
        words = np.frombuffer(joined, ">i4").reshape(len(packed), 5 + 2 * DAY_HOURS_CELLS)
        cells = words[:, 6::2]
    signed = cells * np.array(signs, np.int32)[:, None]  # native int32 (a negated count fits)
    return signed.reshape(len(packed), HOURS, WIDTH)


#: A read's rows of month and year pieces, column by column: location ids, ISO weekdays,
#: hours, kinds, scales, and counts (rows × values, signed).
Coarse = tuple[list[str], np.ndarray, np.ndarray, list[str], np.ndarray, np.ndarray]


def _codes(values: list[Any]) -> tuple[list[Any], np.ndarray]:
    """A column's distinct values (in the order met) and each row's index among them."""
    index = {value: i for i, value in enumerate(dict.fromkeys(values))}
    return list(index), np.fromiter(map(index.__getitem__, values), np.intp, len(values))


def weekday_hour_sums(
    dialect: str, coarse: Coarse | None, packed: Sequence[Sequence[Any]]
) -> tuple[list[Any], list[str], np.ndarray, np.ndarray]:
    """The counts per location, weekday, hour, kind and scale of a report's month and year
    rows (`coarse`) and day pieces (`day_reads`' rows), as `rollups.CountColumns`' parts: the
    group columns (location ids, ISO weekdays, hours), kinds, scales and counts (rows ×
    values), for the cells with any count left (days taken away can leave none).

    Summed in a grid of every (location, kind, scale, weekday) met × hour × value, so
    neither part needs sorting by its whole key: each packed row adds its day's hours to its
    weekday's in one step.
    """
    locations: list[str] = []
    kinds: list[str] = []
    scales, weekdays = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    hours, counts = np.zeros(0, np.int64), np.zeros((0, WIDTH), np.int64)
    if coarse is not None:
        locations, weekday, hours, kinds, scale, counts = coarse
        locations, kinds, scales[0], weekdays[0] = list(locations), list(kinds), scale, weekday
    if packed:
        of_row, of_kind, of_scale, days, signs, blobs = zip(*packed, strict=True)
        weekday_of = {day: _as_date(day).isoweekday() for day in set(days)}
        locations += of_row
        kinds += of_kind
        scales.append(np.array(of_scale, np.int64))
        weekdays.append(np.fromiter(map(weekday_of.__getitem__, days), np.int64, len(days)))
        cells = _unpacked(dialect, list(blobs), signs)
    # Each row's (location, kind, scale, weekday) as one number, the weekday last.
    location_values, location_code = _codes(locations)
    kind_values, kind_code = _codes(kinds)
    scale_values, scale_code = np.unique(np.concatenate(scales), return_inverse=True)
    place = (location_code * len(kind_values) + kind_code) * len(scale_values) + scale_code
    met, row_of = np.unique(place * 7 + np.concatenate(weekdays) - 1, return_inverse=True)
    grid = np.zeros((len(met), HOURS, WIDTH), np.int64)
    coarse_rows = len(hours)
    np.add.at(grid, (row_of[:coarse_rows], hours), counts)
    if packed:
        of_day = row_of[coarse_rows:]
        order = np.argsort(of_day, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(of_day[order]) != 0])
        summed = np.add.reduceat(cells[order], starts, axis=0, dtype=np.int64)
        grid[of_day[order][starts]] += summed
    row, hour = np.nonzero(grid.any(axis=2))
    place, weekday = np.divmod(met[row], 7)
    place, scale_at = np.divmod(place, len(scale_values))
    location_at, kind_at = np.divmod(place, len(kind_values))
    return (
        [np.array(location_values, object)[location_at].tolist(), weekday + 1, hour],
        np.array(kind_values, object)[kind_at].tolist(),
        scale_values[scale_at].astype(np.int64),
        grid[row, hour],
    )
