"""CSV export of answers, with cells neutralised against spreadsheet formula injection, written
as a stream of chunks so an export of any size holds one batch of rows in memory.

An export is millions of cells, so the database writes each cell as it appears in the file
(`cell_columns`): the formula prefix, RFC 3339 times, `true`/`false`, reasons joined with `;`.
Python only reads the rows in batches from a server-side cursor and hands each batch to
`csv.writer` (quoting), with no per-row code of its own. `safe_cell` is the same rule for one
value, and the reference the tests hold the database's cells to.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from datetime import datetime
from typing import Any

from flask import Response
from sqlalchemy import ColumnElement, Connection, Engine, Select, literal_column

from server.db import reading
from server.store import as_utc
from server.store.filters import Filters
from server.store.submissions import (
    EXPORT_BATCH_ROWS,
    EXPORT_COLUMNS,
    export_columns,
    export_select,
)
from shared.clock import to_rfc3339

#: A cell starting with one of these is read as a formula by spreadsheets (PROTOCOL.md).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: Characters of CSV text gathered before a chunk of the response body is sent.
CHUNK_CHARS = 64 * 1024


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


# The cells as SQL. Every formula start is below "A" in code point order (and so in UTF-8 byte
# order), so `x >= 'A'` (one comparison, true for almost every id) skips the first-character
# test; PostgreSQL compares in the C collation for that, as a language's collation may sort
# punctuation anywhere.


def _formula_starts(chr_function: str) -> str:
    quoted = [f"'{c}'" for c in FORMULA_STARTS if c.isprintable()]
    quoted += [f"{chr_function}({ord(c)})" for c in FORMULA_STARTS if not c.isprintable()]
    return "(" + ", ".join(quoted) + ")"


class _Cells:
    """SQL text of each kind of cell for one dialect, from a column's SQL text."""

    def __init__(self, dialect: str) -> None:
        self.postgresql = dialect == "postgresql"
        self.starts = _formula_starts("chr" if self.postgresql else "char")
        self.collate = ' COLLATE "C"' if self.postgresql else ""

    def safe(self, x: str, first: str | None = None) -> str:
        first = first or f"substr({x}, 1, 1)"
        return f"CASE WHEN {first} IN {self.starts} THEN '''' || {x} ELSE {x} END"

    def text(self, x: str) -> str:
        """Text that may start like a formula (None stays None: an empty cell)."""
        return f"CASE WHEN {x}{self.collate} >= 'A' THEN {x} ELSE {self.safe(x)} END"

    def number(self, x: str) -> str:
        as_text = f"CAST({x} AS TEXT)"
        return f"CASE WHEN {x} < 0 THEN '''' || {as_text} ELSE {as_text} END"

    def moment(self, x: str) -> str:
        """RFC 3339 in UTC, as `to_rfc3339` writes it (microseconds only when not zero)."""
        if self.postgresql:
            utc = f"({x} AT TIME ZONE 'UTC')"
            return (
                f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
                f"date_trunc('second', {x}) = {x} THEN 'Z' ELSE to_char({utc}, '.US\"Z\"') END"
            )
        # SQLite keeps SQLAlchemy's 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, no offset).
        return f"replace(replace({x} || 'Z', ' ', 'T'), '.000000Z', 'Z')"

    def day(self, x: str) -> str:
        return f"to_char({x}, 'YYYY-MM-DD')" if self.postgresql else x

    def flag(self, x: str) -> str:
        return f"CASE WHEN {x} THEN 'true' ELSE 'false' END"

    def reasons(self, x: str) -> str:
        """The JSON list of reason ids joined with `;`, in the list's order."""
        if self.postgresql:
            joined = "string_agg(r.id, ';' ORDER BY r.n)"
            each = f"json_array_elements_text(CAST({x} AS json)) WITH ORDINALITY AS r(id, n)"
        else:
            joined = "group_concat(value, ';')"  # json_each's rows come in the list's order
            each = f"json_each({x})"
        return f"CASE WHEN {x} = '[]' THEN NULL ELSE (SELECT {self.safe(joined)} FROM {each}) END"


#: How each stored column (by its label) becomes its cell.
_KINDS = {
    "survey_version": "number",
    "weekday": "number",
    "hour": "number",
    "scale": "number",
    "value": "number",
    "local_date": "day",
    "effective_at": "moment",
    "tapped_at": "moment",
    "received_at": "moment",
    "burst": "flag",
    "reasons": "reasons",
}


def cell_columns(dialect: str) -> list[ColumnElement[Any]]:
    """The export's cells as SQL expressions in EXPORT_COLUMNS order: text (or NULL for an
    empty cell) exactly as `safe_cell` writes each stored value, reasons joined with `;`."""
    cells = _Cells(dialect)
    out: list[ColumnElement[Any]] = []
    for name, stored in zip(EXPORT_COLUMNS, export_columns(), strict=True):
        table = "answers" if name in ("question_id", "kind", "scale", "value", "reasons",
                                      "comment") else "submissions"  # fmt: skip
        sql = f"{table}.{'id' if name == 'submission_id' else name}"
        assert stored.key == name, (stored.key, name)
        out.append(literal_column(getattr(cells, _KINDS.get(name, "text"))(sql)).label(name))
    return out


def csv_chunks(batches: Iterable[Sequence[Sequence[Any]]]) -> Iterator[bytes]:
    """The export as UTF-8 CSV in chunks of about CHUNK_CHARS: a header, then one line per
    row (each batch a list of rows of cells)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for batch in batches:
        writer.writerows(batch)
        if out.tell() >= CHUNK_CHARS:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


def cell_batches(conn: Connection, query: Select[Any]) -> Generator[Sequence[Sequence[Any]]]:
    """The query's rows, EXPORT_BATCH_ROWS at a time, from a server-side cursor (PostgreSQL:
    a named cursor; SQLite steps its statement as rows are fetched)."""
    result = conn.execute(query.execution_options(stream_results=True))
    with result:
        yield from result.partitions(EXPORT_BATCH_ROWS)


def responses_csv_response(engine: Engine, wanted: Filters, filename: str) -> Response:
    """A text/csv attachment streaming the answers `wanted` selects on a connection of its own,
    read in one read-only transaction (on SQLite a deferred BEGIN, so a long download never
    holds the write lock). Check access and parse the request before calling: once the body
    streams, the status is sent. A failure after that ends the body without chunked
    encoding's last chunk, so the client sees a broken transfer, never a short file that looks
    whole; a client that goes away closes the generator, which ends the transaction and
    returns the connection."""
    columns = cell_columns(engine.dialect.name)

    def body() -> Iterator[bytes]:
        with engine.connect() as conn, reading(conn):
            query = export_select(conn, columns, wanted)
            with closing(cell_batches(conn, query)) as rows:
                # the cursor is closed before the transaction ends, also when the client left
                yield from csv_chunks(rows)

    response = Response(body(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    return response
