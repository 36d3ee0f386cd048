"""Report latency against data size: p50/p95 of GET /api/v1/reports/scores (group_by location,
touchpoint, staff and weekday_hour, and location narrowed to one touchpoint; one whole year and
an unaligned range) and of GET /api/v1/reports/links (smiley share against conversion over the
50 locations, per day and per week) on SQLite at 100k, 1M and optionally 10M answers.

    .venv/bin/python bench/reports.py                       # 100k and 1M answers
    .venv/bin/python bench/reports.py --sizes 100000 1000000 10000000   # adds 10M (minutes)

Reports read only the rollups, so the data made here is the hourly rollup rows that N answers
spread over 50 locations × 3 touchpoints (two named, one "none") × 5 staff × 365 days × 14
opening hours × 5 smiley values would produce, generated with one INSERT … SELECT in SQLite,
and the period rollups derived from them as `rebuild-rollups` does; no raw answers are made.
The link report reads the rollups and the daily KPIs (a year of them for each of the 50
locations, inserted as one batch), never raw answers.
The unaligned range (15 Jan – 16 Dec) is the worst case for the period pieces: two partial
months of days.
Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import p50_p95  # noqa: E402

from server import migrations  # noqa: E402
from server.app import create_app  # noqa: E402
from server.db import dispose_engine, make_engine  # noqa: E402
from server.store import api_keys, rollups  # noqa: E402
from server.store.schema import kpi_imports, kpis, locations  # noqa: E402
from shared.clock import utcnow  # noqa: E402

LOCATIONS, TOUCHPOINTS, STAFF, DAYS, HOURS, VALUES = 50, 3, 5, 365, 14, 5

# Every simulated answer picks a random cell; GROUP BY turns them into rollup counts.
# MATERIALIZED, or SQLite would call random() again wherever `raw` is referenced.
GENERATE = f"""
INSERT INTO rollups (location_id, touchpoint_id, staff_id, survey_id, survey_version,
                     question_id, kind, scale, local_date, weekday, hour, burst, value, count)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :answers),
raw AS MATERIALIZED (
  SELECT abs(random()) % {LOCATIONS} AS loc, abs(random()) % {TOUCHPOINTS} AS tp,
         abs(random()) % {STAFF} AS st,
         abs(random()) % {DAYS} AS d, 8 + abs(random()) % {HOURS} AS h,
         1 + abs(random()) % {VALUES} AS v
  FROM n
)
SELECT printf('loc_%02d', loc), CASE tp WHEN 0 THEN '' ELSE printf('tp_%02d_%d', loc, tp) END,
       printf('stf_%02d_%d', loc, st), 'srv_bench', 1, 'q1',
       'smiley', 5, date('2025-01-01', '+' || d || ' days'),
       (CAST(strftime('%w', date('2025-01-01', '+' || d || ' days')) AS INTEGER) + 6) % 7 + 1,
       h, 0, v, count(*)
FROM raw GROUP BY loc, tp, st, d, h, v
"""


def build(path: Path, answers: int) -> tuple[str, int, float]:
    """Make a migrated SQLite file with the rollups of `answers` answers; return url, rows, s."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql(GENERATE.replace(":answers", str(int(answers))))
        rollups.derive(conn)
        _business(conn)
        rows = conn.exec_driver_sql("SELECT count(*) FROM rollups").scalar_one()
        _, key = api_keys.create(conn, "admin", [])
    engine.dispose()
    (path.parent / "key").write_text(key)
    return url, rows, time.perf_counter() - started


def _business(conn: Any) -> None:
    """The 50 locations and a year of daily KPIs each (conversion 20-30 %), one import."""
    now = utcnow()
    conn.execute(
        locations.insert(),
        [
            {"id": f"loc_{i:02d}", "name": f"Bench {i}", "timezone": "Europe/Warsaw",
             "created_at": now}
            for i in range(LOCATIONS)
        ],
    )  # fmt: skip
    import_id = conn.execute(
        kpi_imports.insert().values(
            source="cli", actor="bench", at=now, stored=LOCATIONS * DAYS, unchanged=0, rejected=0
        )
    ).inserted_primary_key[0]
    pick = random.Random(5)
    conn.execute(
        kpis.insert(),
        [
            {
                "location_id": f"loc_{i:02d}",
                "date": date(2025, 1, 1) + timedelta(days=d),
                "visitors": (visitors := pick.randint(800, 1600)),
                "transactions": round(visitors * pick.uniform(0.2, 0.3)),
                "revenue_cents": pick.randint(10**6, 5 * 10**6),
                "staff_hours": 40.0,
                "import_id": import_id,
                "updated_at": now,
            }
            for i in range(LOCATIONS)
            for d in range(DAYS)
        ],
    )


RANGES = {"year": ("2025-01-01", "2025-12-31"), "unaligned": ("2025-01-15", "2025-12-16")}
#: (label, group_by, touchpoint filter): the groupings, and one narrowed to a touchpoint.
GROUP_BYS = {
    "location": ("location", None),
    "touchpoint": ("touchpoint", None),
    "staff": ("staff", None),
    "weekday_hour": ("weekday_hour", None),
    "loc@tp": ("location", "tp_07_1"),
}


#: The link report: smiley share against conversion, all 50 locations, per day and per week.
LINKS = {"links/day": "day", "links/week": "week"}


def measure(url: str, key: str, label: str, span: str, runs: int) -> tuple[float, float]:
    """p50 and p95 (ms) of the scores (or links) request through the app."""
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tempfile.gettempdir()})
    client = app.test_client()
    day_from, day_to = RANGES[span]
    params = {"from": day_from, "to": day_to}
    path = "/api/v1/reports/scores"
    if label in LINKS:
        path = "/api/v1/reports/links"
        params.update(score="smiley", kpi="conversion", grain=LINKS[label])
    else:
        group_by, touchpoint_id = GROUP_BYS[label]
        params["group_by"] = group_by
        if touchpoint_id is not None:
            params["touchpoint_id"] = touchpoint_id
    headers = {"Authorization": f"Bearer {key}"}

    def scores() -> None:
        response = client.get(path, query_string=params, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        if label in LINKS:
            assert response.json and response.json["n"] > 0, response.json

    try:
        return p50_p95(scores, runs)
    finally:
        dispose_engine(app)


def main() -> None:
    """Build each size, time each grouping and range, print a table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    p50s: dict[tuple[int, str, str], float] = {}
    p95s: dict[tuple[int, str, str], float] = {}
    print(f"{'answers':>10} {'rollup rows':>12} {'build s':>8} {'group_by':>13} {'range':>10} "
          f"{'p50 ms':>8} {'p95 ms':>8}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"reports-{size}.db"
            url, rows, build_s = build(path, size)
            key = (path.parent / "key").read_text()
            for group_by in (*GROUP_BYS, *LINKS):
                for span in RANGES:
                    p50, p95 = measure(url, key, group_by, span, args.runs)
                    p50s[(size, group_by, span)] = p50
                    p95s[(size, group_by, span)] = p95
                    print(f"{size:>10} {rows:>12} {build_s:>8.1f} {group_by:>13} {span:>10} "
                          f"{p50:>8.1f} {p95:>8.1f}")  # fmt: skip
            path.unlink()
    small, large = min(args.sizes), max(args.sizes)
    for group_by in (*GROUP_BYS, *LINKS):
        for span in RANGES:
            ratio = p50s[(large, group_by, span)] / p50s[(small, group_by, span)]
            ratio95 = p95s[(large, group_by, span)] / p95s[(small, group_by, span)]
            print(f"ratio {large}/{small} answers, {group_by}, {span}: p50 {ratio:.2f}x,"
                  f" p95 {ratio95:.2f}x")  # fmt: skip
    if large < 10_000_000:
        print("for 10M answers: bench/reports.py --sizes 100000 1000000 10000000")


if __name__ == "__main__":
    main()
