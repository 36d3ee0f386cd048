"""The link report's point scores, read from the day parts, equal the scores the score report's
code gives the same counts (`server.scores.build_groups`), and its points equal those of the
score and KPI groups, on both backends; the day parts ingest counts in Python equal those the
rebuild sums in SQL."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Connection, select

from server import kpi_report, links
from server.db import make_engine
from server.scores import build_groups
from server.store import kpis as kpi_store
from server.store import rollups
from server.store.filters import Filters
from server.store.schema import locations, rollups_day_parts
from shared.clock import utcnow

FIRST_DAY = date(2026, 11, 2)
SORTED = orjson.OPT_SORT_KEYS
DAYS = 21
#: Every kind on every scale it comes on (smiley and CES on several, so the majority scale
#: and its ties are exercised).
KINDS = {"nps": (11,), "csat": (5,), "ces": (5, 7), "smiley": (3, 4, 5)}


def _values(kind: str, scale: int) -> range:
    return range(0, 11) if kind == "nps" else range(1, scale + 1)


def _seed(conn: Connection, rng: random.Random) -> None:
    """Hourly rollup rows (and so the period rows) for 4 locations × 3 touchpoints over three
    weeks: a few answers per location-day of each kind, some days none, some burst taps."""
    keys = []
    for loc in range(4):
        for offset in range(DAYS):
            day = FIRST_DAY + timedelta(days=offset)
            for kind, scales in KINDS.items():
                if rng.random() < 0.15:
                    continue  # no answers of this kind that day
                for _ in range(rng.randint(1, 12)):
                    scale = rng.choice(scales)
                    keys.append(
                        (
                            f"loc{loc}",
                            rng.choice(["", "tp_a", "tp_b"]),
                            rng.choice(["", "stf"]),
                            "srv",
                            1,
                            rng.choice(["q1", "q2"]),
                            kind,
                            scale,
                            day,
                            day.isoweekday(),
                            rng.randint(8, 20),
                            rng.random() < 0.1,
                            rng.choice(_values(kind, scale)),
                        )
                    )
    rollups.add(conn, keys)


def _old_scores(
    conn: Connection, filters: Filters, score: str, grain: str
) -> dict[tuple[str, str], float]:
    """The computation the link report made before: full score groups per location-period."""
    rows = rollups.counts(conn, "day", filters)
    if grain == "week":
        rows = [{**r, "local_date": kpi_report.iso_week(r["local_date"])} for r in rows]
    found = {}
    for group in build_groups(rows, "day", 0):
        value = links.score_of(group, score)
        if value is not None:
            key = group["key"]
            found[(key["location_id"], str(key["date"]))] = value
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_point_scores_equal_the_score_groups(database_url: str, seed: int) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            _seed(conn, random.Random(seed))
        last = FIRST_DAY + timedelta(days=DAYS - 1)
        cases = [
            Filters(FIRST_DAY, last, None, False, None),
            Filters(FIRST_DAY, last, None, True, None),
            Filters(FIRST_DAY + timedelta(days=3), last, ["loc1", "loc3"], False, None),
            Filters(FIRST_DAY, last, None, False, ["tp_a"]),
            Filters(FIRST_DAY, last, ["loc0"], True, [None, "tp_b"]),
        ]
        compared = 0
        with engine.connect() as conn:
            for filters in cases:
                for score in links.SCORES:
                    for grain in links.GRAINS:
                        old = _old_scores(conn, filters, score, grain)
                        new = links.period_scores(conn, filters, score, grain)
                        assert new == old, (filters, score, grain)
                        compared += len(old)
        # Enough points, with fractional scores, that an off-by-one cut-off would show.
        assert compared > 1000
    finally:
        engine.dispose()


def test_day_parts_counted_on_ingest_equal_the_rebuilds(database_url: str) -> None:
    """`day_parts.parts` (ingest, Python) and `day_parts.derived` (rebuild and check, SQL):
    the same rows, every kind's cut-offs on every scale included."""
    engine = make_engine(database_url)
    every_value = [
        ("loc9", "", "", "srv", 1, "q1", kind, scale, FIRST_DAY, 1, 9, False, value)
        for kind, scales in KINDS.items()
        for scale in scales
        for value in _values(kind, scale)
    ]
    table = rollups_day_parts
    try:
        with engine.begin() as conn:
            _seed(conn, random.Random(3))
            rollups.add(conn, every_value * 2)  # twice: the upsert adds to every column
            query = select(table).order_by(*table.primary_key.columns)
            counted = [tuple(row) for row in conn.execute(query)]
            rollups.derive(conn)
            assert [tuple(row) for row in conn.execute(query)] == counted
        assert len(counted) > 200
        assert any(row[table.c.keys().index("c10")] for row in counted)  # NPS 10s landed
    finally:
        engine.dispose()


def _kpi_days(rng: random.Random) -> dict[tuple[str, date], dict[str, Any]]:
    """KPI rows as `kpi_report.day_rows` gives them, in date order: some values unknown, some
    zero, staffed hours with fractions that do not add up exactly in floating point."""

    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.15 else value

    days = {}
    for offset in range(DAYS):
        for loc in range(4):
            days[(f"loc{loc}", FIRST_DAY + timedelta(days=offset))] = {
                "answers": 0,
                "visitors": maybe(rng.choice([0, rng.randint(1, 2000)])),
                "transactions": maybe(rng.choice([0, rng.randint(1, 500)])),
                "revenue_cents": maybe(rng.randint(0, 10**7)),
                "staff_hours": maybe(rng.choice([0.0, round(rng.uniform(1, 80), 2), 7.1])),
            }
    return days


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_point_kpis_equal_the_kpi_groups(seed: int) -> None:
    days = _kpi_days(random.Random(seed))
    compared = 0
    for kpi in links.KPIS:
        for grain in links.GRAINS:
            old = {}
            for group in kpi_report.build_groups(days, grain):
                key, value = group["key"], links.kpi_of(group, kpi)
                if value is not None:
                    old[(key["location_id"], key.get("date") or key["week"])] = value
            top, bottom = links.kpi_columns(kpi)
            rows = [(loc, day, v[top], v[bottom]) for (loc, day), v in days.items()]
            assert links.period_kpis(rows, kpi, grain) == old, (kpi, grain)
            # SQLite's days come as ISO text: the same points.
            rows = [(loc, day.isoformat(), *rest) for loc, day, *rest in rows]
            assert links.period_kpis(rows, kpi, grain) == old, (kpi, grain)
            # In any order (the database gives no order): a week still sums its staffed
            # hours in date order, as kpi_report does, so the same floats.
            random.Random(seed).shuffle(rows)
            assert links.period_kpis(rows, kpi, grain) == old, (kpi, grain)
            compared += len(old)
    assert compared > 200


def _seed_kpis(conn: Connection, rng: random.Random) -> None:
    """The four locations and their KPIs as `_kpi_days` makes them, stored as imports store
    them."""
    now = utcnow()
    conn.execute(
        locations.insert(),
        [
            {"id": f"loc{i}", "name": f"L{i}", "timezone": "UTC", "created_at": now}
            for i in range(4)
        ],
    )
    import_id = kpi_store.log_import(conn, "cli", "test", 0, 0, 0)
    kpi_store.write(conn, import_id, {key: (None, v) for key, v in _kpi_days(rng).items()})


@pytest.mark.parametrize("seed", [4])
def test_report_points_equal_the_groups(database_url: str, seed: int) -> None:
    """Each point is a location-period with both a score (`_old_scores`) and a KPI (`kpi_of`
    a `kpi_report` group, to 3 digits), in period then location order; the link is that of
    those points."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            rng = random.Random(seed)
            _seed(conn, rng)
            _seed_kpis(conn, rng)
        last = FIRST_DAY + timedelta(days=DAYS - 1)
        cases = [
            Filters(FIRST_DAY, last, None, False, None),
            Filters(FIRST_DAY + timedelta(days=3), last, ["loc1", "loc3"], True, None),
            Filters(FIRST_DAY, last - timedelta(days=2), None, False, [None, "tp_b"]),
        ]
        compared = 0
        with engine.connect() as conn:
            for filters in cases:
                days = kpi_report.day_rows(conn, filters, kpis_only=True)
                for grain in links.GRAINS:
                    groups = kpi_report.build_groups(days, grain)
                    for kpi in links.KPIS:
                        kpis = {}
                        for group in groups:
                            key, value = group["key"], links.kpi_of(group, kpi)
                            if value is not None:
                                kpis[(key["location_id"], key.get("date") or key["week"])] = value
                        for score in links.SCORES:
                            scores = _old_scores(conn, filters, score, grain)
                            both = sorted(scores.keys() & kpis.keys(), key=lambda k: (k[1], k[0]))
                            expected = [
                                {"location_id": loc, "period": period,
                                 "score": scores[(loc, period)],
                                 "kpi": round(kpis[(loc, period)], 3)}
                                for loc, period in both
                            ]  # fmt: skip
                            points, link = links.report(conn, filters, score, kpi, grain)
                            assert points == expected, (filters, score, kpi, grain)
                            # The API's text of them: orjson's of the dicts, byte for byte.
                            text = links.report_json(conn, filters, score, kpi, grain)
                            assert text == (orjson.dumps(points, option=SORTED), link)
                            as_tuples = [(p["location_id"], p["score"], p["kpi"]) for p in points]
                            assert link == links.within_location(as_tuples)
                            compared += len(points)
        assert compared > 2000
    finally:
        engine.dispose()


def test_kpi_parts_read_floats_exactly(database_url: str) -> None:
    """Staffed hours come back as the very floats stored (SQLite's JSON would keep 15 digits
    of them: `fetch_columns` writes 17), and unknown values as None."""
    hours = [0.1 + 0.2, 1 / 3, 7.1, 40 + 1e-9, 123456.78901234567, None, 0.0]
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                locations.insert(),
                [{"id": "loc0", "name": "L0", "timezone": "UTC", "created_at": utcnow()}],
            )
            import_id = kpi_store.log_import(conn, "cli", "test", 0, 0, 0)
            stored = {
                ("loc0", FIRST_DAY + timedelta(days=i)): (
                    None,
                    {**kpi_store.EMPTY, "visitors": i, "staff_hours": value},
                )
                for i, value in enumerate(hours)
            }
            kpi_store.write(conn, import_id, stored)
        last = FIRST_DAY + timedelta(days=len(hours))
        with engine.connect() as conn:
            found = kpi_store.daily_parts(conn, None, FIRST_DAY, last, "staff_hours", "visitors")
        _, _, read, visitors = found
        assert [repr(h) for h in read] == [repr(hours[v]) for v in visitors]
        assert sorted(visitors) == list(range(len(hours)))
    finally:
        engine.dispose()
