"""POST /api/v1/enroll."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from server import settings
from server.db import get_engine
from server.settings import defaults
from server.store import devices
from server.store.schema import enroll_codes
from shared.clock import parse_rfc3339, utcnow
from tests.server.conftest import Smiletap, assert_error


def test_enroll_ok(smiletap: Smiletap, client) -> None:
    device = smiletap.device(smiletap.location())
    info = {"app_version": "1.0.0", "platform": "linux", "hostname": "pi-front"}
    response = client.post("/api/v1/enroll", json={"code": device["code"], "device_info": info})
    assert response.status_code == 201
    body = response.json
    assert set(body) == {"device_id", "token", "server_time"}
    assert body["device_id"] == device["device_id"]
    assert len(body["token"]) >= 40
    assert parse_rfc3339(body["server_time"])


def test_code_is_case_and_dash_insensitive(smiletap: Smiletap, client) -> None:
    code = smiletap.device(smiletap.location())["code"]
    typed = code.replace("-", " ").lower()
    assert client.post("/api/v1/enroll", json={"code": typed}).status_code == 201


def test_reused_unknown_expired_codes_are_the_same_answer(smiletap: Smiletap, client, app) -> None:
    location_id = smiletap.location()
    used = smiletap.device(location_id)["code"]
    smiletap.enroll(used)
    expired = smiletap.device(location_id)["code"]
    with get_engine(app).begin() as conn:
        conn.execute(
            update(enroll_codes)
            .where(enroll_codes.c.used_at.is_(None))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    answers = []
    for code in (used, expired, "BCDFG-HJKLM"):
        response = client.post("/api/v1/enroll", json={"code": code})
        assert_error(response, 400, "invalid_code", "code")
        answers.append(response.json)
    assert answers[0] == answers[1] == answers[2]


def test_reenroll_replaces_token(smiletap: Smiletap, runner, client) -> None:
    kiosk = smiletap.setup()
    code = runner.json("new-enroll-code", kiosk.device_id)["code"]
    new_token = smiletap.enroll(code)
    assert_error(kiosk.get("/api/v1/config"), 401, "unauthorized")
    response = client.get("/api/v1/config", headers={"Authorization": f"Bearer {new_token}"})
    assert response.status_code == 200


def test_rate_limited_per_address(smiletap: Smiletap, client, app) -> None:
    settings.override(app, enroll_fails_per_address=3)
    good = smiletap.device(smiletap.location())["code"]
    for _ in range(3):
        assert_error(
            client.post("/api/v1/enroll", json={"code": "XXXXX-XXXXX"}), 400, "invalid_code"
        )
    # Even a good code is refused while the address is limited.
    assert_error(client.post("/api/v1/enroll", json={"code": good}), 429, "rate_limited")
    other = client.post(
        "/api/v1/enroll", json={"code": good}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 201


def test_rate_limited_globally(client, app) -> None:
    settings.override(app, enroll_fails_global=4)
    for i in range(4):
        response = client.post(
            "/api/v1/enroll", json={"code": "XX"}, environ_base={"REMOTE_ADDR": f"10.0.1.{i}"}
        )
        assert_error(response, 400, "invalid_code")
    response = client.post(
        "/api/v1/enroll", json={"code": "XX"}, environ_base={"REMOTE_ADDR": "10.0.2.1"}
    )
    assert_error(response, 429, "rate_limited")


def test_failures_from_many_addresses_do_not_block_enrollment(smiletap: Smiletap, client) -> None:
    # The review: 200 failures from anywhere blocked every enrollment chain-wide. With the
    # defaults, 200 guessers (one failure each) leave a fresh address free to enroll.
    for i in range(200):
        response = client.post(
            "/api/v1/enroll",
            json={"code": "XXXXX-XXXXX"},
            environ_base={"REMOTE_ADDR": f"10.1.{i // 250}.{i % 250}"},
        )
        assert_error(response, 400, "invalid_code")
    good = smiletap.device(smiletap.location())["code"]
    fresh = client.post(
        "/api/v1/enroll", json={"code": good}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert fresh.status_code == 201


def test_the_global_cap_is_far_above_what_guessing_could_use() -> None:
    # SECURITY.md's arithmetic: at the cap, every failure the window allows for a whole code
    # lifetime, against 100 live codes, finds one with odds below 1 in 100,000.
    default = defaults()
    codes = len(devices.CODE_ALPHABET) ** devices.CODE_LENGTH
    windows = default["ENROLL_CODE_TTL_H"] * 3600 / default["ENROLL_FAIL_WINDOW_S"]
    guesses = default["ENROLL_FAILS_GLOBAL"] * windows
    assert guesses * 100 / codes < 1e-5
    # ...and it takes a thousand addresses, each at its own limit, to reach the cap.
    assert default["ENROLL_FAILS_GLOBAL"] / default["ENROLL_FAILS_PER_ADDRESS"] >= 1000


def test_old_failures_expire(client, app) -> None:
    settings.override(app, enroll_fails_per_address=1, enroll_fail_window_s=0)
    for _ in range(3):
        assert_error(client.post("/api/v1/enroll", json={"code": "XX"}), 400, "invalid_code")


def _proxied_app(database_url: str, tmp_path, proxies: int):
    from server.app import create_app

    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "PROXY_FIX_X_FOR": proxies,
            "ENROLL_FAILS_PER_ADDRESS": 2,
        }
    )


def _fail_from(client, forwarded_for: str) -> int:
    response = client.post(
        "/api/v1/enroll",
        json={"code": "XXXXX-XXXXX"},
        headers={"X-Forwarded-For": forwarded_for},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},  # nginx on the same host
    )
    return int(response.status_code)


def test_behind_a_proxy_the_limit_sees_the_client(database_url, tmp_path) -> None:
    from server.db import dispose_engine

    app = _proxied_app(database_url, tmp_path, 1)
    client = app.test_client()
    assert [_fail_from(client, "203.0.113.5") for _ in range(3)] == [400, 400, 429]
    # Another client behind the same proxy is not limited; a forged earlier hop is ignored.
    assert _fail_from(client, "203.0.113.5, 198.51.100.7") == 400
    assert _fail_from(client, "198.51.100.7") == 400
    dispose_engine(app)


def test_without_proxy_fix_forwarded_for_is_ignored(database_url, tmp_path) -> None:
    from server.db import dispose_engine

    app = _proxied_app(database_url, tmp_path, 0)
    client = app.test_client()
    assert [_fail_from(client, f"203.0.113.{i}") for i in range(3)] == [400, 400, 429]
    dispose_engine(app)
