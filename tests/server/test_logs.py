"""Request ids (X-Request-Id in, out and in every log line) and JSON log lines."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from server import logs
from server.app import create_app
from server.db import dispose_engine

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/smiletap"


@pytest.fixture
def json_lines(tmp_path: Path) -> Iterator[tuple[Flask, io.StringIO]]:
    """An app logging JSON into a buffer, on a database that is down (so it logs)."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": UNREACHABLE,
            "INSTANCE_PATH": str(tmp_path),
            "LOG_FORMAT": "json",
        }
    )
    buffer = io.StringIO()
    logs.configure("json", buffer)
    yield app, buffer
    logs.configure("text", None).setStream(None)  # type: ignore[arg-type]
    dispose_engine(app)


def test_the_callers_request_id_is_returned(client) -> None:
    answer = client.get("/healthz", headers={"X-Request-Id": "lb-1234.abc"})
    assert answer.headers["X-Request-Id"] == "lb-1234.abc"


@pytest.mark.parametrize("given", [None, "", "a" * 129, "bad id;x=1", "ünï"])
def test_a_missing_or_odd_request_id_is_replaced(client, given: str | None) -> None:
    headers = {} if given is None else {"X-Request-Id": given}
    answer = client.get("/healthz", headers=headers)
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-Id"])


def test_every_line_of_a_request_carries_its_id_as_json(
    json_lines: tuple[Flask, io.StringIO],
) -> None:
    app, buffer = json_lines
    client = app.test_client()
    answer = client.get(
        "/api/v1/config", headers={"Authorization": "Bearer x", "X-Request-Id": "req-42"}
    )
    assert answer.status_code == 503
    logging.getLogger("outside").warning("no request here")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    ours = [line for line in lines if line["request_id"] == "req-42"]
    assert ours and all(line["level"] in ("WARNING", "ERROR", "INFO") for line in ours)
    assert any("database unavailable" in line["message"] for line in ours)
    assert {"time", "level", "logger", "message", "request_id"} <= set(ours[0])
    assert lines[-1]["message"] == "no request here" and lines[-1]["request_id"] == "-"


def test_an_unknown_log_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        create_app({"INSTANCE_PATH": str(tmp_path), "LOG_FORMAT": "xml"})
