"""Ingest throughput: submissions/s posted over HTTP in 500-batches to one server process,
next to a raw sqlite3 `executemany` of the same rows in the same run.

    .venv/bin/python bench/ingest.py [--batches 20] [--database-url URL]

Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "dev"))

from harness import ServerProcess  # noqa: E402

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


def raw_sqlite_rate(batches: list[dict], folder: Path) -> float:  # type: ignore[type-arg]
    """Rows/s for a durable (WAL, synchronous=FULL) executemany of the same rows."""
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE s (id TEXT PRIMARY KEY, survey_id TEXT, location_id TEXT, tapped_at TEXT,"
        " payload TEXT)"
    )
    conn.execute("CREATE TABLE a (submission_id TEXT, question_id TEXT, value INTEGER)")
    start = time.perf_counter()
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
    conn.close()
    return sum(len(b["submissions"]) for b in batches) / elapsed


def http_rate(server: ServerProcess, token: str, batches: list[dict]) -> float:  # type: ignore[type-arg]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    start = time.perf_counter()
    for batch in batches:
        answer = session.post(f"{server.url}/api/v1/submissions", json=batch, timeout=120)
        answer.raise_for_status()
        statuses = {r["status"] for r in answer.json()["results"]}
        if statuses != {"accepted"}:
            raise SystemExit(f"unexpected results: {statuses}")
    elapsed = time.perf_counter() - start
    return sum(len(b["submissions"]) for b in batches) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="smiletap-bench-") as tmp:
        folder = Path(tmp)
        server = ServerProcess(folder / "server", args.database_url)
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
            http = http_rate(server, token, batches)
        finally:
            server.stop()
        raw = raw_sqlite_rate(make_batches(args.batches, survey, location["id"]), folder)

    backend = args.database_url.split(":")[0] if args.database_url else "sqlite"
    rows = args.batches * 500
    print(f"ingest over HTTP ({backend}, 1 process): {http:,.0f} submissions/s ({rows} rows)")
    print(f"raw sqlite3 executemany (WAL, FULL):      {raw:,.0f} rows/s")
    print(f"ratio http/raw: {http / raw:.2f} (target >= 0.3)")


if __name__ == "__main__":
    main()
