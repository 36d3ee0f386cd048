"""Report latency against data size: p50/p95 of GET /api/v1/reports/scores (group_by location, day,
touchpoint, staff and weekday_hour, and location narrowed to one touchpoint; one whole year and
an unaligned range) and of GET /api/v1/reports/links (smiley share against conversion over the
50 locations, per day and per week) on SQLite at 100k, 1M and optionally 10M answers.

    .venv/bin/python bench/reports.py                       # 100k and 1M answers
    .venv/bin/python bench/reports.py --sizes 100000 1000000 10000000   # adds 10M (minutes)
    .venv/bin/python bench/reports.py --only weekday_hour staff --check  # some, data checked

Reports read only the rollups, so the data made here is what ingest would store for N answers
spread at random over 50 locations × 3 touchpoints (two named, one "none") × 5 staff × 365
days × 14 opening hours × 5 smiley values: a Poisson count per cell (numpy), its hourly rollup
rows, the day, month and year period rollups (by touchpoint and summed over them) and the
day parts summed from the same counts
(equal to what `rebuild-rollups` derives; `--check` compares), bulk-inserted in key order by
`bench/dashboard.py`'s writer; no raw answers are made (no measured request reads them).
The link report reads the rollups and the daily KPIs (a year of them for each of the 50
locations, inserted as one batch), never raw answers.
The unaligned range (15 Jan – 16 Dec) is the worst case for the period pieces: two partial
months of days.
Each request's wall and CPU time (this process: the test client runs the app in it) is printed
beside a floor measured in the same run, `GET /healthz` through the same client; on a shared
machine compare CPU times.
Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

# One BLAS thread, as a served process has (server/__init__.py sets it before numpy loads;
# here numpy loads first).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import p50_p95  # noqa: E402

from server import migrations  # noqa: E402
from server.app import create_app, freeze_startup_objects  # noqa: E402
from server.db import dispose_engine, make_engine  # noqa: E402
from server.store import api_keys, day_hours, day_parts, rollups, schema  # noqa: E402
from server.store.schema import (  # noqa: E402
    DAY_PARTS_KEY,
    DAY_PARTS_SUMS,
    ROLLUP_PERIODS,
    kpi_imports,
    kpis,
    locations,
    rollups_day_parts,
)
from shared.clock import utcnow  # noqa: E402

LOCATIONS, TOUCHPOINTS, STAFF, DAYS, HOURS, VALUES = 50, 3, 5, 365, 14, 5

SURVEY = ("srv_bench", 1, "q1", "smiley", 5)  # survey, version, question, kind, scale
FIRST_DAY = date(2025, 1, 1)


def _names() -> tuple[list[str], list[list[str]], list[list[str]]]:
    """Location ids, and per location its touchpoint ids ('' first: none) and staff ids."""
    locs = [f"loc_{i:02d}" for i in range(LOCATIONS)]
    tps = [["", *(f"tp_{i:02d}_{t}" for t in range(1, TOUCHPOINTS))] for i in range(LOCATIONS)]
    staff = [[f"stf_{i:02d}_{j}" for j in range(STAFF)] for i in range(LOCATIONS)]
    return locs, tps, staff


def _period_groups(period: str) -> tuple[list[str], np.ndarray]:
    """The starts of `period` over the year (ISO) and each day's index among them."""
    days = [FIRST_DAY + timedelta(days=d) for d in range(DAYS)]
    starts = sorted({rollups.period_start(period, d).isoformat() for d in days})
    where = {s: i for i, s in enumerate(starts)}
    return starts, np.array([where[rollups.period_start(period, d).isoformat()] for d in days])


def day_parts_rows(counts: Iterable[tuple[tuple[Any, ...], int]]) -> list[tuple[Any, ...]]:
    """`rollups_day_parts` rows, in key order and `DAY_PARTS_KEY` + `DAY_PARTS_SUMS` column
    order, of ((day, location, touchpoint, burst, kind, scale, value), count) pairs: counted as
    ingest counts them (`day_parts.parts` of hourly keys), so `--check` compares that with the
    rebuild's SQL."""
    hourly = (
        ((loc, tp, "", "", 0, "", kind, scale, day, 0, 0, burst, value), n)
        for (day, loc, tp, burst, kind, scale, value), n in counts
    )
    names = (*DAY_PARTS_KEY, *DAY_PARTS_SUMS)
    return [tuple(row[name] for name in names) for row in day_parts.parts(hourly)]


def generate(answers: int, seed: int = 1) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """(table, rows) chunks in each table's key order: per location its hourly rollups, then
    every period rollup table, period by period, then the day parts."""
    rng = np.random.default_rng(seed)
    mean = answers / (LOCATIONS * TOUCHPOINTS * STAFF * DAYS * HOURS * VALUES)
    locs, tps, staff = _names()
    day_iso = [(FIRST_DAY + timedelta(days=d)).isoformat() for d in range(DAYS)]
    weekdays = [(FIRST_DAY + timedelta(days=d)).isoweekday() for d in range(DAYS)]
    survey_id, version, question, kind, scale = SURVEY
    # Day-first sums per location, for the period tables.
    by_location = np.zeros((DAYS, LOCATIONS, TOUCHPOINTS, VALUES), np.int64)
    by_staff = np.zeros((DAYS, LOCATIONS, TOUCHPOINTS, STAFF, VALUES), np.int64)
    by_hour = np.zeros((DAYS, LOCATIONS, TOUCHPOINTS, HOURS, VALUES), np.int64)
    for i in range(LOCATIONS):
        cube = rng.poisson(mean, size=(TOUCHPOINTS, STAFF, DAYS, HOURS, VALUES))
        tp, st, d, h, v = (a.tolist() for a in np.nonzero(cube))
        n = cube[cube > 0].tolist()
        tp_names, staff_names = tps[i], staff[i]
        yield (
            "rollups",
            [
                (locs[i], tp_names[t], staff_names[s], survey_id, version, question, kind,
                 scale, day_iso[day], weekdays[day], 8 + hour, False, 1 + value, count)
                for t, s, day, hour, value, count in zip(tp, st, d, h, v, n, strict=True)
            ],
        )  # fmt: skip
        by_location[:, i] = cube.sum(axis=(1, 3)).transpose(1, 0, 2)
        by_staff[:, i] = cube.sum(axis=3).transpose(2, 0, 1, 3)
        by_hour[:, i] = cube.sum(axis=1).transpose(1, 0, 2, 3)
    tail = (False, kind, scale)
    for name, per_day in (
        ("rollups_location", by_location),
        ("rollups_staff", by_staff),
        ("rollups_weekday_hour", by_hour),
    ):
        # By touchpoint, and summed over them (the `_any` twin, without the touchpoint).
        for table, cube in ((name, per_day), (f"{name}_any", per_day.sum(axis=2)[:, :, None])):
            yield table, _period_rows(table, cube, weekdays, locs, tps, staff, tail)
    for table, cube in (
        ("rollups_day_hours", by_hour),
        ("rollups_day_hours_any", by_hour.sum(axis=2)[:, :, None]),
    ):
        yield table, _day_hours_rows(table, cube, day_iso, locs, tps, tail)
    found = np.nonzero(by_location)
    counts = by_location[found].tolist()
    yield (
        "rollups_day_parts",
        day_parts_rows(
            ((day_iso[d], locs[i], tps[i][t], False, kind, scale, 1 + v), n)
            for d, i, t, v, n in zip(*(a.tolist() for a in found), counts, strict=True)
        ),
    )


def _day_hours_rows(
    table: str,
    per_day: np.ndarray,
    day_iso: list[str],
    locs: list[str],
    tps: list[list[str]],
    tail: tuple[Any, ...],
) -> list[tuple[Any, ...]]:
    """`rollups_day_hours(_any)` rows, in key order, from counts per day, location, touchpoint
    (one stand-in for `_any`), hour and value: every hour's counts packed in one row per day,
    location and touchpoint that has any."""
    cells = np.zeros((*per_day.shape[:3], 24, day_hours.WIDTH), "<i4")
    cells[:, :, :, 8 : 8 + HOURS, 1 : 1 + VALUES] = per_day
    found = np.nonzero(per_day.sum(axis=(3, 4)))
    packed = cells[found].reshape(len(found[0]), -1)
    place = not table.endswith("_any")
    return [
        (day_iso[d], locs[i], *([tps[i][t]] if place else []), *tail, packed[j].tobytes())
        for j, (d, i, t) in enumerate(zip(*(a.tolist() for a in found), strict=True))
    ]


def _period_rows(
    table: str,
    per_day: np.ndarray,
    weekdays: list[int],
    locs: list[str],
    tps: list[list[str]],
    staff: list[list[str]],
    tail: tuple[Any, ...],
) -> list[tuple[Any, ...]]:
    """A period table's rows, in key order, from counts per day, location, touchpoint (one
    stand-in for `_any`), the table's group columns and value: one row per period and group
    with a count per answer value 0..10 (values 1..5 here)."""
    rows: list[tuple[Any, ...]] = []
    for period in rollups.TABLE_PERIODS.get(getattr(schema, table), ROLLUP_PERIODS):
        starts, group = _period_groups(period)
        weekday_of = [0] * len(starts)
        if table.startswith("rollups_weekday_hour"):
            # The weekday is a key column: (start, weekday) pairs are the groups.
            pairs = sorted({(g, wd) for g, wd in zip(group.tolist(), weekdays, strict=True)})
            at = {pair: j for j, pair in enumerate(pairs)}
            group = np.array([at[pair] for pair in zip(group.tolist(), weekdays, strict=True)])
            starts = [starts[g] for g, _ in pairs]
            weekday_of = [wd for _, wd in pairs]
        sums = np.zeros((len(starts), *per_day.shape[1:]), np.int64)
        np.add.at(sums, group, per_day)
        found = np.nonzero(sums.sum(axis=-1))
        by_value = sums[found].tolist()
        p, loc, tp, *rest = (a.tolist() for a in found)
        place = not table.endswith("_any")
        piece = []
        for start, i, t, *middle, counts in zip(p, loc, tp, *rest, by_value, strict=True):
            if table.startswith("rollups_staff"):
                middle = [staff[i][middle[0]]]
            elif table.startswith("rollups_weekday_hour"):
                middle = [weekday_of[start], 8 + middle[0]]
            values = (0, *counts, *[0] * (10 - VALUES))
            piece.append((period, starts[start], locs[i], *([tps[i][t]] if place else []),
                          *middle, *tail, *values))  # fmt: skip
        rows += sorted(piece) if period != "day" else piece
    return rows


def build(path: Path, answers: int, check: bool = False) -> tuple[str, int, float]:
    """Make a migrated SQLite file with the rollups of `answers` answers; return url, rows, s.

    With `check`, assert that the period rollups equal those `rollups.derive` sums from the
    hourly rows (slow at 10M)."""
    from dashboard import write  # here: bench/dashboard.py imports this module's constants

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    started = time.perf_counter()
    rows = write(url, generate(answers))["rollups"]
    with engine.begin() as conn:
        _business(conn)
        _, key = api_keys.create(conn, "admin", [])
    elapsed = time.perf_counter() - started
    if check:
        _check(engine)
    engine.dispose()
    path.with_suffix(".key").write_text(key)
    return url, rows, elapsed


def _hourly_rows(path: Path) -> int:
    """A kept database brought to the newest schema; its number of hourly rollup rows."""
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    with engine.connect() as conn:
        rows = int(conn.exec_driver_sql("SELECT count(*) FROM rollups").scalar_one())
    engine.dispose()
    return rows


def _check(engine: Any) -> None:
    """The written period rollups and day parts equal a derivation from the written hourly
    rows."""
    with engine.connect() as conn:
        tables = (*rollups.PERIOD_TABLES, rollups_day_parts, *day_hours.TABLES)
        for table in tables:
            name = table.name
            conn.exec_driver_sql(f"CREATE TEMP TABLE written_{name} AS SELECT * FROM {name}")
        rollups.derive(conn)
        for table in tables:
            name = table.name
            for a, b in ((name, f"written_{name}"), (f"written_{name}", name)):
                differ = conn.exec_driver_sql(
                    f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT SELECT * FROM {b})"
                ).scalar_one()
                assert differ == 0, f"{name}: {differ} rows differ from rollups.derive"
        conn.rollback()


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
    "day": ("day", None),
    "touchpoint": ("touchpoint", None),
    "staff": ("staff", None),
    "weekday_hour": ("weekday_hour", None),
    "loc@tp": ("location", "tp_07_1"),
}


#: The link report: smiley share against conversion, all 50 locations, per day and per week.
LINKS = {"links/day": "day", "links/week": "week"}


Timings = tuple[float, float, float, float, float]


def measure(url: str, key: str, label: str, span: str, runs: int) -> Timings:
    """p50 and p95 (ms) of the scores (or links) request through the app, wall and CPU, and
    the floor's CPU p95 (`GET /healthz`, the same client, measured just before)."""
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tempfile.gettempdir()})
    # As a served process does (server/wsgi.py): the app's own objects out of the collector's
    # sight, so a report's collections walk only what the report builds.
    freeze_startup_objects()
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

    def floor() -> None:
        assert client.get("/healthz").status_code == 200

    try:
        if label in LINKS:
            # Checked once, outside the timings: the client's parsing of 18,000 points (~20 ms
            # of this process's CPU) is no part of the server's work on a request.
            body = client.get(path, query_string=params, headers=headers).json
            assert body and body["n"] > 0, body
        _, floor_cpu = p50_p95(floor, runs, time.process_time)
        wall = p50_p95(scores, runs)
        cpu = p50_p95(scores, runs, time.process_time)
        return (*wall, *cpu, floor_cpu)
    finally:
        dispose_engine(app)


def main() -> None:
    """Build each size, time each grouping and range, print a table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--check", action="store_true", help="compare the written period "
                        "rollups with rollups.derive's (slow at 10M)")  # fmt: skip
    parser.add_argument("--only", nargs="+", help="measure only these labels (group_by or links)")
    parser.add_argument("--keep", type=Path, help="a folder to keep each size's database in, and "
                        "to reuse it from on the next run")  # fmt: skip
    args = parser.parse_args()
    labels = [label for label in (*GROUP_BYS, *LINKS) if not args.only or label in args.only]
    p50s: dict[tuple[int, str, str], float] = {}
    p95s: dict[tuple[int, str, str], float] = {}
    print(f"{'answers':>10} {'rollup rows':>12} {'build s':>8} {'group_by':>13} {'range':>10} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'cpu p95':>8} {'floor95':>8}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = (args.keep or Path(tmp)) / f"reports-{size}.db"
            if args.keep and path.exists():
                url, rows, build_s = f"sqlite:///{path}", _hourly_rows(path), 0.0
            else:
                url, rows, build_s = build(path, size, args.check)
            key = path.with_suffix(".key").read_text()
            for group_by in labels:
                for span in RANGES:
                    p50, p95, cpu50, cpu95, floor = measure(url, key, group_by, span, args.runs)
                    p50s[(size, group_by, span)] = cpu50
                    p95s[(size, group_by, span)] = cpu95
                    print(f"{size:>10} {rows:>12} {build_s:>8.1f} {group_by:>13} {span:>10} "
                          f"{p50:>8.1f} {p95:>8.1f} {cpu50:>8.1f} {cpu95:>8.1f} "
                          f"{floor:>8.2f}")  # fmt: skip
            if not args.keep:
                path.unlink()
    small, large = min(args.sizes), max(args.sizes)
    for group_by in labels:
        for span in RANGES:
            ratio = p50s[(large, group_by, span)] / p50s[(small, group_by, span)]
            ratio95 = p95s[(large, group_by, span)] / p95s[(small, group_by, span)]
            print(f"ratio {large}/{small} answers, {group_by}, {span}: CPU p50 {ratio:.2f}x,"
                  f" p95 {ratio95:.2f}x")  # fmt: skip
    if large < 10_000_000:
        print("for 10M answers: bench/reports.py --sizes 100000 1000000 10000000")


if __name__ == "__main__":
    main()
