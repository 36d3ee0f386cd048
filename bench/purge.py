"""The retention purge on a big table: how long each of its write transactions holds the write
lock (SQLite has one for the whole database, so a kiosk's upload waits that long at most),
the purge's total time and rows/s, and that the scores read before and after are the same.

    .venv/bin/python bench/purge.py                      # 200k answers on SQLite
    .venv/bin/python bench/purge.py --answers 1000000
    .venv/bin/python bench/purge.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/

The data: one location's raw answers spread over 2025 (bench/dashboard.py's rows, 5 % with a
comment, each with a stored payload), bulk-inserted, and the rollups rebuilt from them. The
purge keeps 180 days of answers and 90 of comments counted back from 2026-01-01, so about half
the answers go and a quarter more lose their comment. Prints
figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "deploy" / "dev"))

from dashboard import CREATED, DAY_DATES, MEASURED, database, drop_database, raw_answer, write  # noqa: E402

from server import migrations, retention  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import rollups  # noqa: E402
from server.store.filters import Filters  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CHUNK = 50_000


def generate(answers: int) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """The location, its device and `answers` raw answers (one per submission) over 2025."""
    yield "locations", [(MEASURED, "Measured", "UTC", CREATED)]
    yield "devices", [("dev_bench", MEASURED, "Bench", CREATED)]
    for start in range(0, answers, CHUNK):
        subs, rows = [], []
        for number in range(start, min(answers, start + CHUNK)):
            day = DAY_DATES[number % len(DAY_DATES)]
            submission, answer = raw_answer(number, "", day, 8 + number % 14, 1 + number % 5)
            comment = answer[-1]
            payload = json.dumps({"answers": [{"question_id": "q1", "comment": comment}]})
            subs.append((*submission[:-1], payload))
            rows.append(answer)
        yield "submissions", subs
        yield "answers", rows


def make_data(url: str, answers: int) -> float:
    """Migrate, write the rows and rebuild the rollups from them; seconds taken."""
    started = time.perf_counter()
    engine = make_engine(url)
    migrations.upgrade(engine)
    write(url, generate(answers))
    with engine.begin() as conn:
        rollups.rebuild(conn)
    engine.dispose()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=200_000)
    parser.add_argument("--pg", help="a PostgreSQL server URL instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = database(args.pg, Path(tmp), args.answers)
        seconds = make_data(url, args.answers)
        backend = "PostgreSQL" if args.pg else "SQLite"
        print(f"{args.answers} raw answers written in {seconds:.0f} s ({backend})")
        engine = make_engine(url)
        held: list[float] = []
        began: dict[int, float] = {}

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:  # type: ignore[no-untyped-def]
            began[id(conn)] = time.perf_counter()

        @event.listens_for(engine, "commit")
        def _commit(conn) -> None:  # type: ignore[no-untyped-def]
            if id(conn) in began:
                held.append(time.perf_counter() - began.pop(id(conn)))

        def scores() -> list[dict[str, object]]:
            with engine.connect() as conn:
                found = rollups.counts(
                    conn, "location", Filters(date(2025, 1, 1), date(2025, 12, 31), None, True)
                )
            return sorted(found, key=lambda row: sorted((k, str(v)) for k, v in row.items()))

        before = scores()
        settings = replace(Settings(), answer_retention_days=180, comment_retention_days=90)
        started = time.perf_counter()
        report = retention.purge(engine, settings, now=NOW)
        total = time.perf_counter() - started
        writes = sorted(held)
        p99 = writes[int(0.99 * (len(writes) - 1))]
        print(
            f"purged {report.submissions} submissions ({report.answers} answers) and"
            f" {report.comments} comments in {total:.1f} s"
            f" ({(report.submissions + report.comments) / total:,.0f} rows/s),"
            f" {report.batches} batches"
        )
        print(
            f"write transactions: {len(writes)}, median {statistics.median(writes) * 1000:.1f} ms,"
            f" p99 {p99 * 1000:.1f} ms, longest {writes[-1] * 1000:.1f} ms"
        )
        print(f"scores over 2025 unchanged: {scores() == before}")
        engine.dispose()
        drop_database(args.pg, url)


if __name__ == "__main__":
    main()
