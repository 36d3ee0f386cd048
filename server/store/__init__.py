"""SQL, one query module per entity (SQLAlchemy Core). Functions take a Connection."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    CompoundSelect,
    Connection,
    Integer,
    Select,
    String,
    func,
    literal_column,
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


def fetch_tuples(conn: Connection, query: Query) -> list[tuple[Any, ...]]:
    """The driver's own row tuples of a query whose columns need no result processing (text,
    whole numbers, floats; dates only where the caller takes ISO text on SQLite): for reads of
    many thousand rows, where making SQLAlchemy rows costs about what the query does."""
    result = conn.execute(query)
    try:
        with no_collection():
            rows: list[tuple[Any, ...]] = list(result.cursor.fetchall())
    finally:
        result.close()
    return rows


#: Between the values of a text column in `fetch_columns`' SQLite read (an SQL literal): the
#: ASCII unit separator, which no id holds (one that did would show as a wrong count).
_UNIT = "'\x1f'"


def fetch_columns(conn: Connection, query: Query) -> list[Any]:
    """A query's result column by column, for reads of many thousand rows that go on into
    numpy: a whole-number column (never NULL) as an int64 array, any other as a list.

    On SQLite each column comes back as one text, the column's values joined by
    `group_concat` over the query's rows, and numpy parses the numbers: reading the rows
    would make a Python object per row and value, which for 18,000 rows of 15 columns cost
    twice what the query does. One aggregate pass feeds every column, so their orders agree.
    A text holding the separator, or a NULL (which `group_concat` skips), shows as a count
    that differs from the rows'; the rows are then read one by one, as elsewhere.
    """
    selected = list(query.selected_columns)
    whole = [isinstance(column.type, Integer) for column in selected]
    text = [isinstance(column.type, String) for column in selected]
    if conn.dialect.name == "sqlite" and all(w or t for w, t in zip(whole, text, strict=True)):
        inner = query.subquery()
        # The separators as SQL literals: as bound parameters they cost twice the read.
        joined = [
            func.group_concat(column) if w else func.group_concat(column, literal_column(_UNIT))
            for column, w in zip(inner.c, whole, strict=True)
        ]
        # A NULL would not show in a text column of one row ('' and NULL both join to ''):
        # its values are counted too.
        counted = [func.count(column) for column, t in zip(inner.c, text, strict=True) if t]
        size, *found = conn.execute(
            select(func.count(), *counted, *joined).select_from(inner)
        ).one()
        texts = found[len(counted) :]
        columns = [
            _split(joined_text or "", w, size) for joined_text, w in zip(texts, whole, strict=True)
        ]
        if all(n == size for n in found[: len(counted)]) and all(
            len(column) == size for column in columns
        ):
            return columns
    rows = fetch_tuples(conn, query)
    by_column = list(zip(*rows, strict=True)) or [()] * len(selected)
    return [
        np.array(values, np.int64) if w else list(values)
        for values, w in zip(by_column, whole, strict=True)
    ]


def _split(joined: str, whole: bool, size: int) -> Any:
    """A `group_concat` text of `size` values as an int64 array or a list of str."""
    if not size:
        return np.zeros(0, np.int64) if whole else []
    if whole:
        return np.fromstring(joined, np.int64, sep=",")
    return joined.split(_UNIT[1:-1])


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
