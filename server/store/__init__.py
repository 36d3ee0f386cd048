"""SQL, one query module per entity (SQLAlchemy Core). Functions take a Connection."""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Float,
    Integer,
    Select,
    case,
    func,
    select,
)


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite returns them naive)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


#: A read: a SELECT, or a UNION ALL of them.
Query = Select[Any] | CompoundSelect[Any]


def fetch_tuples(
    conn: Connection, query: Query, params: Mapping[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """The driver's own row tuples of a query whose columns need no result processing (text,
    whole numbers, floats; dates only where the caller takes ISO text on SQLite): for reads of
    many thousand rows, where making SQLAlchemy rows costs about what the query does."""
    result = conn.execute(query, params or {})
    try:
        with no_collection():
            rows: list[tuple[Any, ...]] = list(result.cursor.fetchall())
    finally:
        result.close()
    return rows


def fetch_columns(
    conn: Connection, query: Query, params: Mapping[str, Any] | None = None
) -> list[Any]:
    """A query's result column by column, for reads of many thousand rows that go on into
    numpy: a whole-number column as an int64 array (a list where it holds a NULL), any other
    as a list (None for NULL).

    On SQLite each column comes back as one JSON array, `json_group_array` over the query's
    rows, which orjson reads: reading the rows would make a Python object per row and value,
    which for 18,000 rows of 15 columns cost twice what the query does (and JSON's texts
    need no separator, and keep NULLs). Floats are written with 17 digits (SQLite's JSON keeps
    15), so they come back exact; a date comes as its ISO text, as `fetch_tuples` gives it.
    One aggregate pass feeds every column, so their orders agree. On PostgreSQL the rows are
    read as tuples. A query made once, with its filters as bound parameters (`params`), is
    wrapped once.
    """
    whole = [isinstance(column.type, Integer) for column in query.selected_columns]
    if conn.dialect.name == "sqlite":
        texts = conn.execute(_gathered(query), params or {}).one()
        return [_read(text, w) for text, w in zip(texts, whole, strict=True)]
    rows = fetch_tuples(conn, query, params)
    by_column = list(zip(*rows, strict=True)) or [()] * len(whole)
    return [
        np.array(values, np.int64) if w and None not in values else list(values)
        for values, w in zip(by_column, whole, strict=True)
    ]


def _read(text: str, whole: bool) -> Any:
    """A `json_group_array` text as `fetch_columns` gives the column."""
    if whole and "n" not in text:  # no null: numpy reads the numbers, no Python int each
        return np.fromstring(text[1:-1], np.int64, sep=",")
    found = orjson.loads(text)
    return np.array(found, np.int64) if whole and None not in found else found


@functools.lru_cache(maxsize=64)
def _gathered(query: Query) -> Select[Any]:
    """`fetch_columns`' SQLite statement around a query: one JSON array per column."""
    inner = query.subquery()
    return select(*(func.json_group_array(_json(column)) for column in inner.c))


def _json(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A column as SQLite's JSON arrays should hold it: floats with every digit kept."""
    if not isinstance(column.type, Float):
        return column
    exact = func.json(func.printf("%!.17g", column))
    return case((column.is_(None), None), else_=exact)


@contextmanager
def no_collection() -> Iterator[None]:
    """No garbage collection meanwhile, for code that makes many thousand objects that hold no
    reference cycles (rows, a report's points): each collection would walk all those made so
    far again — with the app's objects frozen (`server.app.freeze_startup_objects`), full
    collections come often, and over 46,000 rows they cost more than reading them.

    Process-wide but harmless across threads: the collector is only switched on again by the
    one that found it on.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
