"""The rollup check against uploads on SQLite: how long a small write transaction (what a
kiosk's upload needs: SQLite's one write lock) waits while the check compares the rollups with a
recomputation from raw answers, with the comparison inside one write transaction (as before)
and inside a read snapshot (`jobs.check_rollups` now).

    .venv/bin/python bench/rollup_check.py                    # 1M raw answers
    .venv/bin/python bench/rollup_check.py --answers 200000

The data is bench/purge.py's (one location's raw answers over 2025, rollups rebuilt from them).
While each check runs, another engine (as another process would be) commits one small write
every 50 ms; each write's wall time is printed beside a floor of the same writes with no
check running, and the check's wall and thread CPU time. On SQLite a writer gives up after the
busy timeout (15 s): such writes are counted as failed. Prints figures; never passes or fails
on time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "deploy" / "dev"))

from dashboard import MEASURED, database, drop_database  # noqa: E402
from purge import make_data  # noqa: E402

from server import jobs  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.store import rollups  # noqa: E402

PACE_S = 0.05


def one_write(engine: Engine) -> float:
    """One write transaction's wall seconds (an update that changes nothing, but takes the
    write lock as an upload's insert does)."""
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("UPDATE locations SET name = name WHERE id = :id"), {"id": MEASURED})
    return time.perf_counter() - started


def in_one_write_transaction(engine: Engine) -> int:
    """The check as it was: the comparison inside `engine.begin()` (BEGIN IMMEDIATE)."""
    with engine.begin() as conn:
        return rollups.differences(conn)


def measure(url: str, check: Callable[[Engine], int]) -> tuple[float, float, int, list[float], int]:
    """Run the check while another engine writes; (wall s, CPU s, differences, waits, failed)."""
    checker, writer = make_engine(url), make_engine(url)
    done = threading.Event()
    result: dict[str, float] = {}

    def run() -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            result["differences"] = check(checker)
        finally:
            result["cpu"] = time.thread_time() - cpu
            result["wall"] = time.perf_counter() - wall
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    waits: list[float] = []
    failed = 0
    while not done.is_set():
        started = time.perf_counter()
        try:
            waits.append(one_write(writer))
        except OperationalError:  # database is locked: the busy timeout ran out
            failed += 1
            waits.append(time.perf_counter() - started)
        done.wait(PACE_S)
    thread.join()
    checker.dispose()
    writer.dispose()
    return result["wall"], result["cpu"], int(result["differences"]), waits, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = database(None, Path(tmp), args.answers)
        seconds = make_data(url, args.answers)
        print(f"{args.answers} raw answers written and rolled up in {seconds:.0f} s (SQLite)")
        writer = make_engine(url)
        floor = sorted(one_write(writer) for _ in range(20))
        writer.dispose()
        print(f"a write with no check running: median {statistics.median(floor) * 1000:.1f} ms")
        for name, check in (
            ("one write transaction (before)", in_one_write_transaction),
            ("read snapshot (now)", jobs.check_rollups),
        ):
            wall, cpu, differing, waits, failed = measure(url, check)
            print(
                f"{name}: check {wall:.1f} s wall, {cpu:.1f} s CPU, {differing} differences;"
                f" {len(waits)} writes meanwhile, median {statistics.median(waits) * 1000:.1f} ms,"
                f" longest {max(waits) * 1000:.0f} ms, {failed} gave up (busy timeout)"
            )
        drop_database(None, url)


if __name__ == "__main__":
    main()
