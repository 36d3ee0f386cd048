"""GET /api/v1/reports/scores, with hand-worked numbers."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from server.db import get_engine
from server.scores import build_groups
from server.store import pending_rollups
from server.store.schema import answers
from shared.protocol import ScoresResponse
from tests.server.conftest import Kiosk, Smiletap, assert_error

DAY = "2026-11-20T10:15:00Z"


def _items(kiosk: Kiosk, question: str, values: list[int], tapped_at: str = DAY, **kw) -> list:
    return [kiosk.item(v, question, tapped_at=tapped_at, **kw) for v in values]


def _accept_all(kiosk: Kiosk, items: list) -> None:
    results = kiosk.submit(items).json["results"]
    assert {r["status"] for r in results} == {"accepted"}, results


def test_smiley_and_nps_by_location(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    # Smiley 1..5: counts [1, 1, 2, 3, 3]; positive = faces 4 and 5 = 6 of 10.
    _accept_all(kiosk, _items(kiosk, "q1", [1, 2, 3, 3, 4, 4, 4, 5, 5, 5]))
    # NPS: promoters 9,9,10,10,10 (5); passives 7,8 (2); detractors 0,5,6 (3).
    _accept_all(kiosk, _items(kiosk, "q2", [9, 9, 10, 10, 10, 7, 8, 0, 5, 6]))
    key = smiletap.api_key()
    response = smiletap.scores(key, **{"from": "2026-11-01", "to": "2026-11-30"})
    assert response.status_code == 200
    ScoresResponse.model_validate_json(response.data)
    body = response.json
    assert (body["from"], body["to"], body["group_by"], body["min_n"]) == (
        "2026-11-01",
        "2026-11-30",
        "location",
        30,
    )
    [group] = body["groups"]
    assert group["key"] == {"location_id": kiosk.location_id}
    assert group["n"] == 10 and group["ranked"] is False
    assert group["smiley"] == {
        "scale": 5,
        "counts": [1, 1, 2, 3, 3],
        "positive_share": 60.0,
        # Wilson: centre (0.6 + 1.96²/20)/(1 + 1.96²/10) = 0.5722, half 0.2596.
        "ci95": [31.3, 83.2],
        "n": 10,
    }
    # Adjusted Wald: p' = 5.75/13, d' = 3.75/13, half = 1.96·sqrt((p'+d'-(p'-d')²)/13) = 0.457.
    assert group["nps"] == {
        "score": 20.0,
        "ci95": [-30.3, 61.1],
        "promoters": 5,
        "passives": 2,
        "detractors": 3,
        "n": 10,
    }
    assert group["csat"] is None and group["ces"] is None


def test_min_n_and_days_outside_range(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    _accept_all(kiosk, _items(kiosk, "q1", [5] * 10))
    _accept_all(kiosk, _items(kiosk, "q1", [1] * 4, tapped_at="2026-12-05T10:00:00Z"))
    key = smiletap.api_key()
    body = smiletap.scores(key, **{"from": "2026-11-20", "to": "2026-11-20", "min_n": 10}).json
    assert body["min_n"] == 10
    assert body["groups"][0]["ranked"] is True and body["groups"][0]["n"] == 10
    empty = smiletap.scores(key, **{"from": "2026-10-01", "to": "2026-10-31"}).json
    assert empty["groups"] == []


def test_day_is_store_local_across_midnight_and_dst(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup("Europe/Warsaw")
    taps = [
        "2026-11-22T23:30:00Z",  # 00:30 on the 23rd in Warsaw
        "2026-10-24T22:30:00Z",  # 00:30 CEST (UTC+2) on the 25th, before the change
        "2026-10-25T22:30:00Z",  # 23:30 CET (UTC+1) on the 25th, after the change
        "2026-10-25T23:30:00Z",  # 00:30 CET on the 26th
    ]
    _accept_all(kiosk, [kiosk.item(5, tapped_at=t) for t in taps])
    key = smiletap.api_key()
    body = smiletap.scores(key, **{"from": "2026-10-01", "to": "2026-11-30", "group_by": "day"})
    days = {g["key"]["date"]: g["n"] for g in body.json["groups"]}
    assert days == {"2026-10-25": 2, "2026-10-26": 1, "2026-11-23": 1}
    assert body.json["groups"][0]["key"] == {"location_id": kiosk.location_id, "date": "2026-10-25"}
    hours = smiletap.scores(
        key, **{"from": "2026-10-25", "to": "2026-10-25", "group_by": "weekday_hour"}
    ).json["groups"]
    assert sorted((g["key"]["weekday"], g["key"]["hour"]) for g in hours) == [(7, 0), (7, 23)]


def test_same_instant_different_zones(smiletap: Smiletap) -> None:
    warsaw = smiletap.setup("Europe/Warsaw")
    new_york = smiletap.setup("America/New_York")
    tap = "2026-11-22T23:30:00Z"
    _accept_all(warsaw, [warsaw.item(5, tapped_at=tap)])
    _accept_all(new_york, [new_york.item(5, tapped_at=tap)])
    key = smiletap.api_key()
    groups = smiletap.scores(
        key, **{"from": "2026-11-22", "to": "2026-11-23", "group_by": "day"}
    ).json["groups"]
    found = {(g["key"]["location_id"], g["key"]["date"]) for g in groups}
    assert found == {(warsaw.location_id, "2026-11-23"), (new_york.location_id, "2026-11-22")}


def test_group_by_staff(smiletap: Smiletap, runner) -> None:
    kiosk = smiletap.setup()
    anna = runner.json("create-staff", "--location", kiosk.location_id, "--name", "Anna")["id"]
    _accept_all(kiosk, _items(kiosk, "q1", [5, 4], staff_id=anna) + _items(kiosk, "q1", [1]))
    key = smiletap.api_key()
    groups = smiletap.scores(
        key, **{"from": "2026-11-20", "to": "2026-11-20", "group_by": "staff"}
    ).json["groups"]
    by_staff = {g["key"]["staff_id"]: g["smiley"]["counts"] for g in groups}
    assert by_staff == {anna: [0, 0, 0, 1, 1], None: [1, 0, 0, 0, 0]}


def test_burst_left_out_by_default(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    _accept_all(kiosk, _items(kiosk, "q1", [5, 5]) + _items(kiosk, "q1", [1] * 3, flags=["burst"]))
    key = smiletap.api_key()
    params = {"from": "2026-11-20", "to": "2026-11-20"}
    assert smiletap.scores(key, **params).json["groups"][0]["n"] == 2
    both = smiletap.scores(key, **params, include_burst="true").json["groups"][0]
    assert both["n"] == 5 and both["smiley"]["counts"] == [3, 0, 0, 0, 2]


def test_reads_rollups_not_answers(smiletap: Smiletap, app) -> None:
    kiosk = smiletap.setup()
    _accept_all(kiosk, _items(kiosk, "q1", [5, 4, 1]))
    with get_engine(app).begin() as conn:
        pending_rollups.fold(conn)  # counted: the raw answers are not needed from now on
        conn.execute(delete(answers))
    key = smiletap.api_key()
    group = smiletap.scores(key, **{"from": "2026-11-20", "to": "2026-11-20"}).json["groups"][0]
    assert group["smiley"]["counts"] == [1, 0, 0, 1, 1]


def test_manager_scope(smiletap: Smiletap) -> None:
    mine, theirs = smiletap.setup(), smiletap.setup()
    _accept_all(mine, _items(mine, "q1", [5]))
    _accept_all(theirs, _items(theirs, "q1", [1]))
    key = smiletap.api_key("manager", mine.location_id)
    params = {"from": "2026-11-20", "to": "2026-11-20"}
    groups = smiletap.scores(key, **params).json["groups"]
    assert [g["key"]["location_id"] for g in groups] == [mine.location_id]
    response = smiletap.scores(key, **params, location_id=theirs.location_id)
    assert_error(response, 403, "forbidden", "location_id")
    response = smiletap.scores(key, **params, location_id=[mine.location_id, theirs.location_id])
    assert_error(response, 403, "forbidden", "location_id")
    assert smiletap.scores(key, **params, location_id=mine.location_id).status_code == 200
    admin = smiletap.api_key("admin")
    assert len(smiletap.scores(admin, **params).json["groups"]) == 2
    only = smiletap.scores(admin, **params, location_id=theirs.location_id).json["groups"]
    assert [g["key"]["location_id"] for g in only] == [theirs.location_id]


def test_auth(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    params = {"from": "2026-11-20", "to": "2026-11-20"}
    assert_error(smiletap.scores("nope", **params), 401, "unauthorized")
    assert_error(smiletap.scores(kiosk.token, **params), 401, "unauthorized")
    response = smiletap.client.get("/api/v1/reports/scores", query_string=params)
    assert_error(response, 401, "unauthorized")


def test_bad_query(smiletap: Smiletap) -> None:
    key = smiletap.api_key()
    cases = [
        ({"to": "2026-11-20"}, "from"),
        ({"from": "2026-11-20"}, "to"),
        ({"from": "20-11-2026", "to": "2026-11-20"}, "from"),
        ({"from": "2026-11-21", "to": "2026-11-20"}, "to"),
        ({"from": "2026-11-20", "to": "2026-11-20", "group_by": "month"}, "group_by"),
        ({"from": "2026-11-20", "to": "2026-11-20", "include_burst": "maybe"}, "include_burst"),
        ({"from": "2026-11-20", "to": "2026-11-20", "min_n": "-1"}, "min_n"),
        ({"from": "2026-11-20", "to": "2026-11-20", "min_n": "9" * 40}, "min_n"),
        ({"from": "0001-01-01", "to": "9999-12-31"}, "to"),
        ({"from": "2026-11-20", "to": "2026-11-20", "location_id": "a\x00b"}, "location_id"),
        ({"from": "2026-11-20", "to": "2026-11-20", "location_id": "x" * 65}, "location_id"),
    ]
    for params, field in cases:
        assert_error(smiletap.scores(key, **params), 400, "invalid_query", field)
    raw = "/api/v1/reports/scores?from=2026-11-20&to=2026-11-20&location_id=%ED%A0%80"
    response = smiletap.client.get(raw, headers={"Authorization": f"Bearer {key}"})
    assert_error(response, 400, "invalid_query", "location_id")


def test_mixed_scales_use_the_majority_scale() -> None:
    rows = [
        {"location_id": "L", "kind": "smiley", "scale": 3, "value": 3, "n": 2},
        {"location_id": "L", "kind": "smiley", "scale": 5, "value": 5, "n": 4},
        {"location_id": "L", "kind": "smiley", "scale": 5, "value": 1, "n": 1},
        {"location_id": "L", "kind": "ces", "scale": 7, "value": 7, "n": 1},
        {"location_id": "L", "kind": "csat", "scale": 5, "value": 4, "n": 3},
    ]
    [group] = build_groups(rows, "location", min_n=5)
    assert group["smiley"]["scale"] == 5 and group["smiley"]["counts"] == [1, 0, 0, 0, 4]
    assert group["ces"]["scale"] == 7 and group["ces"]["n"] == 1
    assert group["csat"]["score"] == 100.0
    assert group["n"] == 5 and group["ranked"] is True


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("scores", {}),
        ("kpis", {}),
        ("links", {"score": "nps", "kpi": "conversion"}),
        ("responses.csv", {}),
    ],
)
def test_a_report_answers_while_a_writer_holds_sqlite_write_lock(
    smiletap: Smiletap, database_url: str, path: str, params: dict[str, str]
) -> None:
    """Reports only read: on SQLite they begin a plain (deferred) transaction, so an upload
    holding the one write lock doesn't make them wait (BEGIN IMMEDIATE would wait out the
    busy timeout, then answer 503)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    key = smiletap.api_key()
    writer = sqlite3.connect(make_url(database_url).database, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    try:
        response = smiletap.client.get(
            f"/api/v1/reports/{path}",
            query_string={"from": "2026-11-01", "to": "2026-11-30", **params},
            headers={"Authorization": f"Bearer {key}"},
        )
    finally:
        writer.rollback()
        writer.close()
    assert response.status_code == 200, response.data[:300]
