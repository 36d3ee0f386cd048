"""Dashboard page times against data size: p50/p95 of the overview, one location's page and its
chart.json (one whole year), signed in through a real `smiletap-server run` process, on SQLite
at 100k, 1M and optionally 10M answers.

    .venv/bin/python bench/dashboard.py                       # 100k and 1M answers
    .venv/bin/python bench/dashboard.py --sizes 100000 1000000 10000000   # adds 10M (minutes)

The pages read the rollups, so the data is bench/reports.py's (`build`: hourly rollups of N
answers over 50 locations × 5 staff × 365 days × 14 hours, and the period rollups derived from
them), plus the locations, staff and one admin user. The location page also reads raw rows —
its latest comments and recent reasons, each under a LIMIT — so the measured location gets its
share of raw answers (N / 50, 40 % with a reason, 5 % with a comment); no other raw answers are
made. Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "deploy" / "dev"))

from harness import ServerProcess  # noqa: E402
from reports import DAYS, HOURS, LOCATIONS, STAFF, build  # noqa: E402

from server import passwords  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.store import users  # noqa: E402

EMAIL, PASSWORD = "bench@example.com", "correct horse battery"
MEASURED = "loc_00"
YEAR = "from=2025-01-01&to=2025-12-31"
PAGES = {
    "overview": f"/dashboard/?{YEAR}",
    "location": f"/dashboard/locations/{MEASURED}?{YEAR}",
    "chart.json": f"/dashboard/locations/{MEASURED}/chart.json?{YEAR}",
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STAMP = (
    "strftime('%Y-%m-%d %H:%M:%f000', '2025-01-01', "
    "'+' || d || ' days', '+' || h || ' hours', '+' || s || ' seconds')"
)

# What the rollups name but bench/reports.py does not make: locations and their staff.
PLACES = f"""
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {LOCATIONS - 1})
INSERT INTO locations (id, name, timezone, created_at)
SELECT printf('loc_%02d', i), printf('Location %02d', i), 'UTC', '2025-01-01 00:00:00.000000'
FROM n
"""
PEOPLE = f"""
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {LOCATIONS * STAFF - 1})
INSERT INTO staff (id, location_id, display_name, active, created_at)
SELECT printf('stf_%02d_%d', i / {STAFF}, i % {STAFF}), printf('loc_%02d', i / {STAFF}),
       printf('Person %d', i), 1, '2025-01-01 00:00:00.000000'
FROM n
"""
DEVICE = f"""
INSERT INTO devices (id, location_id, name, created_at)
VALUES ('dev_bench', '{MEASURED}', 'Bench', '2025-01-01 00:00:00.000000')
"""
# The measured location's raw answers, spread like the rollups (day, hour, staff, value).
RAW_SUBMISSIONS = f"""
INSERT INTO submissions (id, device_id, location_id, survey_id, survey_version, staff_id,
                         language, tapped_at, received_at, skew_s, effective_at, local_date,
                         weekday, hour, burst, content_hash, payload)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :raw),
t AS (SELECT i, (i * 7919) % {DAYS} AS d, 8 + (i * 31) % {HOURS} AS h, (i * 17) % 3600 AS s
      FROM n)
SELECT printf('sub_%09d', i), 'dev_bench', '{MEASURED}', 'srv_bench', 1,
       printf('stf_00_%d', i % {STAFF}), 'en', {STAMP}, {STAMP}, 0, {STAMP},
       date('2025-01-01', '+' || d || ' days'),
       (CAST(strftime('%w', date('2025-01-01', '+' || d || ' days')) AS INTEGER) + 6) % 7 + 1,
       h, 0, '', '{{}}'
FROM t
"""
RAW_ANSWERS = """
INSERT INTO answers (submission_id, question_id, kind, scale, value, reasons, comment)
SELECT id, 'q1', 'smiley', 5, 1 + (rowid * 13) % 5,
       CASE WHEN (rowid * 13) % 5 < 2 THEN '["wait"]' ELSE '[]' END,
       CASE WHEN rowid % 20 = 0 THEN 'The queue was long at the till' END
FROM submissions
"""


def make_data(path: Path, answers: int) -> tuple[str, int, int, float]:
    """bench/reports.py's rollups, then places, people, raw answers and a user; url, rows, s."""
    started = time.perf_counter()
    url, rows, _ = build(path, answers)
    raw = answers // LOCATIONS
    engine = make_engine(url)
    with engine.begin() as conn:
        for sql in (PLACES, PEOPLE, DEVICE, RAW_SUBMISSIONS.replace(":raw", str(raw))):
            conn.exec_driver_sql(sql)
        conn.exec_driver_sql(RAW_ANSWERS)
        conn.exec_driver_sql("ANALYZE")
        users.create(conn, EMAIL, passwords.hash_password(PASSWORD), "admin", [])
    engine.dispose()
    return url, rows, raw, time.perf_counter() - started


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
    times = []
    for i in range(runs + 1):
        started = time.perf_counter()
        answer = browser.get(url, timeout=300)
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == 200, f"{url}: {answer.status_code}"
        if i:
            times.append(elapsed)
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)]


def main() -> None:
    """Build each size, start the server on it, time each page, print a table and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    p50s: dict[tuple[int, str], float] = {}
    print(f"{'answers':>10} {'rollup rows':>12} {'raw rows':>9} {'build s':>8} {'page':>11} "
          f"{'p50 ms':>8} {'p95 ms':>8}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"dashboard-{size}.db"
            url, rows, raw, build_s = make_data(path, size)
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
            path.unlink()
    small, large = min(args.sizes), max(args.sizes)
    for page in PAGES:
        ratio = p50s[(large, page)] / p50s[(small, page)]
        print(f"p50 ratio {large}/{small} answers, {page}: {ratio:.1f}x")
    if large < 10_000_000:
        print("for 10M answers: bench/dashboard.py --sizes 100000 1000000 10000000")


if __name__ == "__main__":
    main()
