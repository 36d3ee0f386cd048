"""SQL, one query module per entity (SQLAlchemy Core). Functions take a Connection."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite returns them naive)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def fetch_tuples(conn: Connection, query: Select[Any]) -> list[tuple[Any, ...]]:
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
