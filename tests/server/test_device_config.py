"""GET /api/v1/config and POST /api/v1/heartbeat."""

from __future__ import annotations

import json

from sqlalchemy import select

from server.db import get_engine
from server.store import locations
from server.store.schema import devices
from shared.protocol import ConfigResponse
from tests.server.conftest import SURVEY, Smiletap, assert_error


def test_config_shape(smiletap: Smiletap, runner) -> None:
    kiosk = smiletap.setup()
    runner.json("create-staff", "--location", kiosk.location_id, "--name", "Zofia")
    runner.json("create-staff", "--location", kiosk.location_id, "--name", "Anna")
    response = kiosk.get("/api/v1/config")
    assert response.status_code == 200
    body = response.json
    ConfigResponse.model_validate_json(response.data)
    assert list(body) == ["etag", "device", "location", "survey", "staff", "kiosk"]
    assert response.headers["ETag"] == f'"{body["etag"]}"'
    assert body["device"] == {"id": kiosk.device_id, "name": "Front door"}
    assert body["location"] == {
        "id": kiosk.location_id,
        "name": "Centrum",
        "timezone": "Europe/Warsaw",
        "opening_hours": None,
    }
    assert body["survey"]["id"] == kiosk.survey_id and body["survey"]["version"] == 1
    assert body["survey"]["questions"][0]["follow_up"]["reasons"][0]["id"] == "wait"
    assert body["survey"]["questions"][1]["follow_up"] is None
    assert body["survey"]["fixed_staff_id"] is None
    assert [s["display_name"] for s in body["staff"]] == ["Anna", "Zofia"]
    assert set(body["staff"][0]) == {"id", "display_name"}
    assert body["kiosk"] == {
        "idle_reset_s": 20,
        "thank_you_s": 4,
        "burst_max_taps": 5,
        "burst_window_s": 10,
    }


def test_config_without_survey_is_null(smiletap: Smiletap) -> None:
    location_id = smiletap.location()
    token = smiletap.enroll(smiletap.device(location_id)["code"])
    response = smiletap.client.get("/api/v1/config", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json["survey"] is None and response.json["staff"] == []


def test_etag_304_and_change_on_update(smiletap: Smiletap, runner) -> None:
    kiosk = smiletap.setup()
    etag = kiosk.get("/api/v1/config").json["etag"]
    again = kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == f'"{etag}"'
    changed = json.loads(json.dumps(SURVEY))
    changed["thank_you"]["en"] = "Thank you!"
    runner.json("update-survey", kiosk.survey_id, "--file", smiletap.survey_file(changed))
    fresh = kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{etag}"'})
    assert fresh.status_code == 200
    assert fresh.json["etag"] != etag
    assert fresh.json["survey"]["version"] == 2
    assert fresh.json["survey"]["thank_you"]["en"] == "Thank you!"


def test_etag_changes_with_staff(smiletap: Smiletap, runner) -> None:
    kiosk = smiletap.setup()
    etag = kiosk.get("/api/v1/config").json["etag"]
    runner.json("create-staff", "--location", kiosk.location_id, "--name", "Anna")
    assert kiosk.get("/api/v1/config").json["etag"] != etag


def test_opening_hours_are_sent_and_change_the_etag(smiletap: Smiletap, app) -> None:
    kiosk = smiletap.setup()
    etag = kiosk.get("/api/v1/config").json["etag"]
    hours = {"1": ["08:00", "20:00"], "6": ["18:00", "02:00"]}
    with get_engine(app).begin() as conn:
        location = locations.get(conn, kiosk.location_id)
        assert location is not None
        locations.update_settings(
            conn,
            kiosk.location_id,
            name=location["name"],
            timezone=location["timezone"],
            opening_hours=hours,
            webhook_url=None,
        )
    response = kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{etag}"'})
    assert response.status_code == 200
    assert response.json["etag"] != etag
    assert response.json["location"]["opening_hours"] == hours
    parsed = ConfigResponse.model_validate_json(response.data)
    assert parsed.location.opening_hours == hours


def test_config_needs_token(client) -> None:
    assert_error(client.get("/api/v1/config"), 401, "unauthorized")
    response = client.get("/api/v1/config", headers={"Authorization": "Bearer nope"})
    assert_error(response, 401, "unauthorized")
    response = client.get("/api/v1/config", headers={"Authorization": "Basic abc"})
    assert_error(response, 401, "unauthorized")


def test_revoked_token_is_refused_on_next_request(smiletap: Smiletap, runner) -> None:
    kiosk = smiletap.setup()
    assert kiosk.get("/api/v1/config").status_code == 200
    runner.json("revoke-device", kiosk.device_id)
    assert_error(kiosk.get("/api/v1/config"), 401, "unauthorized")
    assert_error(kiosk.submit([kiosk.item()]), 401, "unauthorized")


def test_heartbeat_stores_status(smiletap: Smiletap, app) -> None:
    kiosk = smiletap.setup()
    etag = kiosk.get("/api/v1/config").json["etag"]
    body = {
        "sent_at": "2020-01-01T00:00:00Z",
        "app_version": "1.2.3",
        "backlog": 12,
        "oldest_pending_at": "2026-11-22T10:00:00+01:00",
        "rejected_count": 2,
        "last_error": "timeout",
        "config_etag": "old",
    }
    response = kiosk.post("/api/v1/heartbeat", json=body)
    assert response.status_code == 200
    assert set(response.json) == {"server_time", "config_etag"}
    assert response.json["config_etag"] == etag
    with get_engine(app).connect() as conn:
        row = conn.execute(select(devices).where(devices.c.id == kiosk.device_id)).one()
    assert row.app_version == "1.2.3" and row.backlog == 12 and row.rejected_count == 2
    assert row.last_error == "timeout" and row.config_etag == "old"
    assert row.clock_skew_s < -1e8  # the device thinks it is 2020
    assert row.last_contact_at is not None


def test_heartbeat_bad_input(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    assert_error(kiosk.post("/api/v1/heartbeat", json={}), 422, "invalid_request", "sent_at")
    response = kiosk.post("/api/v1/heartbeat", json={"sent_at": "now"})
    assert_error(response, 422, "invalid_request", "sent_at")
    response = kiosk.post(
        "/api/v1/heartbeat", json={"sent_at": "2026-11-23T10:00:00Z", "backlog": -1}
    )
    assert_error(response, 422, "invalid_request", "backlog")
    response = kiosk.post(
        "/api/v1/heartbeat", json={"sent_at": "2026-11-23T10:00:00Z", "backlog": 10**30}
    )
    assert_error(response, 422, "invalid_request", "backlog")
    response = kiosk.post(
        "/api/v1/heartbeat", json={"sent_at": "2026-11-23T10:00:00Z", "last_error": "a\x00b"}
    )
    assert_error(response, 422, "invalid_request", "last_error")
