"""GET /healthz, GET /readyz, and 503 `unavailable` when the database is not there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from flask import Flask

from server import migrations
from server.app import create_app
from server.db import dispose_engine, make_engine
from tests.server.conftest import Smiletap, assert_error

#: Nothing listens on port 1: connections are refused at once.
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/smiletap"


def _app_on(url: str, tmp_path: Path) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path)})


@pytest.fixture
def down_app(tmp_path: Path) -> Iterator[Flask]:
    """The app pointed at a PostgreSQL that is not running."""
    app = _app_on(UNREACHABLE, tmp_path)
    yield app
    dispose_engine(app)


def test_healthz_and_readyz_when_ready(client) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "ready" and body["schema"] == migrations.head_revision()


def test_healthz_touches_no_database_readyz_says_why(down_app: Flask) -> None:
    client = down_app.test_client()
    assert client.get("/healthz").status_code == 200
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["status"] == "not_ready"
    assert answer.get_json()["reason"].startswith("database unreachable")
    assert answer.headers["Retry-After"]


def test_readyz_refuses_a_schema_behind_the_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    config = migrations.alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
    engine.dispose()
    app = _app_on(url, tmp_path)
    try:
        answer = app.test_client().get("/readyz")
    finally:
        dispose_engine(app)
    assert answer.status_code == 503
    assert answer.get_json() == {
        "status": "not_ready",
        "reason": f"schema at 0006, this code needs {migrations.head_revision()}: run migrate",
    }


def test_readyz_refuses_an_empty_database(tmp_path: Path) -> None:
    app = _app_on(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    try:
        answer = app.test_client().get("/readyz")
    finally:
        dispose_engine(app)
    assert answer.status_code == 503 and "schema at none" in answer.get_json()["reason"]


def test_device_api_answers_503_with_retry_after_when_the_database_is_down(
    down_app: Flask,
) -> None:
    client = down_app.test_client()
    headers = {"Authorization": "Bearer some-token"}
    for answer in (
        client.get("/api/v1/config", headers=headers),
        client.post("/api/v1/heartbeat", headers=headers, json={"sent_at": "x"}),
        client.post("/api/v1/enroll", json={"code": "BCDFG-HJKLM"}),
    ):
        assert_error(answer, 503, "unavailable", None)
        assert int(answer.headers["Retry-After"]) > 0


def test_readyz_on_each_backend(smiletap: Smiletap) -> None:
    answer = smiletap.client.get("/readyz")
    assert answer.status_code == 200 and answer.get_json()["database"] in ("sqlite", "postgresql")
