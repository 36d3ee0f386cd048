"""Ingest throughput: submissions/s posted over HTTP in 500-batches to one server process,
next to a raw sqlite3 `executemany` of the same rows in the same run.

    .venv/bin/python bench/ingest.py [--batches 20] [--postgres] [--workers N] [--fold-every N]

With --workers the server is gunicorn (deploy/server/gunicorn.conf.py) with N workers, and
the batches are posted from N client threads at once.

Uploads count their taps in the rollups by folds (`server.store.pending_rollups`): the server
folds after every `ROLLUP_FOLD_EVERY` accepted taps (`--fold-every`, default the setting's),
inside the uploads' requests, so that work is in the server's CPU and wall time. What is still
pending when the last upload is answered is folded afterwards here, timed (wall and this
process's CPU: on SQLite the fold's database work runs in this process too), and the figures
are printed both for the uploads alone and with that fold; the ratio to the raw rows is taken
on the second, honest one.

Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "deploy" / "dev")]

from harness import GunicornProcess, ServerProcess  # noqa: E402

from server.db import make_engine  # noqa: E402
from server.store import pending_rollups, rollups  # noqa: E402
from tests.pgdb import fresh_pg_database  # noqa: E402

SURVEY = ROOT / "deploy" / "examples" / "demo-survey.json"


def make_batches(count: int, survey: dict, location_id: str) -> list[dict]:  # type: ignore[type-arg]
    now = dt.datetime.now(dt.UTC)
    batches = []
    for b in range(count):
        subs = [
            {
                "id": str(uuid.uuid4()),
                "survey_id": survey["id"],
                "survey_version": survey["version"],
                "location_id": location_id,
                "staff_id": None,
                "language": "en",
                "tapped_at": (now - dt.timedelta(minutes=b * 500 + i)).isoformat(),
                "answers": [
                    {"question_id": "q1", "value": 1 + i % 5, "reasons": [], "comment": None}
                ],
                "flags": [],
            }
            for i in range(500)
        ]
        batches.append({"sent_at": now.isoformat(), "submissions": subs})
    return batches


def raw_sqlite_rate(batches: list[dict], folder: Path) -> tuple[float, float]:  # type: ignore[type-arg]
    """Rows/s for a durable (WAL, synchronous=FULL) executemany of the same rows, and CPU
    seconds per row."""
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE s (id TEXT PRIMARY KEY, survey_id TEXT, location_id TEXT, tapped_at TEXT,"
        " payload TEXT)"
    )
    conn.execute("CREATE TABLE a (submission_id TEXT, question_id TEXT, value INTEGER)")
    start = time.perf_counter()
    cpu_start = time.process_time()
    for batch in batches:
        subs = batch["submissions"]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO s VALUES (?, ?, ?, ?, ?)",
            [
                (s["id"], s["survey_id"], s["location_id"], s["tapped_at"], json.dumps(s))
                for s in subs
            ],
        )
        conn.executemany(
            "INSERT INTO a VALUES (?, ?, ?)",
            [(s["id"], a["question_id"], a["value"]) for s in subs for a in s["answers"]],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    conn.close()
    rows = sum(len(b["submissions"]) for b in batches)
    return rows / elapsed, cpu / rows


def post_all(url: str, token: str, batches: list[dict]) -> None:  # type: ignore[type-arg]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for batch in batches:
        answer = session.post(f"{url}/api/v1/submissions", json=batch, timeout=300)
        answer.raise_for_status()
        statuses = {r["status"] for r in answer.json()["results"]}
        if statuses != {"accepted"}:
            raise SystemExit(f"unexpected results: {statuses}")


def rollup_differences(server: ServerProcess, database_url: str | None) -> int:
    """Rows of any rollup table that differ from a recomputation from the stored answers
    (the nightly check's count, pending uploads folded first); must be 0."""
    engine = make_engine(database_url or f"sqlite:///{server.instance_dir / 'smiletap.db'}")
    try:
        with engine.connect() as conn:
            pending_rollups.caught_up(conn)
            return rollups.differences(conn)
    finally:
        engine.dispose()


def fold_rest(database_url: str) -> tuple[float, float, int]:
    """Fold what the uploads left pending; its wall and CPU seconds and the answers counted.
    The connection is made before the clock starts, as a server's is pooled."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            conn.rollback()
            wall, cpu = time.perf_counter(), time.process_time()
            with conn.begin():
                answers = pending_rollups.fold(conn)
            return time.perf_counter() - wall, time.process_time() - cpu, answers
    finally:
        engine.dispose()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_queue_seconds(pid: int) -> float:
    """Seconds the threads of a process alive now have spent runnable but waiting for a CPU
    (Linux /proc schedstat): on a shared machine, the part of a wall time owed to other work."""
    waited = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            waited += int(stat.read_text().split()[1])
    return waited / 1e9


def http_rate(server: ServerProcess, token: str, batches: list[dict], clients: int) -> float:  # type: ignore[type-arg]
    shares = [batches[i::clients] for i in range(clients)]
    threads = [
        threading.Thread(target=post_all, args=(server.url, token, share)) for share in shares
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return sum(len(b["submissions"]) for b in batches) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway database on the local PostgreSQL"
    )
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (0: run)")
    parser.add_argument(
        "--fold-every", type=int, help="SMILETAP_ROLLUP_FOLD_EVERY of the server (taps)"
    )
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="smiletap-bench-")))
        database_url = stack.enter_context(fresh_pg_database()) if args.postgres else None
        server = (
            GunicornProcess(folder / "server", database_url, workers=args.workers)
            if args.workers
            else ServerProcess(folder / "server", database_url)
        )
        if args.fold_every is not None:
            server.env["SMILETAP_ROLLUP_FOLD_EVERY"] = str(args.fold_every)
        server.cli("migrate")
        location = server.cli("create-location", "--name", "Bench", "--timezone", "Europe/Warsaw")
        survey = server.cli("create-survey", "--file", str(SURVEY))
        server.cli("assign-survey", "--location", location["id"], "--survey", survey["id"])
        device = server.cli("create-device", "--location", location["id"], "--name", "bench")
        server.start()
        try:
            token = requests.post(
                f"{server.url}/api/v1/enroll", json={"code": device["code"]}, timeout=30
            ).json()["token"]
            batches = make_batches(args.batches, survey, location["id"])
            assert server.proc is not None
            server_cpu = cpu_seconds(server.proc.pid)
            http = http_rate(server, token, batches, max(1, args.workers))
            server_cpu = cpu_seconds(server.proc.pid) - server_cpu
        finally:
            server.stop()
        url = database_url or f"sqlite:///{server.instance_dir / 'smiletap.db'}"
        fold_wall, fold_cpu, folded = fold_rest(url)
        differing = rollup_differences(server, database_url)
        raw, raw_cpu = raw_sqlite_rate(make_batches(args.batches, survey, location["id"]), folder)

    backend = "postgresql" if args.postgres else "sqlite"
    rows = args.batches * 500
    how = f"gunicorn {args.workers} workers" if args.workers else "1 process"
    folded_rate = rows / (rows / http + fold_wall)
    print(
        f"ingest over HTTP ({backend}, {how}): {http:,.0f} submissions/s ({rows} rows),"
        " uploads alone"
    )
    print(
        f"  with the fold of the {folded:,} answers left pending afterwards"
        f" ({fold_wall * 1e3:,.0f} ms wall, {fold_cpu * 1e3:,.0f} ms CPU):"
        f" {folded_rate:,.0f} submissions/s"
    )
    print(f"raw sqlite3 executemany (WAL, FULL):      {raw:,.0f} rows/s")
    print(
        f"ratio http/raw, folded: {folded_rate / raw:.2f} (target >= 0.3;"
        f" uploads alone {http / raw:.2f})"
    )
    print(f"rollup rows differing from a recomputation from the answers: {differing} (must be 0)")
    if not args.workers:  # gunicorn's work is in its workers, not the process started
        per_row = (server_cpu + fold_cpu) / rows
        print(
            f"CPU per submission, folded: server {per_row * 1e6:,.1f} us (uploads alone"
            f" {server_cpu / rows * 1e6:,.1f}), raw {raw_cpu * 1e6:,.1f} us; ratio raw/server"
            f" {raw_cpu / per_row:.2f} (the same ratio without the machine's other load)"
        )


if __name__ == "__main__":
    main()
