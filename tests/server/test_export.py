"""GET /api/v1/reports/responses.csv."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pytest
from flask import Flask

from server import export
from server.db import get_engine
from server.export import safe_cell
from server.store import submissions
from server.store.submissions import EXPORT_COLUMNS
from tests.server.conftest import Smiletap, assert_error


def test_csv_rows_and_formula_injection(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    item = kiosk.item(1, tapped_at="2026-11-20T10:15:00Z")
    item["answers"][0].update(reasons=["wait", "rude"], comment='=HYPERLINK("x")')
    burst = kiosk.item(5, tapped_at="2026-11-20T10:16:00Z", flags=["burst"])
    assert {r["status"] for r in kiosk.submit([item, burst]).json["results"]} == {"accepted"}
    key = smiletap.api_key()
    response = smiletap.client.get(
        "/api/v1/reports/responses.csv",
        query_string={"from": "2026-11-20", "to": "2026-11-20"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"  # nothing kept by a proxy or disk
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1  # the burst one is left out by default
    row = rows[0]
    assert row["submission_id"] == item["id"] and row["value"] == "1"
    assert row["reasons"] == "wait;rude"
    assert row["comment"] == '\'=HYPERLINK("x")'
    assert row["local_date"] == "2026-11-20" and row["hour"] == "11"
    assert row["tapped_at"] == "2026-11-20T10:15:00Z"


def test_csv_manager_scope(smiletap: Smiletap) -> None:
    mine, theirs = smiletap.setup(), smiletap.setup()
    key = smiletap.api_key("manager", mine.location_id)
    response = smiletap.client.get(
        "/api/v1/reports/responses.csv",
        query_string={"from": "2026-11-20", "to": "2026-11-20", "location_id": theirs.location_id},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert_error(response, 403, "forbidden", "location_id")


def test_safe_cell() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("fine") == "fine" and safe_cell(None) == "" and safe_cell(3) == "3"
    assert safe_cell(-3) == "'-3"


def _whole_file_csv(rows: list[dict[str, Any]]) -> str:
    """The export as it was built before it streamed (every row a dict, safe_cell on each
    cell, one string): the reference the streamed body must equal."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        cells = dict(row)
        cells["reasons"] = ";".join(json.loads(cells["reasons"] or "[]"))
        writer.writerow([safe_cell(cells[name]) for name in EXPORT_COLUMNS])
    return out.getvalue()


def test_csv_streams_in_chunks_and_equals_the_whole_file_export(
    smiletap: Smiletap, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk = smiletap.setup()
    items = [kiosk.item(v, tapped_at=f"2026-11-20T10:1{v}:00Z") for v in (1, 3, 5)]
    items[0]["answers"][0].update(reasons=["wait", "rude"], comment="-2 stars")
    items[1]["answers"][0].update(comment='=HYPERLINK("x")')
    items[2]["answers"][0].update(comment='@fine, "quoted"\nnext line')
    assert {r["status"] for r in kiosk.submit(items).json["results"]} == {"accepted"}
    monkeypatch.setattr(export, "CHUNK_CHARS", 1)
    monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", 1)
    response = smiletap.client.get(
        "/api/v1/reports/responses.csv",
        query_string={"from": "2026-11-20", "to": "2026-11-20"},
        headers={"Authorization": f"Bearer {smiletap.api_key()}"},
        buffered=False,
    )
    assert response.status_code == 200 and response.is_streamed
    chunks = response.iter_encoded()
    first = next(chunks).decode()
    # The header and the first answer arrive while the other answers are still unread.
    assert first.startswith("submission_id,") and items[0]["id"] in first
    assert items[1]["id"] not in first and items[2]["id"] not in first
    body = first + b"".join(chunks).decode()
    response.close()
    with app.app_context(), get_engine().connect() as conn, conn.begin():
        rows = submissions.export_rows(conn, date(2026, 11, 20), date(2026, 11, 20), None, False)
        reference = _whole_file_csv([dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in rows])
    assert body == reference
    assert "wait;rude" in body and "'-2 stars" in body and "'@fine" in body
