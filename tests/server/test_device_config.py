"""GET /api/v1/config and POST /api/v1/heartbeat."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, update

from server import device_config
from server import settings as app_settings
from server.app import create_app
from server.dashboard import CSP, sso
from server.db import dispose_engine, get_engine
from server.settings import current
from server.store import as_utc, locations
from server.store.schema import devices
from shared.clock import utcnow
from shared.protocol import ConfigResponse
from tests.server.conftest import SURVEY, Cli, Kiosk, Smiletap, assert_error

SMILETAP_SERVER = str(Path(sys.executable).parent / "smiletap-server")
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|BEGIN IMMEDIATE)", re.IGNORECASE)


def test_config_shape(smiletap: Smiletap, runner) -> None:
    kiosk = smiletap.setup()
    runner.json("create-staff", "--location", kiosk.location_id, "--name", "Zofia")
    runner.json("create-staff", "--location", kiosk.location_id, "--name", "Anna")
    response = kiosk.get("/api/v1/config")
    assert response.status_code == 200
    body = response.json
    ConfigResponse.model_validate_json(response.data)
    assert list(body) == ["etag", "device", "location", "touchpoint", "survey", "staff", "kiosk"]
    assert body["touchpoint"] is None  # placed at none
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


def test_a_304_carries_exactly_these_headers(smiletap: Smiletap) -> None:
    # The device calls' hooks were trimmed for speed; what the kiosk receives must not change.
    kiosk = smiletap.setup()
    etag = kiosk.get("/api/v1/config").json["etag"]
    again = kiosk.get(
        "/api/v1/config", headers={"If-None-Match": f'"{etag}"', "X-Request-Id": "r1"}
    )
    assert again.status_code == 304
    assert list(again.headers.items()) == [
        ("ETag", f'"{etag}"'),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Content-Security-Policy", CSP),
        ("X-Request-Id", "r1"),
    ]
    beat = _heartbeat(kiosk)
    assert [name for name, _value in beat.headers.items()] == [
        "Content-Type",
        "Content-Length",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
        "X-Request-Id",
    ]


def test_a_304_s_security_headers_follow_the_app_s_settings_at_once(
    smiletap: Smiletap, app: Flask
) -> None:
    # The hook holds its app, not the settings it started with: a changed TLS or single
    # sign-on setting shows on the very next answer.
    kiosk = smiletap.setup()
    etag = kiosk.get("/api/v1/config").json["etag"]
    unchanged = {"If-None-Match": f'"{etag}"'}
    assert "Strict-Transport-Security" not in kiosk.get("/api/v1/config", headers=unchanged).headers
    app_settings.override(app, tls=True, oidc_issuer="https://id.example.com/realms/shop")
    app.extensions.setdefault(sso.EXTENSION, object())  # what sso.init_app registers
    again = kiosk.get("/api/v1/config", headers=unchanged)
    assert again.status_code == 304
    assert again.headers["Strict-Transport-Security"].startswith("max-age=")
    csp = again.headers["Content-Security-Policy"]
    assert "form-action 'self' https://id.example.com;" in csp
    app_settings.override(app, tls=False, oidc_issuer="")
    back = kiosk.get("/api/v1/config", headers=unchanged)
    assert "Strict-Transport-Security" not in back.headers
    assert back.headers["Content-Security-Policy"] == CSP


def test_a_kept_etag_is_the_one_computed_anew(smiletap: Smiletap, app: Flask) -> None:
    kiosk = smiletap.setup()
    device = {"id": kiosk.device_id, "name": "Front door", "location_id": kiosk.location_id}
    with app.app_context():
        settings = current()
        first = device_config.etag(device, "stamp-1", settings)
        assert device_config.etag(device, "stamp-1", settings) == first  # kept
        assert first == device_config._etag(
            device, "stamp-1", device_config.kiosk_settings(settings)
        )
        assert device_config.etag({**device, "name": "Back door"}, "stamp-1", settings) != first
        assert device_config.etag(device, "stamp-2", settings) != first
        longer = replace(settings, idle_reset_s=settings.idle_reset_s + 1)
        assert device_config.etag(device, "stamp-1", longer) != first


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


def _body_without_etag(response: Any) -> dict[str, Any]:
    return {k: v for k, v in response.json.items() if k != "etag"}


def _cli_changes(kiosk: Kiosk, smiletap: Smiletap) -> dict[str, list[str]]:
    """Each `smiletap-server` command that changes what /config sends to the kiosk."""
    changed = json.loads(json.dumps(SURVEY))
    changed["thank_you"]["en"] = "Cheers!"
    other = smiletap.location("Europe/London", "Other")
    return {
        "update-survey": [
            "update-survey",
            kiosk.survey_id,
            "--file",
            smiletap.survey_file(changed),
        ],
        "assign-survey": [
            "assign-survey",
            "--location",
            kiosk.location_id,
            "--survey",
            smiletap.survey(),
        ],
        "create-staff": ["create-staff", "--location", kiosk.location_id, "--name", "Ola"],
        "move-device": ["move-device", kiosk.device_id, "--location", other],
    }


@pytest.mark.e2e  # a CLI process per change
@pytest.mark.parametrize(
    "command", ["update-survey", "assign-survey", "create-staff", "move-device"]
)
def test_a_change_made_by_another_process_ends_the_304(
    smiletap: Smiletap, runner: Cli, command: str
) -> None:
    """The command runs as its own process: nothing this server holds in memory may hide it."""
    kiosk = smiletap.setup()
    before = kiosk.get("/api/v1/config")
    etag = before.json["etag"]
    assert kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{etag}"'}).status_code == 304
    args = _cli_changes(kiosk, smiletap)[command]
    done = subprocess.run(
        [SMILETAP_SERVER, *args], env=runner.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    after = kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{etag}"'})
    assert after.status_code == 200
    assert after.json["etag"] != etag
    assert _body_without_etag(after) != _body_without_etag(before)


def test_staff_changes_through_the_store_end_the_304(smiletap: Smiletap, app: Flask) -> None:
    from server.store import staff

    kiosk = smiletap.setup()
    with get_engine(app).begin() as conn:
        staff_id = staff.create(conn, kiosk.location_id, "Ola")
    for change in ("rename", "deactivate", "reactivate"):
        etag = kiosk.get("/api/v1/config").json["etag"]
        with get_engine(app).begin() as conn:
            if change == "rename":
                assert staff.rename(conn, staff_id, f"Ola {etag[:4]}")
            else:
                assert staff.set_active(conn, staff_id, change == "reactivate")
        after = kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{etag}"'})
        assert after.status_code == 200, change


def test_kiosk_settings_are_part_of_the_etag(
    smiletap: Smiletap, database_url: str, tmp_path
) -> None:
    kiosk = smiletap.setup()
    etag = kiosk.get("/api/v1/config").json["etag"]
    restarted = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "IDLE_RESET_S": 45,
        }
    )
    try:
        response = restarted.test_client().get(
            "/api/v1/config", headers={**kiosk.headers, "If-None-Match": f'"{etag}"'}
        )
    finally:
        dispose_engine(restarted)
    assert response.status_code == 200
    assert response.json["kiosk"]["idle_reset_s"] == 45 and response.json["etag"] != etag


@contextmanager
def _writes(app: Flask) -> Iterator[list[str]]:
    """The writing SQL statements (and SQLite write-lock BEGINs) the app sends meanwhile."""
    seen: list[str] = []
    engine = get_engine(app)

    def _note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if WRITES.match(statement):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", _note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _note)


def _device_row(app: Flask, device_id: str) -> Any:
    with get_engine(app).connect() as conn:
        return conn.execute(select(devices).where(devices.c.id == device_id)).one()


def _backdate_contact(app: Flask, device_id: str, seconds: float) -> None:
    with get_engine(app).begin() as conn:
        conn.execute(
            update(devices)
            .where(devices.c.id == device_id)
            .values(last_contact_at=utcnow() - timedelta(seconds=seconds))
        )


def test_an_unchanged_config_check_writes_nothing(smiletap: Smiletap, app: Flask) -> None:
    kiosk = smiletap.setup()
    etag = kiosk.get("/api/v1/config").json["etag"]  # the enrollment was its last contact
    with _writes(app) as writes:
        for _ in range(3):
            answer = kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{etag}"'})
            assert answer.status_code == 304
    assert writes == []


def test_contact_is_written_once_per_interval_and_lags_less(smiletap: Smiletap, app: Flask) -> None:
    interval_s = float(app.config["CONTACT_WRITE_INTERVAL_S"])
    assert 0 < interval_s <= 60  # coverage to the minute needs at most 60 s
    kiosk = smiletap.setup()
    _backdate_contact(app, kiosk.device_id, interval_s - 5)
    stored = _device_row(app, kiosk.device_id).last_contact_at
    kiosk.get("/api/v1/config")
    # Not due yet: the stored contact stands, and lags the real one by less than the interval.
    assert _device_row(app, kiosk.device_id).last_contact_at == stored

    lag = (utcnow() - as_utc(stored)).total_seconds()  # type: ignore[operator]
    assert lag < interval_s
    _backdate_contact(app, kiosk.device_id, interval_s + 1)
    called_at = utcnow()
    with _writes(app) as writes:
        kiosk.get("/api/v1/config")
    assert len([w for w in writes if w.lstrip().upper().startswith("UPDATE")]) == 1
    written = as_utc(_device_row(app, kiosk.device_id).last_contact_at)
    assert written is not None and written >= called_at


def _heartbeat(kiosk: Kiosk, **overrides: Any) -> Any:
    body = {
        "sent_at": utcnow().isoformat(),
        "app_version": "1.2.3",
        "backlog": 0,
        "oldest_pending_at": None,
        "rejected_count": 0,
        "last_error": None,
        "config_etag": "e1",
        **overrides,
    }
    response = kiosk.post("/api/v1/heartbeat", json=body)
    assert response.status_code == 200, response.json
    return response


def test_a_steady_heartbeat_writes_only_when_contact_is_due(smiletap: Smiletap, app: Flask) -> None:
    kiosk = smiletap.setup()
    _heartbeat(kiosk)
    first = _device_row(app, kiosk.device_id)
    with _writes(app) as writes:
        etag = _heartbeat(kiosk).json["config_etag"]
    assert writes == []
    assert etag == kiosk.get("/api/v1/config").json["etag"]
    with _writes(app) as writes:
        _heartbeat(kiosk, backlog=7)
    assert writes and _device_row(app, kiosk.device_id).backlog == 7
    _backdate_contact(app, kiosk.device_id, float(app.config["CONTACT_WRITE_INTERVAL_S"]) + 1)
    _heartbeat(kiosk, backlog=7)
    row = _device_row(app, kiosk.device_id)
    assert row.last_heartbeat_at > first.last_heartbeat_at
    assert row.last_contact_at == row.last_heartbeat_at


def test_a_heartbeat_with_a_new_skew_is_written(smiletap: Smiletap, app: Flask) -> None:
    kiosk = smiletap.setup()
    _heartbeat(kiosk)
    _heartbeat(kiosk, sent_at=(utcnow() + timedelta(minutes=5)).isoformat())
    assert _device_row(app, kiosk.device_id).clock_skew_s > 250


def test_an_upload_writes_contact_like_a_poll(smiletap: Smiletap, app: Flask) -> None:
    kiosk = smiletap.setup()
    assert kiosk.submit([kiosk.item()]).status_code == 200  # the first skew is news
    stored = _device_row(app, kiosk.device_id)
    assert stored.clock_skew_s is not None
    with _writes(app) as writes:
        item = kiosk.item()
        assert kiosk.submit([item]).json["results"][0]["status"] == "accepted"
    assert not [w for w in writes if "UPDATE devices" in w]  # neither due nor a new skew
    assert _device_row(app, kiosk.device_id).last_contact_at == stored.last_contact_at
    with _writes(app) as writes:  # a resend that is all duplicates writes nothing at all
        assert kiosk.submit([item]).json["results"][0]["status"] == "duplicate"
    assert writes == []
    ahead = (utcnow() + timedelta(minutes=5)).isoformat()
    kiosk.submit([kiosk.item()], sent_at=ahead)
    assert _device_row(app, kiosk.device_id).clock_skew_s > 250  # a moved skew is written
    _backdate_contact(app, kiosk.device_id, float(app.config["CONTACT_WRITE_INTERVAL_S"]) + 1)
    called_at = utcnow()
    kiosk.submit([kiosk.item()], sent_at=ahead)
    written = as_utc(_device_row(app, kiosk.device_id).last_contact_at)
    assert written is not None and written >= called_at  # due: written
