"""Daily KPIs: PUT /api/v1/kpis and `import-kpis`, idempotent, with the import log."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.db import get_engine
from server.store import kpis as kpi_store
from server.store.schema import kpi_imports, kpis
from shared.protocol import KpiResponse
from tests.server.conftest import Cli, Smiletap, assert_error

DAY = "2026-11-20"


def _put(smiletap: Smiletap, key: str, rows: list[dict[str, Any]]) -> Any:
    return smiletap.client.put(
        "/api/v1/kpis", json={"rows": rows}, headers={"Authorization": f"Bearer {key}"}
    )


def _results(response: Any) -> list[tuple[str, str | None, str | None]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    KpiResponse.model_validate_json(response.data)
    return [(r["status"], r["reason"], r["field"]) for r in response.json["results"]]


def _stored(app: Flask) -> dict[tuple[str, date], dict[str, Any]]:
    with get_engine(app).connect() as conn:
        rows = conn.execute(kpis.select()).mappings()
        return {
            (r["location_id"], r["date"]): {c: r[c] for c in kpi_store.VALUE_COLUMNS} for r in rows
        }


def _imports(app: Flask) -> list[dict[str, Any]]:
    with get_engine(app).connect() as conn:
        return [dict(r) for r in conn.execute(kpi_imports.select()).mappings()]


def test_put_stores_then_same_row_is_unchanged_and_writes_nothing(
    smiletap: Smiletap, app: Flask
) -> None:
    location = smiletap.location()
    key = smiletap.api_key()
    row = {
        "location_id": location,
        "date": DAY,
        "visitors": 1200,
        "transactions": 310,
        "revenue": 15234.50,
        "staff_hours": 64.5,
    }
    assert _results(_put(smiletap, key, [row])) == [("stored", None, None)]
    assert _stored(app) == {
        (location, date(2026, 11, 20)): {
            "visitors": 1200,
            "transactions": 310,
            "revenue_cents": 1523450,
            "staff_hours": 64.5,
        }
    }
    assert _results(_put(smiletap, key, [row])) == [("unchanged", None, None)]
    # Nothing changed, so nothing was logged either.
    [logged] = _imports(app)
    assert (logged["source"], logged["stored"]) == ("api", 1)


def test_absent_field_keeps_null_clears_new_value_replaces(smiletap: Smiletap, app: Flask) -> None:
    location = smiletap.location()
    key = smiletap.api_key()
    base = {"location_id": location, "date": DAY}
    _put(smiletap, key, [{**base, "visitors": 1000, "transactions": 200}])
    # Only transactions given: visitors kept.
    assert _results(_put(smiletap, key, [{**base, "transactions": 250}])) == [
        ("stored", None, None)
    ]
    # visitors null: cleared.
    _put(smiletap, key, [{**base, "visitors": None}])
    assert _stored(app)[(location, date(2026, 11, 20))] == {
        "visitors": None,
        "transactions": 250,
        "revenue_cents": None,
        "staff_hours": None,
    }
    # The log keeps who changed what: three imports, each with the values before and after.
    with get_engine(app).connect() as conn:
        changes = kpi_store.history(conn, location, date(2026, 11, 20))
    assert [c["after"]["transactions"] for c in changes] == [200, 250, 250]
    assert changes[0]["before"] is None
    assert changes[1]["before"]["transactions"] == 200
    assert changes[2]["before"]["visitors"] == 1000 and changes[2]["after"]["visitors"] is None
    assert {c["source"] for c in changes} == {"api"}


@pytest.mark.parametrize(
    ("row", "reason", "field"),
    [
        ({"date": "2026-11-31"}, "invalid_date", "date"),
        ({"date": "20.11.2026"}, "invalid_date", "date"),
        ({"date": "2999-01-01"}, "invalid_date", "date"),
        ({"visitors": -1}, "invalid_value", "visitors"),
        ({"visitors": 10.5}, "invalid_value", "visitors"),
        ({"transactions": "12"}, "invalid_value", "transactions"),
        ({"transactions": True}, "invalid_value", "transactions"),
        ({"revenue": 10.555}, "invalid_value", "revenue"),
        ({"revenue": 1e15}, "invalid_value", "revenue"),
        ({"staff_hours": -0.5}, "invalid_value", "staff_hours"),
        ({"visitor": 3}, "unknown_field", "visitor"),
        ({"location_id": "loc_nowhere"}, "unknown_location", "location_id"),
        ({"location_id": 7}, "unknown_location", "location_id"),
    ],
)
def test_bad_rows_are_rejected_and_store_nothing(
    smiletap: Smiletap, app: Flask, row: dict[str, Any], reason: str, field: str
) -> None:
    location = smiletap.location()
    key = smiletap.api_key()
    good = {"location_id": location, "date": DAY, "visitors": 5}
    bad = {"location_id": location, "date": "2026-11-21", "transactions": 9, **row}
    assert _results(_put(smiletap, key, [good, bad])) == [
        ("stored", None, None),
        ("rejected", reason, f"rows[1].{field}"),
    ]
    assert list(_stored(app)) == [(location, date(2026, 11, 20))]


def test_manager_key_writes_only_its_own_locations(smiletap: Smiletap, app: Flask) -> None:
    own, other = smiletap.location(name="Own"), smiletap.location(name="Other")
    key = smiletap.api_key("manager", own)
    rows = [
        {"location_id": own, "date": DAY, "visitors": 1},
        {"location_id": other, "date": DAY, "visitors": 2},
        # A manager learns nothing about which other ids exist.
        {"location_id": "loc_nowhere", "date": DAY, "visitors": 3},
    ]
    assert _results(_put(smiletap, key, rows)) == [
        ("stored", None, None),
        ("rejected", "forbidden_location", "rows[1].location_id"),
        ("rejected", "forbidden_location", "rows[2].location_id"),
    ]
    assert list(_stored(app)) == [(own, date(2026, 11, 20))]


def test_malformed_bodies_are_4xx_naming_the_field(smiletap: Smiletap) -> None:
    key = smiletap.api_key()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    client = smiletap.client
    assert_error(client.put("/api/v1/kpis", data=b"{", headers=headers), 400, "malformed_json")
    assert_error(
        client.put("/api/v1/kpis", json={}, headers=headers), 422, "invalid_request", "rows"
    )
    response = client.put("/api/v1/kpis", json={"rows": [1]}, headers=headers)
    assert_error(response, 422, "invalid_request", "rows[0]")
    response = client.put("/api/v1/kpis", json={"rows": [{"visitors": [1]}]}, headers=headers)
    assert_error(response, 422, "invalid_request", "rows[0].visitors")
    response = client.put("/api/v1/kpis", json={"rows": [{"a\u0000": 1}]}, headers=headers)
    assert_error(response, 422, "invalid_request", "rows[0]")
    many = [{"location_id": "x", "date": DAY}] * 5001
    response = client.put("/api/v1/kpis", json={"rows": many}, headers=headers)
    assert_error(response, 413, "too_large", "rows")
    assert_error(client.put("/api/v1/kpis", json={"rows": []}), 401, "unauthorized")


def _csv(tmp_path: Path, text: str, name: str = "kpis.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def test_cli_import_is_idempotent_and_names_lines(
    smiletap: Smiletap, runner: Cli, app: Flask, tmp_path: Path
) -> None:
    location = smiletap.location()
    text = (
        "location_id,date,visitors,transactions,revenue,staff_hours\n"
        f"{location},2026-11-20,1200,310,15234.50,64.5\n"
        f"{location},2026-11-21,1100,,,\n"
        f"{location},2026-11-22,=1+1,,,\n"
        f"{location},2026-11-23,-5,,,\n"
        f'{location},2026-11-24,"1,200",,,\n'
        "loc_nowhere,2026-11-24,1,,,\n"
        f"{location},2026-11-25,1,,,\n"
        f"{location},2026-11-25,2,,,\n"
        f"{location},2026-11-26,7\n"
    )
    path = _csv(tmp_path, text)
    first = runner.json("import-kpis", "--file", path)
    assert (first["stored"], first["unchanged"]) == (2, 0)
    assert [(r["line"], r["reason"], r["field"]) for r in first["rejected"]] == [
        (4, "formula_cell", "visitors"),
        (5, "invalid_value", "visitors"),
        (6, "invalid_value", "visitors"),
        (7, "unknown_location", "location_id"),
        (8, "duplicate_row", "date"),
        (9, "duplicate_row", "date"),
        (10, "invalid_row", None),
    ]
    assert "dot for decimals" in first["rejected"][2]["message"]
    again = runner.json("import-kpis", "--file", path)
    assert (again["stored"], again["unchanged"]) == (0, 2)
    stored = _stored(app)
    assert set(stored) == {(location, date(2026, 11, 20)), (location, date(2026, 11, 21))}
    # An empty cell leaves the stored value as it is.
    assert stored[(location, date(2026, 11, 21))]["visitors"] == 1100
    [logged] = _imports(app)
    assert logged["source"] == "cli" and logged["actor"].startswith("cli:")
    assert (logged["stored"], logged["rejected"]) == (2, 7)
    plain = runner.invoke("import-kpis", "--file", path)
    assert plain.exit_code == 0
    assert "line 4: visitors: visitors: a cell starting with '=' is refused" in plain.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "line 1: the file is empty"),
        (b"location_id,date,visitor\n", "line 1: unknown column 'visitor'"),
        (b"location_id,visitors\n", "line 1: the column 'date' is missing"),
        (b"location_id,date\nx,2026-11-20\n\xff\n", "line 3: the file is not UTF-8"),
        (b"location_id,date\n" + b"x" * (5 * 1024 * 1024), "larger than 5 MB"),
    ],
)
def test_cli_refuses_a_bad_file_clearly(
    runner: Cli, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = runner.invoke("import-kpis", "--file", str(path), "--json")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_refuses_too_many_rows(runner: Cli, tmp_path: Path) -> None:
    lines = "".join(f"loc,2026-01-{1 + i % 28:02d}\n" for i in range(50_001))
    path = _csv(tmp_path, "location_id,date\n" + lines)
    result = runner.invoke("import-kpis", "--file", path)
    assert result.exit_code != 0 and "more than 50000 rows" in result.output
