"""Sign-in, CSRF, the login limit, ending sessions, password rules, cookies and headers."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from server import settings
from server.app import create_app
from server.dashboard import access
from server.db import dispose_engine, get_db
from server.store import login_failures
from server.store.schema import login_failures as login_failures_table
from shared.clock import utcnow
from tests.server.conftest import Cli
from tests.server.dashboard.conftest import PASSWORD, Chain, create_user, csrf_token, login, post


def test_login_then_pages_then_logout(chain: Chain) -> None:
    client = chain.client(None)
    assert login(client, "admin@example.com", "wrong password!").status_code == 401
    response = login(client, "Admin@Example.com ")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert post(client, "/logout").status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_login_next_stays_on_this_site(chain: Chain) -> None:
    client = chain.client(None)
    token = csrf_token(client)
    form = {"email": "admin@example.com", "password": PASSWORD, "csrf_token": token}
    answer = client.post("/login", data={**form, "next": "//evil.example/x"})
    assert answer.headers["Location"] == "/dashboard/"
    # The review's two: a tab a browser drops (-> //evil.example/), a line break (was a 500).
    for target in ("/\t/evil.example/", "/\n/x"):
        client = chain.client(None)
        form["csrf_token"] = csrf_token(client)
        answer = client.post("/login", data={**form, "next": target})
        assert (answer.status_code, answer.headers["Location"]) == (302, "/dashboard/")


NEXT_TARGETS = [
    ("/dashboard/locations/loc_1?period=7", True),
    ("/dashboard/devices/#top", True),
    ("/a%0a/b", True),  # an encoded break stays text in the path
    ("//evil.example/x", False),
    ("///evil.example/x", False),
    ("/\\evil.example", False),
    ("/\t/evil.example/", False),
    ("/\r\n/x", False),
    ("/\x00/x", False),
    ("/\u2028/x", False),
    ("/ /x", False),
    ("https://evil.example/", False),
    ("javascript:alert(1)", False),
    ("evil.example", False),
    ("", False),
]


def test_safe_next_accepts_only_a_local_path(app: Flask) -> None:
    with app.test_request_context():
        chosen = {target: access.safe_next(target) for target, _kept in NEXT_TARGETS}
    assert chosen == {t: (t if kept else "/dashboard/") for t, kept in NEXT_TARGETS}


@pytest.mark.parametrize("path", ["/login", "/logout", "/dashboard/devices/"])
def test_post_without_csrf_token_is_refused(chain: Chain, path: str) -> None:
    client = chain.client("admin")
    response = client.post(path, data={"email": "admin@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    bad = client.post(path, data={"csrf_token": "forged"})
    assert bad.status_code == 400


def test_api_is_not_subject_to_csrf(chain: Chain) -> None:
    assert chain.kiosk.submit([chain.kiosk.item(5)]).status_code == 200


def _login_from(chain: Chain, address: str, email: str, password: str = PASSWORD) -> Any:
    """A sign-in from this client address (a fresh client, its own CSRF token)."""
    client = chain.client(None)
    form = {"email": email, "password": password, "csrf_token": csrf_token(client)}
    return client.post("/login", data=form, environ_base={"REMOTE_ADDR": address})


def test_a_strangers_failures_never_lock_the_owner_out(chain: Chain) -> None:
    # The review: 5 wrong passwords from anywhere kept the owner out for 15 minutes.
    answers = [_login_from(chain, "198.51.100.7", "anna@example.com", "guess") for _ in range(8)]
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 3
    assert _login_from(chain, "203.0.113.5", "anna@example.com").status_code == 302


def test_failed_logins_slow_down_the_same_account_from_the_same_address(
    app: Flask, chain: Chain
) -> None:
    client = chain.client(None)
    for _ in range(5):
        assert login(client, "anna@example.com", "not the password").status_code == 401
    limited = login(client, "anna@example.com")  # even the right password, for now
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert "Try again in 1 s" in limited.get_data(as_text=True)
    assert login(client, "admin@example.com").status_code == 302  # other accounts still work
    # Once the wait is over, the right password gets in and the slate is clean.
    with app.app_context():
        conn = get_db()
        with conn.begin():
            table = login_failures_table
            conn.execute(update(table).values(at=utcnow() - timedelta(seconds=2)))
    assert login(chain.client(None), "anna@example.com").status_code == 302
    assert login(chain.client(None), "anna@example.com", "not the password").status_code == 401


def test_failed_logins_are_limited_per_address(app: Flask, chain: Chain) -> None:
    settings.override(app, login_fails_per_address=3, login_fails_per_account_address=100)
    client = chain.client(None)
    for n in range(3):
        assert login(client, f"nobody{n}@example.com", "whatever1234").status_code == 401
    assert login(client, "admin@example.com").status_code == 429
    assert _login_from(chain, "203.0.113.5", "admin@example.com").status_code == 302


def test_each_try_past_the_free_ones_waits_twice_as_long(app: Flask) -> None:
    throttle = login_failures.Throttle(
        per_account_address=2, per_address=4, window_s=3600, max_delay_s=8
    )
    start = utcnow()
    waits = []
    with app.app_context():
        conn = get_db()
        with conn.begin():
            now = start
            for _ in range(7):
                login_failures.record(conn, "a@example.com", "10.0.0.1", now)
                waits.append(
                    login_failures.wait_s(conn, "a@example.com", "10.0.0.1", throttle, now)
                )
                now += timedelta(seconds=waits[-1])
            # Past the window, everything is forgotten.
            later = now + timedelta(seconds=3601)
            assert login_failures.wait_s(conn, "a@example.com", "10.0.0.1", throttle, later) == 0
    assert waits == [0, 1, 2, 4, 8, 8, 8]


def test_failures_are_counted_in_the_database(
    app: Flask, chain: Chain, database_url: str, tmp_path: Path
) -> None:
    # A second app (another process's view of the same database) sees the same count. It lets
    # one failure pass free, so five make it wait 16 s, not the 1 s a default app would: a
    # slow machine's next try cannot come after the wait is over.
    other = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "LOGIN_FAILS_PER_ACCOUNT_ADDRESS": 1,
        }
    )
    client = chain.client(None)
    for _ in range(5):
        login(client, "anna@example.com", "not the password")
    try:
        assert login(other.test_client(), "anna@example.com").status_code == 429
    finally:
        dispose_engine(other)


def test_password_change_ends_other_sessions(chain: Chain) -> None:
    here, elsewhere = chain.client("manager"), chain.client("manager")
    form = {"current": PASSWORD, "new": "a much better secret", "confirm": "a much better secret"}
    response = post(here, "/account/password", form, page="/account/password")
    assert response.status_code == 302
    assert here.get("/dashboard/").status_code == 200
    assert elsewhere.get("/dashboard/").status_code == 302
    assert login(chain.client(None), "anna@example.com").status_code == 401
    assert login(chain.client(None), "anna@example.com", "a much better secret").status_code == 302


def test_logout_ends_every_session_of_the_user(chain: Chain) -> None:
    here, elsewhere, admin = chain.client("manager"), chain.client("manager"), chain.client("admin")
    post(here, "/logout")
    assert elsewhere.get("/dashboard/").status_code == 302
    assert admin.get("/dashboard/").status_code == 200


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        ("short1", "short1", "at least 8"),
        ("x" * 129 + "yz", "x" * 129 + "yz", "at most 128"),
        ("password123", "password123", "too common"),
        ("a fine new one", "a different one", "do not match"),
    ],
)
def test_password_rules(chain: Chain, new: str, confirm: str, message: str) -> None:
    client = chain.client("manager")
    form = {"current": PASSWORD, "new": new, "confirm": confirm}
    response = post(client, "/account/password", form, page="/account/password")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_wrong_current_password_is_refused(chain: Chain) -> None:
    client = chain.client("manager")
    form = {"current": "nope nope nope", "new": "a fine new one", "confirm": "a fine new one"}
    response = post(client, "/account/password", form, page="/account/password")
    assert response.status_code == 400 and "current password is wrong" in response.get_data(
        as_text=True
    )


def test_cookie_flags_and_security_headers(chain: Chain) -> None:
    client = chain.client(None)
    response = login(client, "admin@example.com")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/dashboard/")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in page.headers
    # What a signed-in user sees is never kept by a shared proxy or the browser's disk.
    export = client.get(f"/dashboard/locations/{chain.a}/responses.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert page.headers["Cache-Control"] == export.headers["Cache-Control"] == "no-store"


def test_tls_setting_makes_cookie_secure_and_sends_hsts(
    database_url: str, tmp_path: Path, runner: Cli
) -> None:
    app = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "TLS": True}
    )
    try:
        assert create_user(runner, "it@example.com", "admin").exit_code == 0
        client = app.test_client()
        response = login(client, "it@example.com")
        assert "Secure" in response.headers["Set-Cookie"]
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        dispose_engine(app)


def test_create_user_command(runner: Cli) -> None:
    result = create_user(runner, "it@example.com", "admin")
    assert result.exit_code == 0 and json.loads(result.stdout)["id"].startswith("usr")
    again = create_user(runner, "IT@example.com", "admin")
    assert again.exit_code != 0 and "exists already" in again.output
    manager = create_user(runner, "m@example.com", "manager")
    assert manager.exit_code != 0 and "at least one location" in manager.output
    weak = create_user(runner, "w@example.com", "admin", password="password")
    assert weak.exit_code != 0 and "too common" in weak.output
    unknown = create_user(runner, "u@example.com", "manager", "loc_missing")
    assert unknown.exit_code != 0 and "no location" in unknown.output
