"""The server's own dependencies fail under a fleet's load: PostgreSQL stops and starts
again; the disk under the SQLite file fills up. Kiosks (threads with the kiosk's own
`Backoff`) keep tapping and uploading meanwhile. The server must answer 503 with
`Retry-After` — never hang, never a 500 — recover without a restart, and in the end hold
every tap exactly once, with nothing half-written.

Bounded for CI: the database is down for 10 s (60 s times `SMILETAP_SOAK`/1 in soak mode —
`SMILETAP_SOAK=N` makes it 60·N s). PostgreSQL is a private throwaway cluster (initdb +
pg_ctl on a free port in a temporary folder), never the shared one at 5432.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from harness import GunicornProcess, free_port

from kiosk.sync import Backoff
from tests.e2e.fulldisk import fill, small_tmpfs
from tests.soak import soak_factor

pytestmark = pytest.mark.e2e

DEMO_SURVEY = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "demo-survey.json"
KIOSKS = 6
#: A request that takes longer than this counts as a hang.
HANG_S = 15.0


def outage_s() -> float:
    """How long the dependency stays broken: 10 s in CI, 60 s per soak step."""
    factor = soak_factor()
    return 10.0 if factor == 1 else 60.0 * factor


@dataclass
class Tally:
    """What the kiosks saw, across threads."""

    statuses: Counter[int] = field(default_factory=Counter)
    missing_retry_after: int = 0
    slowest_s: float = 0.0
    delivered: set[str] = field(default_factory=set)
    made: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, answer: requests.Response, took_s: float) -> None:
        with self.lock:
            self.statuses[answer.status_code] += 1
            self.slowest_s = max(self.slowest_s, took_s)
            if answer.status_code == 503 and not answer.headers.get("Retry-After"):
                self.missing_retry_after += 1


class FleetKiosk:
    """One kiosk: taps into a local backlog, uploads it oldest first, backs off on failure."""

    def __init__(self, url: str, token: str, survey: dict[str, Any], location_id: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.survey = survey
        self.location_id = location_id
        self.backlog: list[dict[str, Any]] = []
        # The kiosk's own backoff, made short so the test stays bounded.
        self.backoff = Backoff(base_s=0.2, cap_s=1.0)

    def tap(self, tally: Tally) -> None:
        now = datetime.now(UTC).isoformat()
        item = {
            "id": str(uuid.uuid4()),
            "survey_id": self.survey["id"],
            "survey_version": self.survey["version"],
            "location_id": self.location_id,
            "staff_id": None,
            "language": "en",
            "tapped_at": now,
            "answers": [{"question_id": "q1", "value": 4, "reasons": [], "comment": None}],
            "flags": [],
        }
        self.backlog.append(item)
        with tally.lock:
            tally.made.add(item["id"])

    def sync(self, tally: Tally) -> bool:
        """One attempt: upload the backlog and pull config; True when the server answered."""
        if not self.backoff.ready():
            return False
        batch = {"sent_at": datetime.now(UTC).isoformat(), "submissions": self.backlog[:100]}
        try:
            started = time.monotonic()
            answer = self.session.post(f"{self.url}/api/v1/submissions", json=batch, timeout=HANG_S)
            tally.saw(answer, time.monotonic() - started)
            if answer.status_code == 200:
                done = {
                    r["id"]
                    for r in answer.json()["results"]
                    if r["status"] in ("accepted", "duplicate")
                }
                with tally.lock:
                    tally.delivered |= done
                self.backlog = [item for item in self.backlog if item["id"] not in done]
                started = time.monotonic()
                tally.saw(
                    self.session.get(f"{self.url}/api/v1/config", timeout=HANG_S),
                    time.monotonic() - started,
                )
                self.backoff.success()
                return True
        except requests.Timeout:
            with tally.lock:
                tally.statuses[-1] += 1  # a hang
        self.backoff.failure()
        return False


def run_fleet(
    kiosks: list[FleetKiosk], tally: Tally, stop: threading.Event
) -> list[threading.Thread]:
    """Each kiosk taps and syncs in its own thread until `stop`."""

    def loop(kiosk: FleetKiosk) -> None:
        while not stop.is_set():
            kiosk.tap(tally)
            kiosk.sync(tally)
            stop.wait(0.05)

    threads = [threading.Thread(target=loop, args=(k,), daemon=True) for k in kiosks]
    for thread in threads:
        thread.start()
    return threads


def drain(kiosks: list[FleetKiosk], tally: Tally, timeout_s: float = 60.0) -> None:
    """Sync until every kiosk's backlog is delivered (the server is back)."""
    deadline = time.monotonic() + timeout_s
    while any(k.backlog for k in kiosks):
        assert time.monotonic() < deadline, "backlogs did not drain after recovery"
        for kiosk in kiosks:
            if kiosk.backlog:
                kiosk.sync(tally)
        time.sleep(0.05)


def wait_for(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def enroll_fleet(server: GunicornProcess) -> list[FleetKiosk]:
    location = server.cli_here("create-location", "--name", "Fleet", "--timezone", "Europe/Warsaw")
    survey = server.cli_here("create-survey", "--file", str(DEMO_SURVEY))
    server.cli_here("assign-survey", "--location", location["id"], "--survey", survey["id"])
    kiosks = []
    for n in range(KIOSKS):
        code = server.cli_here("create-device", "--location", location["id"], "--name", f"k{n}")
        answer = requests.post(
            f"{server.url}/api/v1/enroll", json={"code": code["code"]}, timeout=30
        )
        assert answer.status_code == 201, answer.text
        kiosks.append(FleetKiosk(server.url, answer.json()["token"], survey, location["id"]))
    return kiosks


def assert_stored_once(tally: Tally, count_ids: Any) -> None:
    """Every tap made is stored, once, with its one answer."""
    submissions, distinct, answers = count_ids()
    assert tally.delivered == tally.made
    assert submissions == distinct == len(tally.made)
    assert answers == submissions  # one answer per tap: no submission without its answer


def assert_calm(tally: Tally) -> None:
    # The figures, for `pytest -s` (a soak run's note): answers by status, the slowest.
    print(
        f"statuses {dict(tally.statuses)}, slowest {tally.slowest_s:.2f} s, taps {len(tally.made)}"
    )
    assert tally.statuses[-1] == 0, "a request hung"
    assert not [s for s in tally.statuses if s >= 500 and s != 503], tally.statuses
    assert tally.statuses[503] > 0, "the fault never showed"
    assert tally.missing_retry_after == 0
    assert tally.slowest_s < HANG_S


# --- PostgreSQL stopped and started again -----------------------------------------------


def fault_under_fleet_load(
    server: GunicornProcess, fault: Callable[[list[FleetKiosk], Tally], None]
) -> Tally:
    """Enroll a fleet on the started `server`, tap until 20 taps are delivered, run `fault` while
    the fleet keeps tapping, then stop the fleet, drain every kiosk and stop the server. The
    server's log holds no trace and the fleet stayed calm (`assert_calm`)."""
    tally, stop = Tally(), threading.Event()
    try:
        kiosks = enroll_fleet(server)
        threads = run_fleet(kiosks, tally, stop)
        wait_for(lambda: len(tally.delivered) >= 20, 60, "taps delivered before the fault")
        fault(kiosks, tally)
        stop.set()
        for thread in threads:
            thread.join(timeout=HANG_S * 2)
        drain(kiosks, tally)
    finally:
        stop.set()
        server.stop()
    log = server.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
    assert_calm(tally)
    return tally


@dataclass
class Cluster:
    """A private PostgreSQL cluster owned by the `postgres` system user."""

    folder: Path
    port: int
    pg_ctl: str

    def _run(self, *args: str) -> None:
        command = [self.pg_ctl, *args, "-D", str(self.folder / "data"), "-w", "-t", "60"]
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr + done.stdout

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("start", "-o", options, "-l", str(self.folder / "postgres.log"))

    def stop(self) -> None:
        self._run("stop", "-m", "fast")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def private_cluster() -> Iterator[Cluster]:
    """initdb + pg_ctl on a free port in a temporary folder, removed afterwards."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found or shutil.which("runuser") is None or os.geteuid() != 0:
        reason = "needs PostgreSQL's initdb and root (to run it as the postgres user)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    bin_dir = Path(found[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="smiletap-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    done = subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(bin_dir / "initdb"),
            "-D",
            str(folder / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    cluster = Cluster(folder, free_port(), str(bin_dir / "pg_ctl"))
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(AssertionError):
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_postgresql_stops_and_starts_under_fleet_load(
    private_cluster: Cluster, tmp_path: Path
) -> None:
    server = GunicornProcess(tmp_path / "server", private_cluster.url, workers=2)
    server.start()

    def outage(_kiosks: list[FleetKiosk], _tally: Tally) -> None:
        private_cluster.stop()
        ready = requests.get(f"{server.url}/readyz", timeout=HANG_S)
        assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
        assert requests.get(f"{server.url}/healthz", timeout=HANG_S).status_code == 200
        time.sleep(outage_s())  # the outage itself: the fleet keeps tapping meanwhile
        private_cluster.start()
        wait_for(
            lambda: requests.get(f"{server.url}/readyz", timeout=HANG_S).status_code == 200,
            60,
            "readiness after PostgreSQL is back (no restart)",
        )

    tally = fault_under_fleet_load(server, outage)

    def counts() -> tuple[int, int, int]:
        from sqlalchemy import create_engine, text

        engine = create_engine(private_cluster.url)
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM submissions), "
                    "(SELECT count(DISTINCT id) FROM submissions), (SELECT count(*) FROM answers)"
                )
            ).one()
        engine.dispose()
        return int(row[0]), int(row[1]), int(row[2])

    assert_stored_once(tally, counts)


# --- The server's disk fills up ---------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MiB tmpfs for the server's instance folder (its SQLite file)."""
    with small_tmpfs(tmp_path / "disk", 32) as mount:
        yield mount


def test_server_disk_full_under_fleet_load(small_disk: Path, tmp_path: Path) -> None:
    database = small_disk / "smiletap.db"
    server = GunicornProcess(small_disk / "server", f"sqlite:///{database}", workers=2)
    server.log_path = tmp_path / "server.log"  # the log must not need the full disk
    server.start()

    def disk_full(kiosks: list[FleetKiosk], tally: Tally) -> None:
        filler = fill(small_disk)
        wait_for(lambda: tally.statuses[503] >= 5, 60, "503 answers on the full disk")
        time.sleep(outage_s())
        filler.unlink()  # space returns
        wait_for(
            lambda: not any(k.backlog for k in kiosks) or tally.statuses[200] > 0,
            60,
            "uploads again",
        )

    tally = fault_under_fleet_load(server, disk_full)
    conn = sqlite3.connect(database)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

        def counts() -> tuple[int, int, int]:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM submissions), "
                "(SELECT count(DISTINCT id) FROM submissions), (SELECT count(*) FROM answers)"
            ).fetchone()
            return int(row[0]), int(row[1]), int(row[2])

        assert_stored_once(tally, counts)
    finally:
        conn.close()
