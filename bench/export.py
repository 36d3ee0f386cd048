"""Memory and speed of the answers CSV export: peak RSS growth of a real `smiletap-server run`
process while it streams GET /api/v1/reports/responses.csv of a whole year, and rows/s as the
client receives them, at 100k and 5M answers on SQLite (or PostgreSQL with --pg).

    .venv/bin/python bench/export.py                           # 100k and 5M answers
    .venv/bin/python bench/export.py --sizes 100000 1000000
    .venv/bin/python bench/export.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/

A size's database is built once and kept for the next run (5M answers take minutes to write):
a SQLite file in --keep, a PostgreSQL database `bench_export_N`; it is used again while it
holds that many answers (migrated to the newest schema first). --fresh builds it again.

The answers (one per submission, one location, a year, 40 % with a reason, 5 % with a
comment) are bulk-inserted directly, as bench/dashboard.py does, not sent through ingest.
Peak RSS growth is the server's VmHWM during the export (reset through /proc/PID/clear_refs
first) minus its RSS before, after a warm-up export of one day. The floor beside rows/s is the
same rows, stored values as they are, read by the database driver's own cursor in this process
and written by csv.writer into 64 KiB chunks: no app, no HTTP, no formula prefix or time
formatting. Beside wall rates (which the machine's other load moves) each is also given per
CPU second: the server process's own CPU during the export (on PostgreSQL the database
backend's work is not in it) and this process's CPU for the floor; `db CPU s` is the
PostgreSQL backends' CPU during the export, the query's parallel workers included (read from
/proc every 0.2 s while it runs: the server runs on this machine), and `rows/CPU s all` counts
the server's and the database's CPU together. Prints figures; never
passes or fails on time.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError, ProgrammingError

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "deploy" / "dev"))

from dashboard import CREATED, DAY_DATES, MEASURED, raw_answer, write  # noqa: E402
from harness import ServerProcess  # noqa: E402

from server import migrations  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.store import submissions  # noqa: E402
from server.store.filters import Filters  # noqa: E402
from server.store.schema import answers  # noqa: E402

STAFF_IDS = [f"stf_00_{j}" for j in range(5)]
HOURS = range(8, 22)
CHUNK = 100_000  # rows per bulk insert
YEAR_FROM, YEAR_TO = date(2025, 1, 1), date(2025, 12, 31)
YEAR = {"from": YEAR_FROM.isoformat(), "to": YEAR_TO.isoformat()}


def generate(answers: int) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """(table, rows) chunks: the location, its staff and device, then the answers."""
    yield "locations", [(MEASURED, "Location 00", "UTC", CREATED)]
    yield "staff", [(s, MEASURED, f"Person {s}", True, CREATED) for s in STAFF_IDS]
    yield "devices", [("dev_bench", MEASURED, "Bench", CREATED)]
    for start in range(1, answers + 1, CHUNK):
        subs, answer_rows = [], []
        for number in range(start, min(start + CHUNK, answers + 1)):
            day = DAY_DATES[number % len(DAY_DATES)]
            staff = STAFF_IDS[number % len(STAFF_IDS)]
            hour = HOURS[number % len(HOURS)]
            sub, answer = raw_answer(number, staff, day, hour, 1 + number % 5)
            subs.append(sub)
            answer_rows.append(answer)
        yield "submissions", subs
        yield "answers", answer_rows


def stored_answers(url: str) -> int | None:
    """How many answers the database holds (None when it is missing or has no schema)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(answers)).scalar_one())
    except (OperationalError, ProgrammingError):
        return None
    finally:
        engine.dispose()


def kept_database(pg: str | None, keep: Path, size: int, fresh: bool) -> tuple[str, float]:
    """The URL of a database holding `size` answers, built unless kept from an earlier run;
    and the seconds its build took (0 when kept)."""
    if pg:
        name = f"bench_export_{size}"
        url = pg.rstrip("/") + "/" + name
    else:
        keep.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{keep / f'export-{size}.db'}"
    if not fresh and stored_answers(url) == size:
        engine = make_engine(url)
        migrations.upgrade(engine)  # a schema newer than the kept one
        engine.dispose()
        return url, 0.0
    started = time.perf_counter()
    if pg:
        admin = make_engine(pg.rstrip("/") + "/postgres")
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        admin.dispose()
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    write(url, generate(size))
    return url, time.perf_counter() - started


def rss_kib(pid: int, field: str) -> int:
    """A VmRSS/VmHWM line of /proc/PID/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def download(url: str, key: str, params: dict[str, str]) -> tuple[int, float]:
    """CSV lines after the header, and seconds, as the client reads the streamed body."""
    started = time.perf_counter()
    lines = 0
    headers = {"Authorization": f"Bearer {key}"}
    with requests.get(url, params=params, headers=headers, stream=True, timeout=600) as answer:
        assert answer.status_code == 200, f"{answer.status_code}: {answer.text[:200]}"
        for block in answer.iter_content(1 << 20):
            lines += block.count(b"\n")
    return lines - 1, time.perf_counter() - started


def floor_sql(dialect: Dialect) -> str:
    """The export's query for a year with the stored values as they are (no formatting), in
    the plan the export takes (on SQLite the table scan `export_select` picks for a year)."""
    query = submissions.export_query(
        submissions.export_columns(), Filters(YEAR_FROM, YEAR_TO), scan=dialect.name == "sqlite"
    )
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def driver_floor(url: str) -> tuple[float, float]:
    """Rows/s (wall, CPU) of the export's stored rows read by the driver's own server-side
    cursor and written by csv.writer into 64 KiB chunks, nothing else (the floor)."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    started, cpu_started = time.perf_counter(), time.process_time()
    rows = 0
    try:
        named = engine.dialect.name == "postgresql"
        cursor = raw.cursor(name="floor") if named else raw.cursor()  # type: ignore[call-arg]
        cursor.execute(floor_sql(engine.dialect))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        while batch := cursor.fetchmany(2000):
            writer.writerows(batch)
            rows += len(batch)
            if out.tell() >= 65536:
                out.getvalue().encode()
                out.seek(0)
                out.truncate()
        cursor.close()
    finally:
        raw.close()
        engine.dispose()
    return rows / (time.perf_counter() - started), rows / (time.process_time() - cpu_started)


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend process serving this database (this
    machine's server; none on SQLite, whose work is in the server process)."""
    if not url.startswith("postgresql"):
        return {}
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            pids = conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).scalars()
            found = {}
            for pid in pids:
                try:
                    found[pid] = cpu_seconds(pid)
                except FileNotFoundError:
                    continue
            return found
    finally:
        engine.dispose()


class BackendWatch:
    """The CPU seconds PostgreSQL's processes serving this database spend while it runs: the
    backend and the parallel workers a query starts, which exit before the export ends (so a
    reading after it misses them). Read every 0.2 s on a thread, keeping each process's last
    reading; a worker's last 0.2 s at most is missed. Nothing on SQLite."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.before = backend_cpu(url)
        self.seen: dict[int, float] = dict(self.before)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self.done.wait(0.2):
            self.seen.update(backend_cpu(self.url))

    def __enter__(self) -> BackendWatch:
        if self.url.startswith("postgresql"):
            self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join()
            self.seen.update(backend_cpu(self.url))

    def seconds(self) -> float:
        """CPU seconds spent since the start (a process started since counts whole)."""
        return sum(t - self.before.get(pid, 0.0) for pid, t in self.seen.items())


def main() -> None:
    """Build each size, start the server on it, export a year, print memory and speed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 5_000_000])
    parser.add_argument("--pg", help="a PostgreSQL server URL ending in /; SQLite when not given")
    keep = Path(tempfile.gettempdir()) / "smiletap-bench-export"
    parser.add_argument("--keep", type=Path, default=keep,
                        help="where SQLite databases are kept between runs")  # fmt: skip
    parser.add_argument("--fresh", action="store_true", help="build the databases again")
    args = parser.parse_args()
    print(f"{'answers':>10} {'build s':>8} {'export s':>9} {'rows/s':>8} {'floor':>8} "
          f"{'ratio':>6} {'rows/CPU s':>11} {'floor':>8} {'ratio':>6} {'db CPU s':>9} "
          f"{'rows/CPU s all':>14} {'RSS before MiB':>15} {'peak growth MiB':>16}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            url, build_s = kept_database(args.pg, args.keep, size, args.fresh)
            floor, floor_cpu = driver_floor(url)
            server = ServerProcess(Path(tmp) / f"instance-{size}", url).start()
            try:
                assert server.proc is not None
                pid = server.proc.pid
                key = server.cli("create-api-key", "--role", "admin")["key"]
                export_url = server.url + "/api/v1/reports/responses.csv"
                download(export_url, key, {"from": "2025-01-01", "to": "2025-01-01"})  # warm-up
                before = rss_kib(pid, "VmRSS")
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # peak RSS := current RSS
                cpu_before = cpu_seconds(pid)
                with BackendWatch(url) as database:
                    rows, seconds = download(export_url, key, YEAR)
                server_cpu = cpu_seconds(pid) - cpu_before
                db_cpu = database.seconds()
                growth = rss_kib(pid, "VmHWM") - before
            finally:
                server.stop()
            assert rows == size, f"exported {rows} rows of {size}"
            speed, before_mib, growth_mib = rows / seconds, before / 1024, growth / 1024
            speed_cpu, speed_all = rows / server_cpu, rows / (server_cpu + db_cpu)
            print(f"{size:>10} {build_s:>8.1f} {seconds:>9.1f} {speed:>8.0f} {floor:>8.0f} "
                  f"{speed / floor:>6.2f} {speed_cpu:>11.0f} {floor_cpu:>8.0f} "
                  f"{speed_cpu / floor_cpu:>6.2f} {db_cpu:>9.1f} {speed_all:>14.0f} "
                  f"{before_mib:>15.1f} {growth_mib:>16.1f}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
