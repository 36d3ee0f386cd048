"""Daily KPI rows: read them (a JSON body or a CSV file), check them, and store them.

The API (`PUT /api/v1/kpis`), the CLI (`import-kpis`) and the dashboard's upload all come
here, so a row means the same whichever way it arrives. A row names a location and a
store-local date and gives any of the four values: a value left out keeps what is stored,
`null` clears it. The same row again changes nothing ("unchanged") and writes nothing; a row
that changes something is "stored", and the import that stored it is logged with the values
before and after (`store.kpis`). A rejected row stores nothing and says why: a reason code and
the field at fault.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection

from server.store import kpis as kpi_store
from server.store import locations
from shared.clock import utcnow

#: The values a row may give, by their wire name.
FIELDS = ("visitors", "transactions", "revenue", "staff_hours")
#: The wire name → the column that holds it (revenue is kept in hundredths, exactly).
COLUMNS = {
    "visitors": "visitors",
    "transactions": "transactions",
    "revenue": "revenue_cents",
    "staff_hours": "staff_hours",
}
WHOLE_NUMBERS = frozenset({"visitors", "transactions"})
#: Far above any store's day, far below what a column or a float sum could mishandle.
MAX_VALUE = Decimal(10) ** 12
MAX_API_ROWS = 5000
#: A file past either limit is refused as a whole, before any row is looked at.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILE_ROWS = 50_000
#: A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("location_id", "date", *FIELDS)
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: A date this many days past today (UTC) cannot be a finished business day anywhere.
MAX_DAYS_AHEAD = 1


@dataclass(frozen=True)
class KpiRow:
    """A checked row: its location, its day, and the columns it sets (None clears one)."""

    location_id: str
    day: date
    values: dict[str, int | float | None]


@dataclass(frozen=True)
class RowProblem:
    """Why a row is refused: a stable reason code, the field at fault, and a sentence."""

    reason: str
    field: str | None
    message: str


@dataclass(frozen=True)
class Outcome:
    """What became of one row."""

    status: str  # stored | unchanged | rejected
    reason: str | None = None
    field: str | None = None
    message: str | None = None


@dataclass
class Summary:
    """Every row's outcome, in order, and the counts."""

    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many rows ended with this status."""
        return sum(1 for o in self.outcomes if o.status == status)


class BadFileError(ValueError):
    """A CSV file refused as a whole (unreadable, too big, a bad header); names the line."""


def _number(wire_name: str, value: Decimal) -> int | float | RowProblem:
    """A checked value as its column stores it, or the problem with it."""
    if value < 0:
        return RowProblem("invalid_value", wire_name, f"{wire_name} must not be negative")
    if value > MAX_VALUE:
        return RowProblem("invalid_value", wire_name, f"{wire_name} is too large")
    if wire_name in WHOLE_NUMBERS:
        if value != value.to_integral_value():
            return RowProblem("invalid_value", wire_name, f"{wire_name} must be a whole number")
        return int(value)
    if wire_name == "revenue":
        cents = value * 100
        if cents != cents.to_integral_value():
            return RowProblem("invalid_value", wire_name, "revenue has at most 2 decimals")
        return int(cents)
    return float(value)


def _day(text: Any) -> date | RowProblem:
    problem = RowProblem("invalid_date", "date", "date must be a day YYYY-MM-DD")
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        return problem
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return problem
    if day.year < 1990 or day > utcnow().date() + timedelta(days=MAX_DAYS_AHEAD):
        return RowProblem("invalid_date", "date", "date must be a past day, not in the future")
    return day


def _location(value: Any) -> str | RowProblem:
    if not isinstance(value, str) or not value or len(value) > 64:
        return RowProblem("unknown_location", "location_id", "location_id must be a location id")
    return value


def check_json_row(raw: Mapping[str, Any]) -> KpiRow | RowProblem:
    """One row of a `PUT /kpis` body, checked."""
    unknown = sorted(set(raw) - set(CSV_COLUMNS))
    if unknown:
        return RowProblem("unknown_field", unknown[0], f"{unknown[0]} is not a KPI field")
    location_id = _location(raw.get("location_id"))
    if isinstance(location_id, RowProblem):
        return location_id
    day = _day(raw.get("date"))
    if isinstance(day, RowProblem):
        return day
    values: dict[str, int | float | None] = {}
    for wire_name in FIELDS:
        if wire_name not in raw:
            continue
        value = raw[wire_name]
        if value is None:
            values[COLUMNS[wire_name]] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return RowProblem("invalid_value", wire_name, f"{wire_name} must be a number or null")
        try:
            # str() of a float is its shortest exact spelling: 15234.5, not 15234.4999...
            parsed = _number(wire_name, Decimal(str(value)))
        except InvalidOperation:
            return RowProblem("invalid_value", wire_name, f"{wire_name} must be a number")
        if isinstance(parsed, RowProblem):
            return parsed
        values[COLUMNS[wire_name]] = parsed
    return KpiRow(location_id, day, values)


def check_csv_cells(cells: Mapping[str, str]) -> KpiRow | RowProblem:
    """One CSV line (column → cell text), checked; an empty value cell keeps what is stored."""
    for column, cell in cells.items():
        if cell.startswith(FORMULA_START) and not _NUMBER.fullmatch(cell.strip()):
            return RowProblem(
                "formula_cell", column, f"{column}: a cell starting with {cell[0]!r} is refused"
            )
    location_id = _location(cells.get("location_id", "").strip())
    if isinstance(location_id, RowProblem):
        return location_id
    day = _day(cells.get("date", "").strip())
    if isinstance(day, RowProblem):
        return day
    values: dict[str, int | float | None] = {}
    for wire_name in FIELDS:
        cell = cells.get(wire_name, "").strip()
        if not cell:
            continue
        if not _NUMBER.fullmatch(cell):
            hint = " (use a dot for decimals, no thousands separators)" if "," in cell else ""
            return RowProblem("invalid_value", wire_name, f"{wire_name} must be a number{hint}")
        parsed = _number(wire_name, Decimal(cell))
        if isinstance(parsed, RowProblem):
            return parsed
        values[COLUMNS[wire_name]] = parsed
    return KpiRow(location_id, day, values)


@dataclass(frozen=True)
class FileLine:
    """A CSV line's number (the header is line 1) and its checked row."""

    line: int
    row: KpiRow | RowProblem


def read_csv(data: bytes) -> list[FileLine]:
    """Check every line of a KPI CSV file; BadFileError when the file as a whole is refused.

    A key (location, date) given twice with other values is refused on every such line: which
    one was meant cannot be told, so none is stored.
    """
    if len(data) > MAX_FILE_BYTES:
        raise BadFileError(
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadFileError(f"line {line}: the file is not UTF-8 text") from None
    if "\x00" in text:
        raise BadFileError("the file holds NUL characters: it is not a CSV text file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise BadFileError("line 1: the file is empty; it needs a header line") from None
    except csv.Error as exc:
        raise BadFileError(f"line 1: {exc}") from None
    _check_header(header)
    lines: list[FileLine] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(lines) >= MAX_FILE_ROWS:
                raise BadFileError(f"the file has more than {MAX_FILE_ROWS} rows; split it")
            if len(cells) != len(header):
                problem = RowProblem(
                    "invalid_row", None, f"{len(cells)} cells where the header has {len(header)}"
                )
                lines.append(FileLine(reader.line_num, problem))
                continue
            lines.append(
                FileLine(reader.line_num, check_csv_cells(dict(zip(header, cells, strict=True))))
            )
    except csv.Error as exc:
        raise BadFileError(f"line {reader.line_num}: {exc}") from None
    return _refuse_conflicting_repeats(lines)


def _check_header(header: list[str]) -> None:
    for column in header:
        if column not in CSV_COLUMNS:
            known = ", ".join(CSV_COLUMNS)
            raise BadFileError(f"line 1: unknown column {column!r} (columns: {known})")
        if header.count(column) > 1:
            raise BadFileError(f"line 1: column {column!r} appears twice")
    for required in ("location_id", "date"):
        if required not in header:
            raise BadFileError(f"line 1: the column {required!r} is missing")


def _refuse_conflicting_repeats(lines: list[FileLine]) -> list[FileLine]:
    first: dict[tuple[str, date], FileLine] = {}
    conflicting: dict[tuple[str, date], list[int]] = {}
    for item in lines:
        if isinstance(item.row, KpiRow):
            key = (item.row.location_id, item.row.day)
            seen = first.setdefault(key, item)
            if isinstance(seen.row, KpiRow) and seen.row.values != item.row.values:
                conflicting.setdefault(key, [seen.line]).append(item.line)
    if not conflicting:
        return lines
    checked: list[FileLine] = []
    for item in lines:
        row_key = (item.row.location_id, item.row.day) if isinstance(item.row, KpiRow) else None
        if row_key is not None and row_key in conflicting:
            others = ", ".join(str(n) for n in conflicting[row_key] if n != item.line)
            problem = RowProblem(
                "duplicate_row",
                "date",
                f"this location and date come again with other values on line {others}",
            )
            checked.append(FileLine(item.line, problem))
        else:
            checked.append(item)
    return checked


def apply_rows(
    conn: Connection,
    rows: Iterable[KpiRow | RowProblem],
    may_write: Callable[[str], bool],
    source: str,
    actor: str,
    *,
    dry_run: bool = False,
) -> Summary:
    """Store the rows that change something, in order; one outcome per row.

    `may_write(location_id)` says whether the caller may write that location (a manager: its
    own). With `dry_run` nothing is written: the outcomes say what storing would do (the
    dashboard's preview). A later row for the same key sees what an earlier one stored.
    """
    rows = list(rows)
    wanted = {(r.location_id, r.day) for r in rows if isinstance(r, KpiRow)}
    known = set(locations.timezones(conn, {loc for loc, _ in wanted}))
    stored = kpi_store.values_for(conn, wanted)
    summary = Summary()
    writes: dict[tuple[str, date], tuple[dict[str, Any] | None, dict[str, Any]]] = {}
    for row in rows:
        if isinstance(row, RowProblem):
            summary.outcomes.append(Outcome("rejected", row.reason, row.field, row.message))
            continue
        if not may_write(row.location_id):
            message = "this key may not write that location"
            summary.outcomes.append(
                Outcome("rejected", "forbidden_location", "location_id", message)
            )
            continue
        if row.location_id not in known:
            message = f"no location {row.location_id!r}"
            summary.outcomes.append(Outcome("rejected", "unknown_location", "location_id", message))
            continue
        key = (row.location_id, row.day)
        before = stored.get(key)
        after = {**(before or kpi_store.EMPTY), **row.values}
        if after == (before or kpi_store.EMPTY):
            summary.outcomes.append(Outcome("unchanged"))
            continue
        stored[key] = after
        first_before = writes[key][0] if key in writes else before
        writes[key] = (first_before, after)
        summary.outcomes.append(Outcome("stored"))
    if writes and not dry_run:
        counts = (summary.count("stored"), summary.count("unchanged"), summary.count("rejected"))
        import_id = kpi_store.log_import(conn, source, actor, *counts)
        kpi_store.write(conn, import_id, writes)
    return summary


__all__ = [
    "CSV_COLUMNS",
    "FIELDS",
    "MAX_API_ROWS",
    "MAX_FILE_BYTES",
    "MAX_FILE_ROWS",
    "BadFileError",
    "FileLine",
    "KpiRow",
    "Outcome",
    "RowProblem",
    "Summary",
    "apply_rows",
    "check_csv_cells",
    "check_json_row",
    "read_csv",
]
