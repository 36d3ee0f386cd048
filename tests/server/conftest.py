"""Fixtures for server tests: `app`, `client` and `runner` on SQLite and on PostgreSQL.

Each backend's database is made and migrated once per session; every test starts from empty
tables. PostgreSQL tests skip locally when the server is unreachable, and fail under CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config as AlembicConfig
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from server import migrations
from server.app import create_app
from server.cli import main
from server.db import dispose_engine, make_engine
from server.store.schema import DELETE_ORDER, metadata
from shared.clock import to_rfc3339
from tests.pgdb import fresh_pg_database
from tests.server.alerting import SmtpServer

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/"

SURVEY: dict[str, Any] = {
    "languages": ["en", "pl"],
    "default_language": "en",
    "questions": [
        {
            "id": "q1",
            "kind": "smiley",
            "scale": 5,
            "text": {"en": "How was it?", "pl": "Jak było?"},
            "follow_up": {
                "when_at_most": 2,
                "text": {"en": "Why?", "pl": "Dlaczego?"},
                "reasons": [
                    {"id": "wait", "text": {"en": "Waiting", "pl": "Czekanie"}},
                    {"id": "rude", "text": {"en": "Rude", "pl": "Niemiło"}},
                ],
            },
            "comment": True,
        },
        {
            "id": "q2",
            "kind": "nps",
            "scale": 11,
            "text": {"en": "Recommend us?", "pl": "Polecisz nas?"},
        },
    ],
    "staff_prompt": "ask",
    "thank_you": {"en": "Thanks!", "pl": "Dziękujemy!"},
}


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file for the session."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'smiletap.db'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for the session, dropped at the end."""
    base = make_url(os.environ.get("SMILETAP_TEST_PG_URL", DEFAULT_PG_URL))
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    name = f"smiletap_test_{uuid.uuid4().hex[:12]}"
    admin_engine = make_engine(base.set(database="postgres").render_as_string(False))
    admin = admin_engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin_engine.dispose()
        reason = f"PostgreSQL unreachable at {base.render_as_string()}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin_engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def throwaway_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Engine, AlembicConfig]]:
    """An empty database of each backend (a new file, or a new PostgreSQL database dropped
    afterwards) and an Alembic config on it, for tests that migrate up and down by hand."""
    with contextlib.ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path / 'old.db'}"
            if request.param == "sqlite"
            else stack.enter_context(fresh_pg_database())
        )
        engine = make_engine(url)
        stack.callback(engine.dispose)
        yield engine, migrations.alembic_config(engine)


def _emptying_sql(engine: Engine) -> str | None:
    """PostgreSQL: one round trip that deletes every row and restarts the id sequences (what
    `TRUNCATE ... RESTART IDENTITY` does, but ~30x faster on small tables: TRUNCATE makes new
    files for each of ~36 tables, ~0.2-1 s a test). SQLite: None (deleted table by table)."""
    if engine.dialect.name != "postgresql":
        return None
    deletes = [f'DELETE FROM "{table.name}"' for table in DELETE_ORDER]
    serial = [
        f"setval(pg_get_serial_sequence('\"{table.name}\"', '{column.name}'), 1, false)"
        for table in metadata.sorted_tables
        for column in table.primary_key.columns
        if column.autoincrement is True
    ]
    return "; ".join([*deletes, "SELECT " + ", ".join(serial)])


@pytest.fixture(scope="session")
def emptying_engines() -> Iterator[dict[str, Engine]]:
    """One engine per session database, to empty it before each test."""
    made: dict[str, Engine] = {}
    yield made
    for engine in made.values():
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, emptying_engines: dict[str, Engine]) -> str:
    """The backend's session database, emptied for this test."""
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = emptying_engines.get(url)
    if engine is None:
        engine = emptying_engines[url] = make_engine(url)
    sql = _emptying_sql(engine)
    with engine.begin() as conn:
        if sql is not None:
            conn.exec_driver_sql(sql)
        else:
            for table in DELETE_ORDER:
                conn.execute(table.delete())
    return url


@pytest.fixture(scope="session")
def built_apps() -> Iterator[dict[str, Flask]]:
    """The `app` of each backend's session database, built on first use."""
    built: dict[str, Flask] = {}
    yield built
    for app in built.values():
        dispose_engine(app)


@pytest.fixture
def app(
    database_url: str, built_apps: dict[str, Flask], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """The app on the test database; after the test, its connections closed and whatever the
    test changed of its settings (`settings.override`), config or extensions put back.

    One app per backend and session: building one costs ~0.07 s of CPU (werkzeug compiles
    each of ~80 routes) and a thousand tests use one. The app keeps no other state of its own
    (the data is in the database, emptied for each test). A test that needs other settings
    from the start builds its own with `create_app`.
    """
    app = built_apps.get(database_url)
    if app is None:
        instance = str(tmp_path_factory.mktemp("instance"))
        app = create_app({"TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": instance})
        built_apps[database_url] = app
    config, extensions = dict(app.config), dict(app.extensions)
    yield app
    dispose_engine(app)
    app.config.clear()
    app.config.update(config)
    app.extensions.clear()
    app.extensions.update(extensions)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


class Cli:
    """Runs `smiletap-server` commands against the test database.

    Given the test's `app`, every command works on it (as `obj`) instead of building its own
    from the environment: an app costs ~0.1 s to build, and a test runs many commands.
    """

    def __init__(self, database_url: str, instance_path: str, app: Flask | None = None) -> None:
        self.env = {
            "SMILETAP_DATABASE_URL": database_url,
            "SMILETAP_INSTANCE_PATH": instance_path,
        }
        self.app = app
        self.runner = CliRunner()

    def invoke(self, *args: str, stdin: str | None = None) -> Result:
        """Run a command (fed `stdin`); return click's result whatever the exit code."""
        return self.runner.invoke(
            main, list(args), input=stdin, env=self.env, obj=self.app, catch_exceptions=False
        )

    def json(self, *args: str) -> dict[str, Any]:
        """Run a command with --json, assert success and return the object it printed."""
        result = self.invoke(*args, "--json")
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data


@pytest.fixture
def runner(app: Flask, database_url: str, tmp_path: Path) -> Cli:
    """The CLI on the test database, through the test's app."""
    return Cli(database_url, str(tmp_path), app)


def now_rfc3339() -> str:
    """The current time on the wire."""
    return to_rfc3339(datetime.now(UTC))


class Smiletap:
    """Repeated sequences: a location with a survey, an enrolled device, submissions, keys."""

    def __init__(self, client: FlaskClient, cli: Cli, tmp_path: Path) -> None:
        self.client = client
        self.cli = cli
        self.tmp_path = tmp_path

    def survey_file(self, body: dict[str, Any] | None = None) -> str:
        """Write a survey definition to a file and return its path."""
        path = self.tmp_path / f"survey-{uuid.uuid4().hex[:6]}.json"
        path.write_text(json.dumps(body or SURVEY), encoding="utf-8")
        return str(path)

    def location(self, timezone: str = "Europe/Warsaw", name: str = "Centrum") -> str:
        """Create a location and return its id."""
        return self.cli.json("create-location", "--name", name, "--timezone", timezone)["id"]

    def survey(self, body: dict[str, Any] | None = None) -> str:
        """Create a survey and return its id."""
        return self.cli.json("create-survey", "--file", self.survey_file(body))["id"]

    def device(self, location_id: str, name: str = "Front door") -> dict[str, Any]:
        """Create a device; return {device_id, code, expires_at}."""
        return self.cli.json("create-device", "--location", location_id, "--name", name)

    def enroll(self, code: str) -> str:
        """Enroll with a code and return the token."""
        response = self.client.post("/api/v1/enroll", json={"code": code})
        assert response.status_code == 201, response.json
        return str(response.json["token"])

    def setup(self, timezone: str = "Europe/Warsaw") -> Kiosk:
        """A location showing the default survey, with one enrolled device."""
        location_id = self.location(timezone)
        survey_id = self.survey()
        self.cli.json("assign-survey", "--location", location_id, "--survey", survey_id)
        device = self.device(location_id)
        token = self.enroll(device["code"])
        return Kiosk(self.client, location_id, survey_id, device["device_id"], token)

    def api_key(self, role: str = "admin", *location_ids: str) -> str:
        """Create an API key and return it."""
        args = [arg for loc in location_ids for arg in ("--location", loc)]
        return self.cli.json("create-api-key", "--role", role, *args)["key"]

    def scores(self, key: str, **params: Any) -> Any:
        """GET /reports/scores with these query parameters."""
        return self.client.get(
            "/api/v1/reports/scores",
            query_string=params,
            headers={"Authorization": f"Bearer {key}"},
        )


class Kiosk:
    """An enrolled device and what it knows."""

    def __init__(
        self, client: FlaskClient, location_id: str, survey_id: str, device_id: str, token: str
    ) -> None:
        self.client = client
        self.location_id = location_id
        self.survey_id = survey_id
        self.device_id = device_id
        self.token = token

    @property
    def headers(self) -> dict[str, str]:
        """The device's Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}

    def item(self, value: int = 5, question_id: str = "q1", **overrides: Any) -> dict[str, Any]:
        """One submission with one answer; overrides replace top-level fields."""
        item = {
            "id": str(uuid.uuid4()),
            "survey_id": self.survey_id,
            "survey_version": 1,
            "location_id": self.location_id,
            "staff_id": None,
            "language": "en",
            "tapped_at": now_rfc3339(),
            "answers": [{"question_id": question_id, "value": value, "reasons": []}],
            "flags": [],
        }
        item.update(overrides)
        return item

    def submit(self, items: list[dict[str, Any]], sent_at: str | None = None) -> Any:
        """POST a batch; return the response."""
        body = {"sent_at": sent_at or now_rfc3339(), "submissions": items}
        return self.client.post("/api/v1/submissions", json=body, headers=self.headers)

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET with the device's token."""
        return self.client.get(path, headers={**self.headers, **kwargs.pop("headers", {})})

    def post(self, path: str, **kwargs: Any) -> Any:
        """POST with the device's token."""
        return self.client.post(path, headers=self.headers, **kwargs)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives."""
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def smiletap(client: FlaskClient, runner: Cli, tmp_path: Path) -> Smiletap:
    """The helper for repeated request sequences."""
    return Smiletap(client, runner, tmp_path)


def assert_error(response: Any, status: int, code: str, field: str | None = "any") -> None:
    """Assert PROTOCOL.md's error shape, its code and (unless 'any') its field."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    if field != "any":
        assert body["error"]["field"] == field
