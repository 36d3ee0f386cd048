"""Dashboard page times against data size: p50/p95 of the overview, one location's page and its
chart.json (one whole year), signed in through a real `smiletap-server run` process, on SQLite
(or PostgreSQL with --pg) at 100k, 1M and optionally 10M answers.

    .venv/bin/python bench/dashboard.py                       # 100k and 1M answers
    .venv/bin/python bench/dashboard.py --sizes 100000 1000000 10000000   # adds 10M (~4 min)
    .venv/bin/python bench/dashboard.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/

The data is what ingest would store for N answers spread at random over 50 locations × 5
staff × 365 days × 14 opening hours × 5 smiley values: the hourly rollups and the day, month
and year period rollups, written directly (a Poisson count per cell, summed per period in
Python, bulk-inserted in key order: executemany on SQLite, COPY on PostgreSQL) instead of
through ingest, which at 10M would take hours. The measured location also gets its raw
answers, one per counted answer of its cells (N / 50; 40 % with a reason, 5 % with a
comment), so its rollups equal a rebuild from them; no other raw answers are made (the
pages read raw rows of one location only). Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "deploy" / "dev"))

from harness import ServerProcess  # noqa: E402
from reports import DAYS, HOURS, LOCATIONS, STAFF, VALUES, day_parts_rows  # noqa: E402
from timing import p50_p95  # noqa: E402

from server import migrations, passwords  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.store import day_hours, schema, users  # noqa: E402
from server.store.rollups import TABLE_PERIODS, period_start  # noqa: E402
from server.store.schema import (  # noqa: E402
    DAY_HOURS_CELLS,
    DAY_HOURS_KEY,
    DAY_PARTS_KEY,
    DAY_PARTS_SUMS,
    ROLLUP_PERIODS,
    VALUE_COLUMNS,
)

EMAIL, PASSWORD = "bench@example.com", "correct horse battery"
MEASURED = "loc_00"
YEAR = "from=2025-01-01&to=2025-12-31"
PAGES = {
    "overview": f"/dashboard/?{YEAR}",
    "location": f"/dashboard/locations/{MEASURED}?{YEAR}",
    "chart.json": f"/dashboard/locations/{MEASURED}/chart.json?{YEAR}",
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FIRST_DAY = date(2025, 1, 1)
DAY_DATES = [FIRST_DAY + timedelta(days=d) for d in range(DAYS)]
CREATED = datetime(2025, 1, 1, tzinfo=UTC)
SURVEY = ("srv_bench", 1, "q1", "smiley", 5)  # survey, version, question, kind, scale
COMMENT = "The queue was long at the till"

STAMPED = {"locations", "staff", "devices", "submissions"}  # tables with timestamps
COLUMNS = {
    "rollups": "location_id touchpoint_id staff_id survey_id survey_version question_id kind scale "
    "local_date weekday hour burst value count",
    **{
        f"rollups_{name}{twin}": f"period starts_on location_id {place}{group} burst kind scale "
        + " ".join(VALUE_COLUMNS)
        for name, group in (
            ("location", ""),
            ("staff", "staff_id "),
            ("weekday_hour", "weekday hour "),
        )
        for twin, place in (("", "touchpoint_id "), ("_any", ""))
    },
    "rollups_day_parts": " ".join((*DAY_PARTS_KEY, *DAY_PARTS_SUMS)),
    "rollups_day_hours": " ".join((*DAY_HOURS_KEY, "counts")),
    "rollups_day_hours_any": " ".join((*DAY_HOURS_KEY, "counts")).replace("touchpoint_id ", ""),
    "locations": "id name timezone created_at",
    "staff": "id location_id display_name active created_at",
    "devices": "id location_id name created_at",
    "submissions": "id device_id location_id survey_id survey_version staff_id language "
    "tapped_at received_at skew_s effective_at local_date weekday hour burst content_hash "
    "payload",
    "answers": "submission_id question_id kind scale value reasons comment",
}


def _poisson_table(mean: float) -> list[float]:
    """Cumulative Poisson probabilities, for drawing a cell's count with one bisect."""
    cdf, p, k = [], math.exp(-mean), 0
    total = p
    while total < 1 - 1e-12 and k < 1000:
        cdf.append(total)
        k += 1
        p *= mean / k
        total += p
    cdf.append(1.0)
    return cdf


def _periods(day_rows: Counter[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Day-keyed (day, *rest) counts as (period, starts_on, *rest, count) for every period."""
    for period in ROLLUP_PERIODS:
        starts = {d.isoformat(): period_start(period, d).isoformat() for d in DAY_DATES}
        summed: Counter[tuple[Any, ...]] = Counter()
        for key, n in day_rows.items():
            summed[(starts[key[0]], *key[1:])] += n
        for key, n in summed.items():
            yield (period, *key, n)


def raw_answer(
    number: int, staff_id: str, day: date, hour: int, value: int
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The measured location's submission and answer rows for one counted answer."""
    survey_id, version, question, kind, scale = SURVEY
    sid = f"sub_{number:09d}"
    at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    at += timedelta(seconds=(number * 17) % 3600)
    submission = (sid, "dev_bench", MEASURED, survey_id, version, staff_id, "en", at, at, 0.0)
    submission += (at, day.isoformat(), day.isoweekday(), hour, False, "", "{}")
    reasons = '["wait"]' if number % 5 < 2 else "[]"
    comment = COMMENT if number % 20 == 0 else None
    return submission, (sid, question, kind, scale, value, reasons, comment)


def generate(answers: int, seed: int = 1) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """(table, rows) chunks: places, then per location its hourly rollups and (for the measured
    one) raw answers, then every period rollup. Rows are in each table's key order."""
    rng = random.Random(seed)
    cdf = _poisson_table(answers / (LOCATIONS * STAFF * DAYS * HOURS * VALUES))
    draw, pick = rng.random, bisect.bisect_left
    days = [(d.isoformat(), d) for d in DAY_DATES]  # ISO text: both databases read it as a date
    survey_id, version, question, kind, scale = SURVEY
    yield (
        "locations",
        [(f"loc_{i:02d}", f"Location {i:02d}", "UTC", CREATED) for i in range(LOCATIONS)],
    )
    yield (
        "staff",
        [
            (f"stf_{i:02d}_{j}", f"loc_{i:02d}", f"Person {i * STAFF + j}", True, CREATED)
            for i in range(LOCATIONS)
            for j in range(STAFF)
        ],
    )
    yield "devices", [("dev_bench", MEASURED, "Bench", CREATED)]
    by_location: Counter[tuple[Any, ...]] = Counter()
    by_staff: Counter[tuple[Any, ...]] = Counter()
    by_hour: Counter[tuple[Any, ...]] = Counter()
    raw = 0
    for i in range(LOCATIONS):
        loc = f"loc_{i:02d}"
        hourly, subs, answer_rows = [], [], []
        for j in range(STAFF):
            stf = f"stf_{i:02d}_{j}"
            for day, day_date in days:
                weekday = day_date.isoweekday()
                for hour in range(8, 8 + HOURS):
                    for value in range(1, VALUES + 1):
                        n = pick(cdf, draw())
                        if not n:
                            continue
                        hourly.append((loc, "", stf, survey_id, version, question, kind, scale,
                                       day, weekday, hour, False, value, n))  # fmt: skip
                        by_location[(day, loc, "", False, kind, scale, value)] += n
                        by_staff[(day, loc, "", stf, False, kind, scale, value)] += n
                        by_hour[(day, loc, "", weekday, hour, False, kind, scale, value)] += n
                        if loc != MEASURED:
                            continue
                        for _ in range(n):
                            raw += 1
                            sub, answer = raw_answer(raw, stf, day_date, hour, value)
                            subs.append(sub)
                            answer_rows.append(answer)
        yield "rollups", hourly
        if subs:
            yield "submissions", subs
            yield "answers", answer_rows
    for table, rows in (
        ("rollups_location", by_location),
        ("rollups_staff", by_staff),
        ("rollups_weekday_hour", by_hour),
    ):
        periods = list(_periods(rows))  # (period, starts_on, location, touchpoint, …, value, n)
        for twin in ("", "_any"):
            # rollups_location's days are rollups_day_parts' rows, the weekday × hour tables'
            # rollups_day_hours' (below).
            kept = TABLE_PERIODS.get(getattr(schema, f"{table}{twin}"), ROLLUP_PERIODS)
            of_twin = [row for row in periods if row[0] in kept]
            if twin:  # summed over touchpoints: without that column
                of_twin = [(*row[:3], *row[4:]) for row in of_twin]
            yield f"{table}{twin}", _wide(of_twin)
    yield "rollups_day_parts", day_parts_rows(by_location.items())
    # The packed days: (day, location, touchpoint, burst, kind, scale) → every hour's counts.
    packed: dict[tuple[Any, ...], list[int]] = {}
    for (day, loc, tp, _, hour, burst, kind, scale, value), n in by_hour.items():
        cells = packed.setdefault((day, loc, tp, burst, kind, scale), [0] * DAY_HOURS_CELLS)
        cells[day_hours.WIDTH * hour + value] += n
    rows = sorted(packed.items())
    yield "rollups_day_hours", [(*key, day_hours.stored_counts("sqlite", c)) for key, c in rows]
    # Every tap here is at no touchpoint (''): the sums over touchpoints are the same rows.
    yield (
        "rollups_day_hours_any",
        [(*key[:2], *key[3:], day_hours.stored_counts("sqlite", c)) for key, c in rows],
    )


def _wide(rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """(…key, value, count) rows as (…key, c0..c10) rows in key order (the period tables'
    layout: a count per answer value)."""
    found: dict[tuple[Any, ...], list[int]] = {}
    for *key, value, n in rows:
        found.setdefault(tuple(key), [0] * len(VALUE_COLUMNS))[value] += n
    return [(*key, *counts) for key, counts in sorted(found.items())]


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Timestamps as SQLAlchemy stores them in SQLite (dates are ISO text already)."""
    return tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v for v in row)


def write(url: str, chunks: Iterable[tuple[str, list[tuple[Any, ...]]]]) -> dict[str, int]:
    """Bulk-insert the chunks in one transaction; return rows per table."""
    written: Counter[str] = Counter()
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN")  # make_engine's connections are in autocommit mode
        for table, rows in chunks:
            columns = COLUMNS[table].split()
            if engine.dialect.name == "postgresql" and table.startswith("rollups_day_hours"):
                rows = [(*row[:-1], day_hours.as_cells(row[-1])) for row in rows]  # integer[]
            if engine.dialect.name == "postgresql":
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    [_sqlite_row(row) for row in rows] if table in STAMPED else rows,
                )
            written[table] += len(rows)
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return dict(written)


def database(pg: str | None, tmp: Path, answers: int) -> str:
    """A fresh empty database for this size: a SQLite file in tmp or a new PostgreSQL one."""
    if not pg:
        return f"sqlite:///{tmp / f'dashboard-{answers}.db'}"
    name = f"bench_dashboard_{answers}"
    admin = make_engine(pg.rstrip("/") + "/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return pg.rstrip("/") + "/" + name


def drop_database(pg: str | None, url: str) -> None:
    """Remove the size's database (file or PostgreSQL database)."""
    if not pg:
        Path(url.removeprefix("sqlite:///")).unlink()
        return
    admin = make_engine(pg.rstrip("/") + "/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
    admin.dispose()


def make_data(url: str, answers: int) -> tuple[int, int, float]:
    """Migrate, write the generated rows and an admin user; hourly rows, raw answers, s."""
    started = time.perf_counter()
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    written = write(url, generate(answers))
    engine = make_engine(url)
    with engine.begin() as conn:
        users.create(conn, EMAIL, passwords.hash_password(PASSWORD), "admin", [])
    engine.dispose()
    return written["rollups"], written.get("answers", 0), time.perf_counter() - started


def sign_in(base_url: str) -> requests.Session:
    """The login form with its CSRF token, as a browser sends it."""
    browser = requests.Session()
    token = CSRF.search(browser.get(base_url + "/login", timeout=60).text)
    assert token, "no CSRF token on /login"
    form = {"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
    signed_in = browser.post(base_url + "/login", data=form, timeout=60, allow_redirects=False)
    assert signed_in.status_code == 302, f"sign-in answered {signed_in.status_code}"
    return browser


def measure(browser: requests.Session, url: str, runs: int) -> tuple[float, float]:
    """p50 and p95 (ms) of GET url, after one warm-up request."""

    def get() -> None:
        answer = browser.get(url, timeout=300)
        assert answer.status_code == 200, f"{url}: {answer.status_code}"

    return p50_p95(get, runs)


def main() -> None:
    """Build each size, start the server on it, time each page, print a table and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg", help="a PostgreSQL server URL ending in /; SQLite when not given")
    args = parser.parse_args()
    p50s: dict[tuple[int, str], float] = {}
    print(f"{'answers':>10} {'rollup rows':>12} {'raw rows':>9} {'build s':>8} {'page':>11} "
          f"{'p50 ms':>8} {'p95 ms':>8}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            url = database(args.pg, Path(tmp), size)
            rows, raw, build_s = make_data(url, size)
            server = ServerProcess(Path(tmp) / f"instance-{size}", url).start()
            try:
                browser = sign_in(server.url)
                shown = browser.get(server.url + PAGES["location"], timeout=300).text
                assert "The queue was long" in shown, "the location page shows no raw comments"
                for page, target in PAGES.items():
                    p50, p95 = measure(browser, server.url + target, args.runs)
                    p50s[(size, page)] = p50
                    print(f"{size:>10} {rows:>12} {raw:>9} {build_s:>8.1f} {page:>11} "
                          f"{p50:>8.1f} {p95:>8.1f}", flush=True)  # fmt: skip
            finally:
                server.stop()
            drop_database(args.pg, url)
    small, large = min(args.sizes), max(args.sizes)
    for page in PAGES:
        ratio = p50s[(large, page)] / p50s[(small, page)]
        print(f"p50 ratio {large}/{small} answers, {page}: {ratio:.1f}x")
    if large < 10_000_000:
        print("for 10M answers: bench/dashboard.py --sizes 100000 1000000 10000000")


if __name__ == "__main__":
    main()
