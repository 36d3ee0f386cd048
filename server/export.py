"""CSV export of answers, with cells neutralised against spreadsheet formula injection."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from server.store import as_utc
from server.store.submissions import EXPORT_COLUMNS
from shared.clock import to_rfc3339

#: A cell starting with one of these is read as a formula by spreadsheets (PROTOCOL.md).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def responses_csv_text(rows: Iterable[dict[str, Any]]) -> str:
    """The export as CSV text: a header, then one line per answer."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        cells = dict(row)
        cells["reasons"] = ";".join(json.loads(cells["reasons"] or "[]"))
        writer.writerow([safe_cell(cells[name]) for name in EXPORT_COLUMNS])
    return out.getvalue()
