"""The server is killed (SIGKILL) and restarted again and again while a kiosk uploads:
nothing lost, nothing counted twice, the database sound. On SQLite and PostgreSQL.
`SMILETAP_SOAK=N` runs N times as many kills.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from harness import ServerProcess
from sqlalchemy import create_engine, text

from tests.e2e.kiosk_driver import HeadlessKiosk, server_counts
from tests.soak import soak_factor

pytestmark = pytest.mark.e2e

DEMO_SURVEY = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "demo-survey.json"
#: The most taps the kiosk holds before it stops tapping until some are uploaded.
MAX_BACKLOG = 200


def test_server_killed_during_uploads(database_url: str | None, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server", database_url).start()
    location = server.cli_here("create-location", "--name", "Kill", "--timezone", "Europe/Warsaw")[
        "id"
    ]
    survey = server.cli_here("create-survey", "--file", str(DEMO_SURVEY))
    server.cli_here("assign-survey", "--location", location, "--survey", survey["id"])
    kiosk = HeadlessKiosk(server, tmp_path / "kiosk", location, survey)
    rng = random.Random(5)
    stop = threading.Event()

    def tap_and_upload() -> None:
        while not stop.is_set():
            # Taps pile up while the server is down, to a bound: unbounded, this loop made
            # thousands a second for the server to take in afterwards (CPU, not a check).
            if kiosk.store.backlog() < MAX_BACKLOG:
                for _ in range(20):
                    kiosk.tap(rng.randint(1, 5))
            if kiosk.sync.upload_pending().sent == 0:  # fails while the server is down
                stop.wait(0.05)  # and is tried again soon, as the kiosk's own sync would

    worker = threading.Thread(target=tap_and_upload, daemon=True)
    worker.start()
    kills = 6 * soak_factor()
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(0.2, 1.2))
            assert server.proc is not None
            server.proc.kill()  # SIGKILL: no clean shutdown, maybe mid-commit
            server.proc.wait(timeout=10)
            server.start()
    finally:
        stop.set()
        worker.join(timeout=300)  # finishes its round; a slow machine may take a while
    assert not worker.is_alive(), "the tapping thread did not stop"
    kiosk.drain()
    recorded = kiosk.recorded_ids()
    kiosk.close()
    server.stop()

    stored, counted = server_counts(server)
    assert sorted(stored) == sorted(recorded)
    assert counted == len(recorded)
    if database_url is None:
        engine = create_engine(f"sqlite:///{server.instance_dir}/smiletap.db")
        with engine.connect() as db:
            assert db.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        engine.dispose()
    print(f"server killed {kills}x: {len(recorded)} taps, server {len(stored)}")
