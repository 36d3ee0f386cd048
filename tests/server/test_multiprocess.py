"""Two gunicorn workers, many threads, the same ids at the same moment: nothing lost or doubled.

Runs the production entry point (`server.wsgi:app` with deploy/server/gunicorn.conf.py) on a
free loopback port against each backend's test database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from server.db import make_engine
from server.store import pending_rollups
from server.store.schema import rollups, submissions
from tests.server.conftest import Cli, now_rfc3339

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "server" / "gunicorn.conf.py"
THREADS = 8
IDS = 120
PER_THREAD = 60  # each thread sends half of all ids, so every id is sent by several

pytestmark = pytest.mark.e2e  # real gunicorn workers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A gunicorn process with two workers, and its log."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.log_path = tmp_path / "gunicorn.log"
        env = {
            **os.environ,
            "SMILETAP_DATABASE_URL": database_url,
            "SMILETAP_INSTANCE_PATH": str(tmp_path),
            "PYTHONPATH": str(ROOT),
        }
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        bind = self.url.removeprefix("http://")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONF), "-b", bind, "-w", "2"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        """Poll until the server answers, or fail with its log."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited:\n{self.log_path.read_text()}")
            try:
                requests.get(self.url + "/api/v1/openapi.json", timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.1)
        pytest.fail(f"gunicorn did not start:\n{self.log_path.read_text()}")

    def stop(self) -> str:
        """Stop gunicorn gracefully and return its log."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        return self.log_path.read_text()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """Gunicorn with two workers on the test database."""
    server = Server(database_url, tmp_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _item(kiosk: dict[str, str], submission_id: str, n: int) -> dict[str, Any]:
    return {
        "id": submission_id,
        "survey_id": kiosk["survey_id"],
        "survey_version": 1,
        "location_id": kiosk["location_id"],
        "staff_id": None,
        "language": "en",
        "tapped_at": "2026-11-20T12:00:00+01:00",
        "answers": [{"question_id": "q1", "value": 1 + n % 5, "reasons": []}],
        "flags": [],
    }


def test_concurrent_overlapping_batches(server: Server, database_url: str, runner: Cli) -> None:
    from tests.server.conftest import SURVEY

    survey_file = Path(runner.env["SMILETAP_INSTANCE_PATH"]) / "survey.json"
    import json

    survey_file.write_text(json.dumps(SURVEY), encoding="utf-8")
    location_id = runner.json("create-location", "--name", "A", "--timezone", "Europe/Warsaw")["id"]
    survey_id = runner.json("create-survey", "--file", str(survey_file))["id"]
    runner.json("assign-survey", "--location", location_id, "--survey", survey_id)
    code = runner.json("create-device", "--location", location_id, "--name", "D")["code"]
    token = requests.post(server.url + "/api/v1/enroll", json={"code": code}, timeout=10).json()[
        "token"
    ]
    key = runner.json("create-api-key", "--role", "admin")["key"]
    kiosk = {"location_id": location_id, "survey_id": survey_id}
    ids = [str(uuid.uuid4()) for _ in range(IDS)]
    items = {sid: _item(kiosk, sid, n) for n, sid in enumerate(ids)}

    barrier = threading.Barrier(THREADS)
    statuses: Counter[tuple[str, str]] = Counter()
    http_errors: list[str] = []
    lock = threading.Lock()

    def send(t: int) -> None:
        start = t * IDS // THREADS
        mine = [ids[(start + k) % IDS] for k in range(PER_THREAD)]
        batches = [mine[: PER_THREAD // 2], mine[PER_THREAD // 2 :]]
        with requests.Session() as session:
            barrier.wait()
            for batch in batches:
                body = {"sent_at": now_rfc3339(), "submissions": [items[i] for i in batch]}
                response = session.post(
                    server.url + "/api/v1/submissions",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=60,
                )
                with lock:
                    if response.status_code != 200:
                        http_errors.append(f"{response.status_code} {response.text[:200]}")
                        continue
                    for result in response.json()["results"]:
                        statuses[(result["id"], result["status"])] += 1

    threads = [threading.Thread(target=send, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert http_errors == []
    assert {status for _, status in statuses} <= {"accepted", "duplicate"}
    accepted = Counter(sid for (sid, status), n in statuses.items() if status == "accepted")
    assert sorted(accepted.values()) == [1] * IDS  # each id accepted exactly once
    assert sum(statuses.values()) == THREADS * PER_THREAD

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            pending_rollups.caught_up(conn)  # read as a reader reads them
            stored = conn.execute(select(func.count()).select_from(submissions)).scalar_one()
            counted = conn.execute(select(func.sum(rollups.c["count"]))).scalar_one()
    finally:
        engine.dispose()
    assert stored == IDS
    assert counted == IDS
    scores = requests.get(
        server.url + "/api/v1/reports/scores",
        params={"from": "2026-11-01", "to": "2026-11-30", "min_n": 0},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    ).json()
    assert [group["n"] for group in scores["groups"]] == [IDS]

    log = server.stop()
    assert "database is locked" not in log
    assert "Traceback" not in log
    assert " 500 " not in log


def test_an_answer_before_the_body_keeps_the_connection(server: Server) -> None:
    # A refusal that never reads the body (a wrong token on a 1 MiB batch): gunicorn would
    # drop the connection after 64 KiB of it, and nginx in front would answer 502. The app
    # reads it, so the 401 arrives and the connection serves the next request.
    import http.client

    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        body = b'{"items": [' + b" " * (1024 * 1024) + b"]}"
        headers = {"Content-Type": "application/json", "Authorization": "Bearer wrong"}
        connection.request("POST", "/api/v1/submissions", body=body, headers=headers)
        refused = connection.getresponse()
        refused.read()
        assert refused.status == 401
        connection.request("GET", "/healthz")
        health = connection.getresponse()
        assert health.status == 200 and b"ok" in health.read()
    finally:
        connection.close()
