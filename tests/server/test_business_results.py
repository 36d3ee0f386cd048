"""Coverage from the contact history, GET /reports/kpis and GET /reports/links."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import select, update

from server import links
from server.db import get_engine
from server.store import contacts, devices
from server.store.schema import contact_minutes, locations
from shared.clock import utcnow
from tests.server.conftest import Kiosk, Smiletap, assert_error

WARSAW = ZoneInfo("Europe/Warsaw")
FRIDAY = date(2026, 11, 20)


def _get(smiletap: Smiletap, path: str, key: str, **params: Any) -> Any:
    return smiletap.client.get(
        path, query_string=params, headers={"Authorization": f"Bearer {key}"}
    )


def _set_hours(app: Flask, location_id: str, hours: dict[str, list[str]] | None) -> None:
    with get_engine(app).begin() as conn:
        conn.execute(
            update(locations)
            .where(locations.c.id == location_id)
            .values(opening_hours=None if hours is None else json.dumps(hours))
        )


def _poll(app: Flask, device_id: str, start: datetime, end: datetime, every_s: float) -> None:
    """A kiosk calling every `every_s` through the device API's throttled contact path."""
    interval_s = float(app.config["CONTACT_WRITE_INTERVAL_S"])
    with get_engine(app).begin() as conn:
        device = devices.get(conn, device_id)
        assert device is not None
        device["last_contact_at"] = None
        now = start
        while now < end:
            if devices.contact_due(device, now, interval_s):
                contacts.mark(conn, device, now, interval_s)
                device["last_contact_at"] = now
            now += timedelta(seconds=every_s)


def _coverage(smiletap: Smiletap, key: str, day: date = FRIDAY) -> float | None:
    response = _get(
        smiletap,
        "/api/v1/reports/kpis",
        key,
        **{"from": day.isoformat(), "to": day.isoformat(), "group_by": "day"},
    )
    assert response.status_code == 200, response.json
    [group] = response.json["groups"]
    return group["coverage"]  # type: ignore[no-any-return]


def _local(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 20, hour, minute, second, tzinfo=WARSAW).astimezone(UTC)


# Every 45 s the throttle (60 s) writes only every other call, 90 s apart: without filling the
# minutes between writes a third of the minutes would be missing.
POLLS_S = [30.0, 30.3, 45.0]


@pytest.mark.parametrize("every_s", POLLS_S)
def test_contact_every_30_s_covers_every_opening_minute(
    smiletap: Smiletap, app: Flask, every_s: float
) -> None:
    kiosk = smiletap.setup()
    _set_hours(app, kiosk.location_id, {str(d): ["10:00", "11:00"] for d in range(1, 8)})
    # Odd seconds: the throttle's writes drift across minute boundaries, as they do for real.
    _poll(app, kiosk.device_id, _local(9, 50, 7), _local(11, 10), every_s)
    assert _coverage(smiletap, smiletap.api_key()) == 100.0


@pytest.mark.parametrize("every_s", POLLS_S)
def test_a_20_minute_gap_is_a_third_of_an_hour_missing(
    smiletap: Smiletap, app: Flask, every_s: float
) -> None:
    kiosk = smiletap.setup()
    _set_hours(app, kiosk.location_id, {str(d): ["10:00", "11:00"] for d in range(1, 8)})
    _poll(app, kiosk.device_id, _local(9, 50, 7), _local(10, 20), every_s)
    _poll(app, kiosk.device_id, _local(10, 40), _local(11, 10), every_s)
    coverage = _coverage(smiletap, smiletap.api_key())
    # 40 of 60 minutes, to the minute: the call held back just before the gap may be lost.
    assert coverage is not None and 65.0 <= coverage <= 68.4


def test_coverage_counts_any_kiosk_and_only_opening_minutes(smiletap: Smiletap, app: Flask) -> None:
    kiosk = smiletap.setup()
    second = smiletap.device(kiosk.location_id, "Till")
    smiletap.enroll(second["code"])
    _set_hours(app, kiosk.location_id, {"5": ["10:00", "12:00"]})  # Fridays only
    # One kiosk the first hour, the other the second: together, all of it.
    _poll(app, kiosk.device_id, _local(10), _local(11), 20)
    _poll(app, second["device_id"], _local(11), _local(12), 20)
    # Contact outside the opening hours changes nothing.
    _poll(app, kiosk.device_id, _local(20), _local(21), 20)
    key = smiletap.api_key()
    assert _coverage(smiletap, key) == 100.0
    # Saturday is closed: no opening minutes, so no coverage figure.
    response = _get(
        smiletap, "/api/v1/reports/kpis", key, **{"from": "2026-11-21", "to": "2026-11-21"}
    )
    assert response.json["groups"] == []


def test_a_submission_marks_its_minute_in_the_history(smiletap: Smiletap, app: Flask) -> None:
    kiosk = smiletap.setup()
    before = utcnow()
    assert kiosk.submit([kiosk.item(5)]).status_code == 200
    after = utcnow()
    with get_engine(app).connect() as conn:
        rows = conn.execute(select(contact_minutes)).mappings().all()
    assert {r["device_id"] for r in rows} == {kiosk.device_id}
    marked = {
        contacts.hour_start(r["hour"]) + timedelta(minutes=m)
        for r in rows
        for m in range(60)
        if r["minutes"] >> m & 1
    }
    minutes = {before.replace(second=0, microsecond=0), after.replace(second=0, microsecond=0)}
    assert marked & minutes


def _accept(kiosk: Kiosk, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 500):
        results = kiosk.submit(items[start : start + 500]).json["results"]
        assert {r["status"] for r in results} == {"accepted"}, results[:3]


def _put_kpis(smiletap: Smiletap, key: str, rows: list[dict[str, Any]]) -> None:
    response = smiletap.client.put(
        "/api/v1/kpis", json={"rows": rows}, headers={"Authorization": f"Bearer {key}"}
    )
    statuses = {r["status"] for r in response.json["results"]}
    assert statuses == {"stored"}, response.json


def test_kpi_report_sums_days_and_takes_ratios_of_sums(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    key = smiletap.api_key()
    days = ["2026-11-16", "2026-11-17", "2026-11-23"]  # two in week 47, one in week 48
    answers = [30, 10, 5]
    for day, count in zip(days, answers, strict=True):
        _accept(kiosk, [kiosk.item(5, tapped_at=f"{day}T10:00:00Z") for _ in range(count)])
    _put_kpis(
        smiletap,
        key,
        [
            {"location_id": kiosk.location_id, "date": days[0], "visitors": 1000,
             "transactions": 250, "revenue": 5000.0, "staff_hours": 40.0},
            {"location_id": kiosk.location_id, "date": days[1], "visitors": 500,
             "transactions": 50, "revenue": 1500.5, "staff_hours": 20.25},
            # No visitor count on the last day: its answers add nothing to the rate.
            {"location_id": kiosk.location_id, "date": days[2], "transactions": 10},
        ],
    )  # fmt: skip
    span = {"from": "2026-11-16", "to": "2026-11-29"}
    by_day = _get(smiletap, "/api/v1/reports/kpis", key, group_by="day", **span).json
    assert [g["key"] for g in by_day["groups"]] == [
        {"location_id": kiosk.location_id, "date": day} for day in days
    ]
    first = by_day["groups"][0]
    assert (first["answers"], first["response_rate"], first["conversion"], first["basket"]) == (
        30,
        3.0,
        25.0,
        20.0,
    )
    by_week = _get(smiletap, "/api/v1/reports/kpis", key, group_by="week", **span).json
    assert [g["key"]["week"] for g in by_week["groups"]] == ["2026-W47", "2026-W48"]
    week = by_week["groups"][0]
    # Ratio of sums: 40 answers / 1500 visitors, 300 / 1500 transactions, 6500.5 / 300.
    assert week["answers"] == 40 and week["visitors"] == 1500
    assert (week["response_rate"], week["conversion"], week["basket"]) == (2.7, 20.0, 21.67)
    assert (week["revenue"], week["staff_hours"]) == (6500.5, 60.25)
    assert by_week["groups"][1]["response_rate"] is None
    [whole] = _get(smiletap, "/api/v1/reports/kpis", key, **span).json["groups"]
    assert whole["key"] == {"location_id": kiosk.location_id}
    assert (whole["answers"], whole["transactions"], whole["response_rate"]) == (45, 310, 2.7)
    assert whole["coverage"] is None  # no contact history on those days


def test_kpi_report_checks_its_query_and_scope(smiletap: Smiletap) -> None:
    own, other = smiletap.location(name="Own"), smiletap.location(name="Other")
    key = smiletap.api_key("manager", own)
    span = {"from": "2026-11-01", "to": "2026-11-30"}
    response = _get(smiletap, "/api/v1/reports/kpis", key, group_by="month", **span)
    assert_error(response, 400, "invalid_query", "group_by")
    response = _get(smiletap, "/api/v1/reports/kpis", key, location_id=other, **span)
    assert_error(response, 403, "forbidden", "location_id")
    response = _get(smiletap, "/api/v1/reports/links", key, score="nps", kpi="profit", **span)
    assert_error(response, 400, "invalid_query", "kpi")


# --- the link analysis ---------------------------------------------------------------------


def _synthetic(
    rng: random.Random, effect: float, locations: int = 4, days: int = 28
) -> list[tuple[str, float, float]]:
    """Points whose KPI = a big per-location level + effect × score + noise; the per-location
    score levels go against the KPI levels, so a pooled correlation would mislead."""
    points = []
    for loc in range(locations):
        score_level, kpi_level = 50 + 10 * loc, 40 - 8 * loc
        for _ in range(days):
            score = score_level + rng.gauss(0, 5)
            kpi = kpi_level + effect * (score - score_level) + rng.gauss(0, 1)
            points.append((f"loc{loc}", score, kpi))
    return points


def test_a_planted_link_is_found_with_its_sign() -> None:
    rng = random.Random(7)
    up = links.within_location(_synthetic(rng, 0.12))
    assert up.verdict == "moves_with" and up.r is not None and up.r > 0.3
    assert up.ci95 is not None and up.ci95[0] > 0
    down = links.within_location(_synthetic(rng, -0.12))
    assert down.verdict == "moves_against" and down.ci95 is not None and down.ci95[1] < 0


def test_no_link_says_no_clear_link_in_95_percent_of_seeded_runs() -> None:
    """A 95 % interval misses zero in 5 % of null runs by construction, so the share of calm
    verdicts scatters around 95 % (binomial SD 0.4 % here; the first 400 seeds alone give
    93.5 %). Over 3,000 runs it is 95.2 %: the interval is calibrated, neither too narrow (a
    dof error would show as 90 % or less) nor padded."""
    runs = 3000
    calm = sum(
        links.within_location(_synthetic(random.Random(seed), 0.0)).verdict == "no_clear_link"
        for seed in range(1000, 1000 + runs)
    )
    assert 0.95 * runs <= calm <= 0.965 * runs, calm


def test_too_few_points_is_not_enough_data() -> None:
    points = _synthetic(random.Random(1), 0.5, locations=1, days=5)
    assert links.within_location(points) == links.Link(5, None, None, "not_enough_data")
    # Six points at six locations: each is its own mean, nothing is left to correlate.
    points = _synthetic(random.Random(1), 0.5, locations=6, days=1)
    assert links.within_location(points).verdict == "not_enough_data"


def test_numbers_match_ols_with_location_dummies() -> None:
    """A second computation: regress the KPI on the score and one dummy per location; the
    partial correlation from the score's t statistic is r, and its Fisher interval on the
    regression's residual degrees of freedom (n − L − 1, so n − L − 2 for z) is ours."""
    points = _synthetic(random.Random(3), 0.05, locations=5, days=20)
    names = sorted({p[0] for p in points})
    x = np.array([p[1] for p in points])
    y = np.array([p[2] for p in points])
    dummies = np.array([[1.0 if p[0] == name else 0.0 for name in names] for p in points])
    design = np.column_stack([x, dummies])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ beta
    dof = len(points) - design.shape[1]
    sigma2 = residuals @ residuals / dof
    se = math.sqrt(sigma2 * np.linalg.inv(design.T @ design)[0, 0])
    t = beta[0] / se
    r = t / math.sqrt(t * t + dof)
    half = 1.959964 / math.sqrt(dof - 1)
    expected_ci = (math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half))
    found = links.within_location(points)
    assert found.r == pytest.approx(r, abs=1e-3)
    assert found.ci95 == pytest.approx(expected_ci, abs=1e-3)


def test_links_report_over_http_finds_a_planted_link(smiletap: Smiletap) -> None:
    rng = random.Random(11)
    key = smiletap.api_key()
    kpi_rows = []
    for store in range(3):
        kiosk = smiletap.setup()
        items = []
        for offset in range(14):
            day = date(2026, 11, 2) + timedelta(days=offset)
            happy = rng.randint(2, 18)  # of 20 answers: the share moves day to day
            values = [5] * happy + [1] * (20 - happy)
            items += [kiosk.item(v, tapped_at=f"{day}T11:00:00Z") for v in values]
            visitors = 1000 + 300 * store
            conversion = 0.10 + 0.05 * store + 0.01 * happy + rng.gauss(0, 0.005)
            kpi_rows.append(
                {
                    "location_id": kiosk.location_id,
                    "date": day.isoformat(),
                    "visitors": visitors,
                    "transactions": round(visitors * conversion),
                }
            )
        _accept(kiosk, items)
    _put_kpis(smiletap, key, kpi_rows)
    params = {"from": "2026-11-02", "to": "2026-11-15", "score": "smiley", "kpi": "conversion"}
    body = _get(smiletap, "/api/v1/reports/links", key, **params).json
    assert (body["score"], body["kpi"], body["grain"], body["n"]) == (
        "smiley",
        "conversion",
        "day",
        42,
    )
    assert body["verdict"] == "moves_with" and body["ci95"][0] > 0
    assert "within-location" in body["method"]
    assert len(body["points"]) == 42
    assert set(body["points"][0]) == {"location_id", "period", "score", "kpi"}
    weekly = _get(smiletap, "/api/v1/reports/links", key, grain="week", **params).json
    assert weekly["n"] == 6 and weekly["verdict"] in ("moves_with", "no_clear_link")
    for found in (body, weekly):  # matched and ordered as arrays: the same as from the points
        listed = found["points"]
        assert listed == sorted(listed, key=lambda p: (p["period"], p["location_id"]))
        link = links.within_location([(p["location_id"], p["score"], p["kpi"]) for p in listed])
        assert link.ci95 is not None
        assert (found["n"], found["r"], found["ci95"], found["verdict"]) == (
            link.n, link.r, list(link.ci95), link.verdict
        )  # fmt: skip
