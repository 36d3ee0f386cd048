"""Backlog drain: a kiosk store holding 100,000 pending taps (a week offline at a busy store)
drains through the kiosk's own scheduled sync (`SyncService.start`, default settings) over
loopback into a real `smiletap-server run`, while another thread keeps recording taps as the
screen does. Prints the drain time and the tap-to-durable p50/p99 (the time
`LocalStore.record_submission` takes to commit) during the drain, beside the same with no
drain in the same run as the floor.

    .venv/bin/python bench/sync_drain.py [--taps 100000]

The backlog is written to the store in one bulk insert (as 100,000 taps would have been, one
by one); the server and the kiosk code are the real ones. Prints figures; never passes or
fails on time.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "deploy" / "dev")]

from harness import ServerProcess  # noqa: E402
from ingest import cpu_seconds, rollup_differences, run_queue_seconds  # noqa: E402

from kiosk.enrollment import enroll  # noqa: E402
from kiosk.settings import Settings  # noqa: E402
from kiosk.store import PENDING, LocalStore  # noqa: E402
from kiosk.sync import SyncService  # noqa: E402
from kiosk.uptime import boot_id, uptime_s  # noqa: E402
from shared.clock import to_rfc3339  # noqa: E402
from shared.protocol import Answer, Submission  # noqa: E402

SURVEY = ROOT / "deploy" / "examples" / "demo-survey.json"
TAP_EVERY_S = 0.05  # a busy screen: 20 taps a second


def tap(survey: dict[str, object], location_id: str, at: datetime) -> Submission:
    """One finished one-question submission made at `at`."""
    return Submission(
        id=str(uuid.uuid4()),
        survey_id=str(survey["id"]),
        survey_version=int(str(survey["version"])),
        location_id=location_id,
        language="en",
        tapped_at=at,
        answers=[Answer(question_id="q1", value=1 + at.second % 5)],
    )


def fill_backlog(store: LocalStore, count: int, survey: dict[str, object], location: str) -> None:
    """`count` pending taps over the past week, inserted in one transaction."""
    now = time.time()
    booted, up = boot_id(), uptime_s()
    rows = []
    for i in range(count):
        ts = now - 7 * 86400 + i * (7 * 86400 / count)
        at = datetime.fromtimestamp(ts, UTC)
        sub = tap(survey, location, at)
        rows.append((sub.id, to_rfc3339(at), ts, sub.model_dump_json(), PENDING, 0, booted, up))
    store.conn.execute("BEGIN")  # one transaction (the store's connection autocommits)
    store.conn.executemany(
        "INSERT INTO submissions (id, created_at, created_ts, payload, state, in_progress,"
        " boot_id, uptime_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    store.conn.execute("COMMIT")


class Tapper(threading.Thread):
    """Records a tap every TAP_EVERY_S, timing each commit, until stopped."""

    def __init__(self, store: LocalStore, survey: dict[str, object], location: str) -> None:
        super().__init__(daemon=True)
        self.store, self.survey, self.location = store, survey, location
        self.durations: list[float] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(TAP_EVERY_S):
            sub = tap(self.survey, self.location, datetime.now(UTC))
            started = time.perf_counter()
            self.store.record_submission(sub)
            self.durations.append(time.perf_counter() - started)


class Failures(logging.Handler):
    """Keeps the kiosk's failed sync runs (a dropped connection, a 5xx) and counts the taps
    the server called duplicates: a batch it stored whose answer the kiosk never read."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []
        self.duplicates = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "failed" in message:
            self.messages.append(message)
        found = re.search(r"duplicate (\d+)", message)
        if found:
            self.duplicates += int(found.group(1))


def server_problems(log: Path) -> list[str]:
    """The server log's lines that tell of an error (tracebacks, waitress warnings)."""
    words = ("Traceback", "ERROR", "Error", "WARNING", "Exception")
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line for line in lines if any(word in line for word in words)]


def percentiles(durations: list[float]) -> str:
    ordered = sorted(durations)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms over {len(ordered)} taps"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taps", type=int, default=100_000)
    parser.add_argument("--floor-s", type=float, default=10.0, help="seconds of taps, no drain")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smiletap-drain-") as tmp:
        folder = Path(tmp)
        server = ServerProcess(folder / "server")
        server.cli("migrate")
        location = server.cli("create-location", "--name", "Bench", "--timezone", "UTC")["id"]
        survey = server.cli("create-survey", "--file", str(SURVEY))
        server.cli("assign-survey", "--location", location, "--survey", survey["id"])
        code = server.cli("create-device", "--location", location, "--name", "bench")["code"]
        server.start()
        try:
            store = LocalStore(folder / "kiosk" / "kiosk.db")
            enroll(store, server.url, code, allow_http=True)
            floor = Tapper(store, survey, location)
            floor.start()
            time.sleep(args.floor_s)  # the floor is a fixed stretch of taps, not a wait
            floor.stopped.set()
            floor.join()
            fill_backlog(store, args.taps, survey, location)
            failures = Failures()
            logging.getLogger("kiosk.sync").addHandler(failures)
            logging.getLogger("kiosk.sync").setLevel(logging.INFO)
            sync = SyncService(store, Settings(folder / "kiosk"))
            tapper = Tapper(store, survey, location)
            assert server.proc is not None
            server_cpu, kiosk_cpu = cpu_seconds(server.proc.pid), time.process_time()
            server_queued = run_queue_seconds(server.proc.pid)
            started = time.perf_counter()
            tapper.start()
            sync.start()
            backlog_before = time.time() - 1  # every backlog tap was made before this
            watcher = sqlite3.connect(store.path)  # its own connection: the store's is locked
            while watcher.execute(
                "SELECT count(*) FROM submissions WHERE state = ? AND created_ts < ?",
                [PENDING, backlog_before],
            ).fetchone()[0]:
                time.sleep(0.2)  # polls the backlog; the figure is the drain's, not this
            drained = time.perf_counter() - started
            server_cpu = cpu_seconds(server.proc.pid) - server_cpu
            kiosk_cpu = time.process_time() - kiosk_cpu
            server_queued = run_queue_seconds(server.proc.pid) - server_queued
            watcher.close()
            tapper.stopped.set()
            tapper.join()
            # The kiosk goes on sending the taps made during the drain: let its run in flight
            # end before the server stops, or the bench itself drops an upload.
            sync.stop(wait_s=60)
            delivered = store.count("delivered")
        finally:
            server.stop()
        problems = server_problems(server.log_path)
        differing = rollup_differences(server, None)
    print(f"drained {args.taps:,} taps in {drained:.1f} s ({args.taps / drained:,.0f} taps/s; "
          f"target <= 30 s); delivered {delivered:,}")  # fmt: skip
    print(
        f"CPU during the drain: server {server_cpu:.1f} s, kiosk {kiosk_cpu:.1f} s (the kiosk"
        " reads the next batch and marks the last while the server stores one, so on an idle"
        " machine the drain takes about the larger of the two)"
    )
    print(
        f"the server waited {server_queued:.1f} s for a CPU (runnable while other work ran; all"
        f" its threads), load {os.getloadavg()[0]:.1f} at the end"
    )
    print(f"tap-to-durable during the drain: {percentiles(tapper.durations)}")
    print(f"tap-to-durable with no drain:    {percentiles(floor.durations)} (floor)")
    print(f"failed sync runs during the drain: {len(failures.messages)}")
    for message in failures.messages[:5]:
        print(f"  {message}")
    print(f"taps the server answered as duplicates (stored, answer lost): {failures.duplicates}")
    print(f"rollup rows differing from a recomputation from the answers: {differing} (must be 0)")
    print(f"server log lines telling of errors: {len(problems)}")
    for line in problems[:20]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
