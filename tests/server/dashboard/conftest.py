"""Dashboard fixtures: users made with the CLI, signed-in clients, CSRF tokens from the forms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.server.conftest import Cli, Kiosk, Smiletap

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token from a form on this page."""
    page = client.get(path)
    found = CSRF.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path}: {page.status_code}"
    return found.group(1)


def create_user(
    cli: Cli, email: str, role: str, *location_ids: str, password: str = PASSWORD
) -> Any:
    """Run `create-user --password-stdin`; return click's result."""
    args = ["create-user", "--email", email, "--role", role, "--password-stdin", "--json"]
    for location_id in location_ids:
        args += ["--location", location_id]
    return cli.invoke(*args, stdin=password + "\n")


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    """POST the login form with a valid CSRF token; return the response."""
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def post(
    client: FlaskClient, path: str, data: dict[str, str] | None = None, page: str = "/dashboard/"
) -> Any:
    """POST a dashboard form with the CSRF token of this session."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, page)})


class Chain:
    """Two locations (A with a device and answers, B foreign to the manager) and two users."""

    def __init__(self, app: Flask, smiletap: Smiletap) -> None:
        self.app = app
        self.smiletap = smiletap
        self.kiosk: Kiosk = smiletap.setup()
        self.a = self.kiosk.location_id
        self.b = smiletap.location("Europe/London", "Zeta Mall")
        self.device_b = smiletap.device(self.b, "Till B")["device_id"]
        self._made: list[str] = []
        self._targets: dict[bool, dict[str, str]] = {}
        assert create_user(smiletap.cli, "admin@example.com", "admin").exit_code == 0
        result = create_user(smiletap.cli, "anna@example.com", "manager", self.a)
        assert result.exit_code == 0, result.output

    def admin_targets(self, own: bool) -> dict[str, str]:
        """Ids for the admin routes: a staff member, survey, user and API key at A or B."""
        if own in self._targets:
            return self._targets[own]
        location = self.a if own else self.b
        cli = self.smiletap.cli
        staff_id = cli.json("create-staff", "--location", location, "--name", "Ola")["id"]
        email = f"u{len(self._made)}@example.com"
        self._made.append(email)
        assert create_user(cli, email, "manager", location).exit_code == 0
        with self.app.app_context():
            from server.db import get_db
            from server.store import users

            conn = get_db()
            with conn.begin():
                found = users.credentials(conn, email)
            assert found is not None
        key = cli.json("create-api-key", "--role", "manager", "--location", location)
        from server.store import api_keys

        with self.app.app_context():
            from server.db import get_db

            conn = get_db()
            with conn.begin():
                key_id = api_keys.lookup(conn, key["key"])
            assert key_id is not None
        survey = self.kiosk.survey_id if own else self.smiletap.survey()
        touchpoint = cli.json("create-touchpoint", "--location", location, "--name", "Door")
        with self.app.app_context():
            from server.db import get_db
            from server.store import destinations

            conn = get_db()
            with conn.begin():
                # Loopback, not allowed: a test message to it is refused without a connection.
                destination_id, _ = destinations.create(
                    conn, "Chat", "slack", "https://127.0.0.1/hook", [location], "cli"
                )
        made = {
            "stf": staff_id,
            "srv": survey,
            "usr": found[0].id,
            "key": key_id.id,
            "tp": touchpoint["id"],
            "dst": destination_id,
        }
        self._targets[own] = made
        return made

    def client(self, who: str | None) -> FlaskClient:
        """A fresh client, signed in as admin, manager, or nobody (None)."""
        client = self.app.test_client()
        if who:
            email = "admin@example.com" if who == "admin" else "anna@example.com"
            assert login(client, email).status_code == 302
        return client


@pytest.fixture
def chain(app: Flask, smiletap: Smiletap) -> Chain:
    """The two-location chain with an admin and a manager of location A."""
    return Chain(app, smiletap)


def store_said(app: Flask, location_id: str, device_id: str, comment: str, at: Any = None) -> str:
    """Store a submission with a commented low answer straight into the database (for a
    location with no enrolled kiosk); return its id."""
    import uuid
    from datetime import UTC, datetime

    from server.db import get_db
    from server.store import submissions

    moment = at or datetime.now(UTC)
    submission_id = str(uuid.uuid4())
    row = {
        "id": submission_id,
        "device_id": device_id,
        "location_id": location_id,
        "survey_id": "srv_any",
        "survey_version": 1,
        "staff_id": None,
        "touchpoint_id": None,
        "language": "en",
        "tapped_at": moment,
        "received_at": moment,
        "skew_s": 0.0,
        "effective_at": moment,
        "local_date": moment.date(),
        "weekday": moment.isoweekday(),
        "hour": moment.hour,
        "burst": False,
        "content_hash": submission_id,
        "payload": "{}",
    }
    answer = {
        "submission_id": submission_id,
        "question_id": "q1",
        "kind": "smiley",
        "scale": 5,
        "value": 1,
        "reasons": "[]",
        "comment": comment,
    }
    with app.app_context():
        conn = get_db()
        with conn.begin():
            submissions.insert_many(
                conn,
                [[row[name] for name in submissions.SUBMISSION_COLUMNS]],
                [[answer[name] for name in submissions.ANSWER_COLUMNS]],
            )
    return submission_id
