"""CSV export of answers, with cells neutralised against spreadsheet formula injection, written
as a stream of chunks so an export of any size holds a few hundred rows in memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from flask import Response
from sqlalchemy import Connection, Engine

from server.db import reading
from server.store import as_utc
from server.store.submissions import EXPORT_COLUMNS
from shared.clock import to_rfc3339

#: A cell starting with one of these is read as a formula by spreadsheets (PROTOCOL.md).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: Rows written into one chunk of the response body.
ROWS_PER_CHUNK = 500


def safe_cell(value: Any) -> str:
    """The cell as text, prefixed with `'` when a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        moment = as_utc(value)
        assert moment is not None
        text = to_rfc3339(moment)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# Per-column forms of safe_cell for the types each export column holds: the same text, without
# the type tests on every cell (an export is millions of cells).


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _number(value: int | None) -> str:
    if value is None:
        return ""
    return f"'{value}" if value < 0 else str(value)


def _moment(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back the stored UTC reading without an offset
        return value.isoformat() + "Z"
    return to_rfc3339(value)


def _reasons(value: str | None) -> str:
    return _text(";".join(json.loads(value or "[]")))


_CELL_FOR_TYPE: dict[str, Callable[[Any], str]] = {
    "text": _text,
    "number": _number,
    "moment": _moment,
    "other": safe_cell,
    "reasons": _reasons,
}
_COLUMN_TYPES = {
    "survey_version": "number",
    "weekday": "number",
    "hour": "number",
    "scale": "number",
    "value": "number",
    "effective_at": "moment",
    "tapped_at": "moment",
    "received_at": "moment",
    "local_date": "other",
    "burst": "other",
    "reasons": "reasons",
}
_CELLS = tuple(_CELL_FOR_TYPE[_COLUMN_TYPES.get(name, "text")] for name in EXPORT_COLUMNS)


def responses_csv_chunks(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The export as CSV text in chunks: a header, then one line per answer (cells in
    EXPORT_COLUMNS order), ROWS_PER_CHUNK lines at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    pending = 0
    for row in rows:
        writer.writerow([cell(value) for cell, value in zip(_CELLS, row, strict=True)])
        pending += 1
        if pending >= ROWS_PER_CHUNK:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            pending = 0
    yield out.getvalue()


def responses_csv_response(
    engine: Engine, rows_of: Callable[[Connection], Iterable[Sequence[Any]]], filename: str
) -> Response:
    """A text/csv attachment streaming `rows_of` a connection of its own, read in one read-only
    transaction (on SQLite a deferred BEGIN, so a long download never holds the write lock).
    Check access and parse the request before calling: once the body streams, the status is
    sent."""

    def body() -> Iterator[str]:
        with engine.connect() as conn, reading(conn):
            yield from responses_csv_chunks(rows_of(conn))

    response = Response(body(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    return response
