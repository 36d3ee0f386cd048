"""Many rows in one statement, without SQLAlchemy's per-row parameter processing.

Executing a Core statement with a list of dicts has SQLAlchemy build each row's parameters
one by one (every value through its type's bind processor): on a 500-tap upload that was a
quarter of the server's CPU, more than SQLite's own insert work. Here a statement is compiled
once per dialect, and its rows are handed to the driver's `executemany` as tuples, each value
converted by a plain function picked once per column from the column's type.

SQLite is fed through `sqlite_rows`: moments as SQLAlchemy stores them (UTC, no offset,
`YYYY-MM-DD HH:MM:SS.ffffff`), dates as `YYYY-MM-DD`, booleans as 0/1 — the same text
SQLAlchemy's own processors write, so every query compares like with like
(tests/server/test_bulk.py checks it column by column). PostgreSQL takes rows as JSON
(`server.store.submissions` and `server.store.rollups`).
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson
from pydantic import TypeAdapter
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Insert,
    Table,
    Text,
    bindparam,
    cast,
    column,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.selectable import TableValuedAlias

from server.db import driver_cursor, driver_executemany

Convert = Callable[[Any], Any]
_UNSEEN = object()


def utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.isoformat(" ", "microseconds")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:-6]  # without "+00:00"


def _date_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _as_is(value: Any) -> Any:
    return value


def _converter(column_type: Any) -> Convert:
    """How a value of this column type is handed to sqlite3, as SQLAlchemy would store it."""
    impl = getattr(column_type, "impl", column_type)  # a TypeDecorator's stored type
    if isinstance(impl, DateTime):
        return utc_text
    if isinstance(impl, Date):
        return _date_text
    if isinstance(impl, Boolean):
        return _as_is  # sqlite3 binds bool as the integer 0 or 1, as SQLAlchemy does
    return _as_is


@functools.cache
def sqlite_statement(statement: Insert, table: Table) -> tuple[str, tuple[str, ...]]:
    """The SQL text of an INSERT (or upsert) of every column of `table`, and the column name
    of each `?` in order."""
    names = [column.name for column in table.c]
    compiled = statement.compile(dialect=sqlite.dialect(), column_keys=names)
    assert compiled.positiontup is not None
    return compiled.string, tuple(compiled.positiontup)


@functools.cache
def _converters(table: Table, names: tuple[str, ...]) -> tuple[Convert, ...]:
    return tuple(_converter(table.c[name].type) for name in names)


def sqlite_rows(
    table: Table, names: Sequence[str], rows: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """The rows (dicts by column name) as tuples of `names`' values, converted for sqlite3."""
    converters = _converters(table, tuple(names))
    changed = [(i, convert) for i, convert in enumerate(converters) if convert is not _as_is]
    get = operator.itemgetter(*names)
    values = (list(get(row)) if len(names) > 1 else [get(row)] for row in rows)
    return [tuple(row) for row in _converted(changed, values)]


def _converted(
    changed: Sequence[tuple[int, Convert]], rows: Iterable[list[Any]]
) -> list[list[Any]]:
    """The rows (lists, changed in place) with the `changed` columns converted.

    Moments, the costly ones (`datetime.isoformat` ~1.5 µs each), are converted a batch at a
    time (`_utc_texts`), each object once however often it recurs (a batch's rows share the
    time received, and a tap time that needed no correction is its effective time too); any
    other value is converted once per distinct value of its column."""
    found = list(rows)
    moments = [i for i, convert in changed if convert is utc_text]
    if moments and found:
        texts = _utc_texts([row[i] for row in found for i in moments])
        for row in found:
            for i in moments:
                row[i] = texts[id(row[i])]
    for i, convert in changed:
        if convert is utc_text:
            continue
        known: dict[Any, Any] = {}
        for row in found:
            value = row[i]
            text = known.get(value, _UNSEEN)
            if text is _UNSEEN:
                text = known[value] = convert(value)
            row[i] = text
    return found


#: A list of moments written by pydantic's serializer (in Rust): `isoformat()`'s text for an
#: aware UTC or naive moment (microseconds as six digits, or none when zero), ~0.4 µs each.
_MOMENTS = TypeAdapter(list[datetime | None])


def _utc_texts(values: list[datetime | None]) -> dict[int, str | None]:
    """`utc_text` of each of these moments, by the object's `id` (the values keep the objects
    alive): each distinct object once, all in one serializer call."""
    distinct = {id(value): value for value in values}
    utc = [
        value if value is None or value.tzinfo is None or value.tzinfo is UTC
        else value.astimezone(UTC)
        for value in distinct.values()
    ]  # fmt: skip
    texts = _MOMENTS.dump_python(utc, mode="json")
    return dict(zip(distinct, map(sqlite_moment, texts), strict=True))


def sqlite_moment(iso: str | None) -> str | None:
    """SQLAlchemy's text of a moment from its ISO 8601 text in UTC (`YYYY-MM-DDTHH:MM:SS`,
    then `.ffffff` unless the microseconds are zero, then `Z` if aware): `YYYY-MM-DD
    HH:MM:SS.ffffff`, as `utc_text` writes it."""
    if iso is None:
        return None
    if len(iso) > 20:  # with microseconds
        return f"{iso[:10]} {iso[11:26]}"
    return f"{iso[:10]} {iso[11:19]}.000000"


def sqlite_moments(isos: list[str]) -> list[str]:
    """`sqlite_moment` of each of these texts (none None), in one comprehension rather than
    a call each."""
    return [
        f"{iso[:10]} {iso[11:26]}" if len(iso) > 20 else f"{iso[:10]} {iso[11:19]}.000000"
        for iso in isos
    ]


def sqlite_executemany(
    conn: Connection, statement: Insert, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Execute an INSERT (or upsert) of `table` once per row on SQLite, in one driver call."""
    if not rows:
        return
    sql, names = sqlite_statement(statement, table)
    driver_executemany(conn, sql, sqlite_rows(table, names, rows))


@functools.cache
def _in_table_order(statement: Insert, table: Table) -> str:
    """The SQL of an INSERT (or upsert) whose `?`s are `table`'s columns in their order."""
    sql, names = sqlite_statement(statement, table)
    if names != tuple(column.name for column in table.c):
        raise ValueError(f"{table.name}: the statement's parameters are not its columns in order")
    return sql


def sqlite_sql(statement: Insert, table: Table) -> str:
    """The SQL of an INSERT (or upsert) of `table` whose `?`s are its columns in their
    order, for rows made by `sqlite_values`."""
    return _in_table_order(statement, table)


@functools.cache
def _table_converters(table: Table) -> tuple[tuple[int, Convert], ...]:
    """Where a row of `table`'s values in column order needs converting for sqlite3, and how."""
    found = ((i, _converter(column.type)) for i, column in enumerate(table.c))
    return tuple((i, convert) for i, convert in found if convert is not _as_is)


def sqlite_values(table: Table, rows: Iterable[Sequence[Any]]) -> list[Sequence[Any]]:
    """Rows given as values in `table`'s column order, converted for sqlite3 as `sqlite_rows`
    converts them (no dict per row, no look-up by name: an upload's rows are made in this
    order to begin with)."""
    changed = _table_converters(table)
    if not changed:
        return list(rows)
    return list(_converted(changed, (list(row) for row in rows)))


def sqlite_executemany_values(
    conn: Connection,
    work: Sequence[tuple[Insert, Table, Iterable[Sequence[Any]]]],
    *,
    converted: bool = False,
) -> None:
    """Several INSERTs (or upserts) on SQLite, in order, each given its rows as values in its
    table's column order (`sqlite_values`; `converted`: converted so already): one driver
    `executemany` each, on one cursor."""
    prepared = [
        (_in_table_order(statement, table), list(rows) if converted else sqlite_values(table, rows))
        for statement, table, rows in work
    ]
    prepared = [(sql, rows) for sql, rows in prepared if rows]
    if not prepared:
        return
    if not conn.in_transaction():  # SQLAlchemy begins one, as for any statement
        for sql, rows in prepared:
            driver_executemany(conn, sql, [tuple(row) for row in rows])
        return
    with driver_cursor(conn, ";\n".join(sql for sql, _rows in prepared)) as cursor:
        for sql, rows in prepared:
            cursor.executemany(sql, rows)


def recordset_insert(table: Table) -> postgresql.Insert:
    """PostgreSQL: INSERT INTO table SELECT * FROM json_to_recordset(the rows as JSON).

    One short statement and one text parameter for any number of rows. A multi-row VALUES
    list (what executing with many rows and RETURNING makes) has the driver parse a query of
    some 400 bytes per row, and array parameters have it escape every value in Python; here
    the JSON is written in C by `json` and read by PostgreSQL, which casts each field to its
    column's type.
    """
    records = recordset(table)
    return postgresql.insert(table).from_select([c.name for c in table.c], select(records))


def recordset(table: Table, name: str = "rows") -> TableValuedAlias:
    """PostgreSQL: the rows of the JSON array in parameter `name` as a set of `table`'s
    columns (`json_to_recordset`, each field cast to its column's type)."""
    fields = [column(c.name, c.type) for c in table.c]
    rows = func.json_to_recordset(cast(bindparam(name, type_=Text), JSON))
    return rows.table_valued(*fields).render_derived(with_types=True)


def json_rows(rows: list[dict[str, Any]]) -> str:
    """The rows as the JSON array `recordset_insert` reads; dates and times in ISO 8601.

    Written by orjson, which writes dates and times itself as `isoformat()` does (the same
    text, tests/server/test_bulk.py): `json` called back into Python for each of them, ~13 µs
    a submission row against ~0.7. Keys that are not exactly `str` (a Column's name is
    SQLAlchemy's `quoted_name`, a subclass) cost orjson a second, slower pass; what it
    refuses even then (an integer beyond 64 bits) goes through `json`, as before.
    """
    for option in (0, orjson.OPT_NON_STR_KEYS):
        try:
            return orjson.dumps(rows, default=_iso_8601, option=option).decode()
        except orjson.JSONEncodeError:
            continue
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_iso_8601)


def _iso_8601(value: Any) -> str:
    if isinstance(value, date):  # datetime too: a subclass of date
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not stored through JSON")
