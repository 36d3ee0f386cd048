"""GET /api/v1/reports/responses.csv."""

from __future__ import annotations

import csv
import io

from server.export import safe_cell
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
