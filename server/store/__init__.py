"""SQL, one query module per entity (SQLAlchemy Core). Functions take a Connection."""

from __future__ import annotations

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
        rows: list[tuple[Any, ...]] = list(result.cursor.fetchall())
    finally:
        result.close()
    return rows
