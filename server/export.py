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


# The export's cells as safe_cell writes them, without its type tests and with one call per row
# instead of one per cell (an export is millions of cells): each column's type is known.


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _number(value: int) -> str:
    return f"'{value}" if value < 0 else str(value)


def _moment(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back the stored UTC reading without an offset
        return value.isoformat() + "Z"
    return to_rfc3339(value)


def _reasons(value: str) -> str:
    return "" if value == "[]" else _text(";".join(json.loads(value)))


def _row_cells(row: Sequence[Any]) -> list[str]:
    """One answer's cells in EXPORT_COLUMNS order (the store's NOT NULL columns are never
    None)."""
    (submission_id, location_id, device_id, staff_id, touchpoint_id, survey_id, survey_version,
     language, local_date, weekday, hour, effective_at, tapped_at, received_at, burst,
     question_id, kind, scale, value, reasons, comment) = row  # fmt: skip
    formula = FORMULA_STARTS
    return [
        "'" + submission_id if submission_id.startswith(formula) else submission_id,
        "'" + location_id if location_id.startswith(formula) else location_id,
        "'" + device_id if device_id.startswith(formula) else device_id,
        _text(staff_id),
        _text(touchpoint_id),
        "'" + survey_id if survey_id.startswith(formula) else survey_id,
        str(survey_version) if survey_version >= 0 else _number(survey_version),
        "'" + language if language.startswith(formula) else language,
        local_date.isoformat(),
        str(weekday) if weekday >= 0 else _number(weekday),
        str(hour) if hour >= 0 else _number(hour),
        _moment(effective_at),
        _moment(tapped_at),
        _moment(received_at),
        "true" if burst else "false",
        "'" + question_id if question_id.startswith(formula) else question_id,
        "'" + kind if kind.startswith(formula) else kind,
        str(scale) if scale >= 0 else _number(scale),
        str(value) if value >= 0 else _number(value),
        "" if reasons == "[]" else _reasons(reasons),
        "" if comment is None else _text(comment),
    ]


def responses_csv_chunks(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The export as CSV text in chunks: a header, then one line per answer (cells in
    EXPORT_COLUMNS order), ROWS_PER_CHUNK lines at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    pending = 0
    for row in rows:
        writer.writerow(_row_cells(row))
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
