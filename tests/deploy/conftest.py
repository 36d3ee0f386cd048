"""Fixtures for the deploy tests: a fresh PostgreSQL database and a small data set.

The servers run as real processes (the harness's `ServerProcess`, or gunicorn behind nginx in
`test_nginx.py`); data goes in through the CLI and over HTTP, as an operator and a kiosk put it
(the CLI's commands run in the test's process, `ServerProcess.cli_here`: cold processes cost
a second or more each).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.pgdb import fresh_pg_database

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DEMO_SURVEY = DEPLOY / "examples" / "demo-survey.json"
BIN = Path(sys.executable).parent

sys.path.insert(0, str(DEPLOY / "dev"))


@pytest.fixture
def new_pg_database() -> Iterator[Callable[[], str]]:
    """Makes fresh, empty PostgreSQL databases on demand; drops them all afterwards."""
    with ExitStack() as made:
        yield lambda: made.enter_context(fresh_pg_database())


def http_json(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """One request with a JSON body; the status and the decoded answer, errors included."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


class Seeded:
    """What `seed` made: ids, the admin API key, and the report window."""

    def __init__(
        self, location_id: str, device_id: str, token: str, api_key: str, counts: list[int]
    ) -> None:
        self.location_id = location_id
        self.device_id = device_id
        self.token = token
        self.api_key = api_key
        self.counts = counts
        today = datetime.now(UTC).date()
        self.window: tuple[date, date] = (today - timedelta(days=2), today + timedelta(days=2))

    def report_path(self, group_by: str = "location") -> str:
        start, end = self.window
        return f"/api/v1/reports/scores?from={start}&to={end}&group_by={group_by}"


def seed(cli: Callable[..., dict[str, Any]], base_url: str) -> Seeded:
    """A location showing the demo survey, a device enrolled over HTTP, 40 uploaded answers."""
    location = cli("create-location", "--name", "Warszawa Centrum", "--timezone", "Europe/Warsaw")
    survey = cli("create-survey", "--file", str(DEMO_SURVEY))
    cli("assign-survey", "--location", location["id"], "--survey", survey["id"])
    device = cli("create-device", "--location", location["id"], "--name", "Front door")
    status, enrolled = http_json(
        "POST",
        f"{base_url}/api/v1/enroll",
        {"code": device["code"], "device_info": {"app_version": "1.0.0", "platform": "linux"}},
    )
    assert status == 201, enrolled
    values = [5] * 20 + [4] * 10 + [3] * 5 + [1] * 5
    tapped = datetime.now(UTC) - timedelta(minutes=5)
    items = [
        {
            "id": str(uuid.uuid4()),
            "survey_id": survey["id"],
            "survey_version": survey["version"],
            "location_id": location["id"],
            "staff_id": None,
            "language": "en",
            "tapped_at": (tapped + timedelta(seconds=20 * i)).isoformat(),
            "answers": [{"question_id": "q1", "value": v, "reasons": [], "comment": None}],
            "flags": [],
        }
        for i, v in enumerate(values)
    ]
    body = {"sent_at": datetime.now(UTC).isoformat(), "submissions": items}
    status, answer = http_json(
        "POST", f"{base_url}/api/v1/submissions", body, token=enrolled["token"]
    )
    assert status == 200, answer
    assert {r["status"] for r in answer["results"]} == {"accepted"}
    api_key = cli("create-api-key", "--role", "admin")["key"]
    counts = [values.count(face) for face in range(1, 6)]
    return Seeded(location["id"], enrolled["device_id"], enrolled["token"], api_key, counts)
