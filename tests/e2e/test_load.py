"""50 kiosks upload and send heartbeats at once, for a bounded time, to gunicorn with two
workers, on SQLite and PostgreSQL: no errors, every tap stored once. Throughput and p99 are
printed (never asserted). `SMILETAP_SOAK=N` runs N times longer.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from harness import GunicornProcess

from tests.e2e.kiosk_driver import server_counts
from tests.soak import soak_factor

pytestmark = pytest.mark.e2e

KIOSKS = 50
DEMO_SURVEY = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "demo-survey.json"


def test_fifty_kiosks_at_once(database_url: str | None, tmp_path: Path) -> None:
    server = GunicornProcess(tmp_path / "server", database_url, workers=2)
    server.cli_here("migrate")
    location = server.cli_here("create-location", "--name", "Load", "--timezone", "Europe/Warsaw")[
        "id"
    ]
    survey = server.cli_here("create-survey", "--file", str(DEMO_SURVEY))
    server.cli_here("assign-survey", "--location", location, "--survey", survey["id"])
    codes = [  # in this process: 50 cold CLI processes took longer than the load itself
        server.cli_here("create-device", "--location", location, "--name", f"k{i}")["code"]
        for i in range(KIOSKS)
    ]
    server.start()
    tokens = [
        requests.post(f"{server.url}/api/v1/enroll", json={"code": c}, timeout=30).json()["token"]
        for c in codes
    ]

    deadline = time.monotonic() + 8 * soak_factor()
    latencies: list[float] = []
    errors: list[str] = []
    sent: list[str] = []
    lock = threading.Lock()

    def kiosk(token: str, index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        beat = 0
        while time.monotonic() < deadline:
            now = dt.datetime.now(dt.UTC).isoformat()
            batch = [
                {
                    "id": str(uuid.uuid4()),
                    "survey_id": survey["id"],
                    "survey_version": survey["version"],
                    "location_id": location,
                    "language": "en",
                    "tapped_at": now,
                    "answers": [{"question_id": "q1", "value": 1 + (index + beat) % 5}],
                }
                for _ in range(10)
            ]
            for path, body in (
                ("submissions", {"sent_at": now, "submissions": batch}),
                ("heartbeat", {"sent_at": now, "backlog": 0}),
            ):
                start = time.perf_counter()
                try:
                    answer = session.post(f"{server.url}/api/v1/{path}", json=body, timeout=60)
                except requests.RequestException as exc:
                    with lock:
                        errors.append(f"{path}: {exc}")
                    continue
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if answer.status_code != 200:
                        errors.append(f"{path}: {answer.status_code} {answer.text[:200]}")
                    elif path == "submissions":
                        statuses = {r["status"] for r in answer.json()["results"]}
                        if statuses != {"accepted"}:
                            errors.append(f"results: {statuses}")
                        sent.extend(s["id"] for s in batch)
            beat += 1
        session.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=kiosk, args=(t, i)) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - started
    server.stop()
    log = server.log_path.read_text()

    assert errors == []
    assert "database is locked" not in log and "Traceback" not in log
    stored, counted = server_counts(server)
    assert sorted(stored) == sorted(sent)
    assert counted == len(sent)
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    backend = "postgresql" if database_url else "sqlite"
    print(
        f"load ({backend}, gunicorn 2 workers, {KIOSKS} kiosks, {elapsed:.1f} s): "
        f"{len(latencies) / elapsed:.0f} requests/s, {len(sent) / elapsed:.0f} taps/s, "
        f"p99 {p99:.0f} ms, {len(errors)} errors"
    )
