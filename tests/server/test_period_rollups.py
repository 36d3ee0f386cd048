"""Reports read from the period rollups equal reports read from the hourly rollups, for any
range: across month and year boundaries, DST changes and time zones, on both backends."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, func, select, text

from server import migrations
from server.db import make_engine
from server.scores import build_groups, groups_json, score_groups
from server.store import day_hours, pending_rollups, rollups
from server.store.filters import Filters
from server.store.schema import rollups as hourly
from server.store.schema import rollups_day_parts
from tests.server.conftest import Smiletap

FIRST_DAY = date(2025, 12, 20)
LAST_DAY = date(2027, 1, 12)

# UTC moments near the edges that matter: New Year, month ends, the 2026 DST changes of the
# USA (8 Mar, 1 Nov) and Europe (29 Mar, 25 Oct), and leap-free February.
EDGES = [
    datetime(2025, 12, 31, 23, 30, tzinfo=UTC),
    datetime(2026, 1, 1, 4, 30, tzinfo=UTC),
    datetime(2026, 2, 28, 23, 30, tzinfo=UTC),
    datetime(2026, 3, 1, 4, 45, tzinfo=UTC),
    datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
    datetime(2026, 3, 31, 22, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    datetime(2026, 10, 31, 23, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
    datetime(2026, 12, 31, 22, 30, tzinfo=UTC),
    datetime(2027, 1, 1, 4, 59, tzinfo=UTC),
]


def _hourly_counts(
    conn: Connection,
    group_by: str,
    day_from: date,
    day_to: date,
    location_ids: list[str] | None,
    include_burst: bool,
    touchpoint_ids: list[str | None] | None,
) -> list[dict[str, Any]]:
    """The report's counts summed straight from the hourly rollups: the reference."""
    r = hourly.c
    group = [r[name] for name in rollups.GROUP_COLUMNS[group_by]]
    query = select(*group, r.kind, r.scale, r.value, func.sum(r["count"]).label("n")).where(
        r.local_date >= day_from, r.local_date <= day_to
    )
    if location_ids is not None:
        query = query.where(r.location_id.in_(location_ids))
    if not include_burst:
        query = query.where(r.burst.is_(False))
    if touchpoint_ids is not None:
        query = query.where(r.touchpoint_id.in_([tp or "" for tp in touchpoint_ids]))
    query = query.group_by(*group, r.kind, r.scale, r.value)
    return [dict(row) for row in conn.execute(query).mappings()]


def _taps(rng: random.Random) -> list[datetime]:
    spread = [
        datetime(2025, 12, 20, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 388 * 24 * 60))
        for _ in range(60)
    ]
    return [*EDGES, *spread]


def test_period_reports_equal_hourly_reports(smiletap: Smiletap, runner, database_url) -> None:
    kiosks = [smiletap.setup("Europe/Warsaw"), smiletap.setup("America/New_York")]
    staff = [runner.json("create-staff", "--location", k.location_id, "--name", "A")["id"]
             for k in kiosks]  # fmt: skip
    doors = [runner.json("create-touchpoint", "--location", k.location_id, "--name", "Door")["id"]
             for k in kiosks]  # fmt: skip
    rng = random.Random(4)
    for index, kiosk in enumerate(kiosks):
        items = []
        for tap in _taps(rng):
            item = kiosk.item(rng.randint(1, 5), tapped_at=tap.isoformat())
            item["staff_id"] = rng.choice([None, staff[index]])
            item["touchpoint_id"] = rng.choice([None, doors[index]])
            item["flags"] = ["burst"] if rng.random() < 0.2 else []
            if rng.random() < 0.5:
                item["answers"].append({"question_id": "q2", "value": rng.randint(0, 10)})
            items.append(item)
        results = kiosk.submit(items).json["results"]
        assert {r["status"] for r in results} == {"accepted"}, results
    locations = [k.location_id for k in kiosks]
    engine = make_engine(database_url)
    with engine.connect() as conn:
        pending_rollups.caught_up(conn)  # read as a reader reads them

    @settings(
        max_examples=90,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        st.dates(FIRST_DAY, LAST_DAY),
        st.integers(0, 400),
        # weekday_hour thrice: its ranges with partial months read packed days (migration 0022).
        st.sampled_from([*sorted(rollups.GROUP_COLUMNS), "weekday_hour", "weekday_hour"]),
        st.booleans(),
        st.sampled_from([None, locations[:1], locations[1:], locations]),
        st.sampled_from([None, [None], doors[:1], [doors[1], None], doors]),
    )
    def compare(
        day_from: date,
        days: int,
        group_by: str,
        burst: bool,
        scope: list[str] | None,
        at: list[str | None] | None,
    ) -> None:
        day_to = day_from + timedelta(days=days)
        wanted = Filters(day_from, day_to, scope, burst, at)
        with engine.connect() as conn:
            period = rollups.counts(conn, group_by, wanted)
            rows = rollups.count_rows(conn, group_by, wanted)
            columns = rollups.count_columns(conn, group_by, wanted)
            reference = _hourly_counts(conn, group_by, day_from, day_to, scope, burst, at)
        expected = build_groups(reference, group_by, 1)
        assert build_groups(period, group_by, 1) == expected
        assert score_groups(rows, group_by, 1) == expected  # one row per group, kind and scale
        # The API's body: the same groups' JSON, read column by column and written from the
        # score arrays (min_n 3: some groups unranked).
        written = orjson.dumps(build_groups(reference, group_by, 3), option=orjson.OPT_SORT_KEYS)
        assert groups_json(columns, group_by, 3) == written

    try:
        compare()
        # The whole data set, and one aligned year, as a sanity check that ranges hit rows.
        with engine.connect() as conn:
            whole = rollups.counts(conn, "location", Filters(FIRST_DAY, LAST_DAY, None, True))
            year = rollups.counts(
                conn, "weekday_hour", Filters(date(2026, 1, 1), date(2026, 12, 31), None, True)
            )
        assert sum(int(r["n"]) for r in whole) > 0 and year
    finally:
        engine.dispose()


@given(st.dates(), st.integers(0, 4000))
def test_pieces_cover_the_range_once(day_from: date, days: int) -> None:
    try:
        day_to = day_from + timedelta(days=days)
    except OverflowError:
        day_to = date.max
    found = rollups.pieces(day_from, day_to)
    assert 1 <= len(found) <= 7
    # Each signed piece adds its sign to its days: every day of the range must come out at 1,
    # every other day at 0. Tracked as steps at day ordinals (the day after date.max: +1).
    steps: Counter[int] = Counter()
    for sign, period, first, last in found:
        assert sign in (1, -1) and first <= last
        assert rollups.period_start(period, first) == first
        assert rollups.period_start(period, last) == last
        steps[first.toordinal()] += sign
        steps[rollups.period_end(period, last).toordinal() + 1] -= sign
    level, changes = 0, []
    for at in sorted(steps):
        level += steps[at]
        assert level in (0, 1), found
        if steps[at]:
            changes.append(at)
    assert changes == [day_from.toordinal(), day_to.toordinal() + 1], found


def test_pieces_cut_partial_ends_from_outside_when_that_reads_fewer_periods() -> None:
    year, jan, dec = date(2025, 1, 1), date(2025, 1, 1), date(2025, 12, 17)
    assert rollups.pieces(date(2025, 1, 15), date(2025, 12, 16)) == [
        (-1, "day", jan, date(2025, 1, 14)),
        (1, "year", year, year),
        (-1, "day", dec, date(2025, 12, 31)),
    ]
    assert rollups.pieces(date(2025, 1, 1), date(2025, 12, 31)) == [(1, "year", year, year)]
    assert rollups.pieces(date(2025, 3, 1), date(2025, 3, 3)) == [
        (1, "day", date(2025, 3, 1), date(2025, 3, 3))
    ]


def test_migration_fills_period_rollups_from_hourly(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = migrations.alembic_config(engine)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0004")
            conn.execute(
                text(
                    "INSERT INTO rollups VALUES "
                    "('L', '', 'S', 1, 'q1', 'smiley', 5, '2026-01-31', 6, 23, 0, 4, 3),"
                    "('L', 'st', 'S', 1, 'q1', 'smiley', 5, '2026-02-01', 7, 0, 0, 4, 2),"
                    "('L', '', 'S', 2, 'q1', 'smiley', 5, '2026-02-01', 7, 0, 1, 4, 5)"
                )
            )
            # Every kind's cut-offs, for the day parts (migration 0019).
            conn.execute(
                text(
                    "INSERT INTO rollups VALUES "
                    + ", ".join(
                        f"('M', '', 'S', 1, 'q{kind}', '{kind}', {scale}, '2026-03-02', 1, 9, 0,"
                        f" {value}, {value + 1})"
                        for kind, scale in (("nps", 11), ("csat", 5), ("ces", 5), ("ces", 7),
                                            ("smiley", 3), ("smiley", 4), ("smiley", 5))
                        for value in range(11)
                    )
                )
            )  # fmt: skip
            command.upgrade(config, "0021")  # weekday × hour day rows, not packed (0022)
            unpacked = _weekday_hour_rows(conn)
            assert any(row[0] == "day" for row in unpacked["rollups_weekday_hour_any"])
        migrations.upgrade(engine)
        with engine.begin() as conn:
            tables = (*rollups.PERIOD_TABLES, rollups_day_parts, *day_hours.TABLES)
            migrated = {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in tables}
            rollups.derive(conn)
            derived = {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in tables}
        assert migrated == derived
        of_l = [row for row in migrated["rollups_location"] if row[2] == "L"]
        assert len(of_l) == 3 + 2  # months, year; × burst flag (its days: rollups_day_parts)
        of_l = [row for row in migrated["rollups_location_any"] if row[2] == "L"]
        assert len(of_l) == 3 + 3 + 2  # days, months, year; × burst flag
        assert len(migrated["rollups_day_parts"]) == 3 + 7  # L: 2 days, 1 burst; M: 7 scales
        assert len(migrated["rollups_day_hours_any"]) == 3 + 7  # the same keys, packed
        assert not any(row[0] == "day" for row in migrated["rollups_weekday_hour_any"])
        # And back: the packed days unpacked into the rows they were.
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0021")
            assert _weekday_hour_rows(conn) == unpacked
    finally:
        engine.dispose()


def _weekday_hour_rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for name in ("rollups_weekday_hour", "rollups_weekday_hour_any"):
        found[name] = sorted(tuple(row) for row in conn.execute(text(f"SELECT * FROM {name}")))
    return found


def test_migration_0022_packs_the_weekday_hour_days(
    throwaway_database: tuple[Engine, Config],
) -> None:
    """Day rows of the weekday × hour tables (as 0021 kept them) become packed rows equal to
    those derived from the hourly rows; month and year rows stay; the downgrade gives the
    day rows back. On both backends: a blob on SQLite, an integer[] on PostgreSQL."""
    engine, config = throwaway_database
    rng = random.Random(5)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0021")
        cells = {}
        for _ in range(400):
            day = date(2026, 1, 1) + timedelta(days=rng.randrange(70))
            key = (rng.choice("LM"), rng.choice(["", "t"]), rng.choice(["smiley", "nps"]),
                   day, rng.randrange(24), rng.random() < 0.2, rng.randrange(11))  # fmt: skip
            cells[key] = rng.randrange(1, 9)
        conn.execute(
            hourly.insert(),
            [
                {"location_id": loc, "touchpoint_id": tp, "staff_id": "", "survey_id": "s",
                 "survey_version": 1, "question_id": kind, "kind": kind, "scale": 5,
                 "local_date": day, "weekday": day.isoweekday(), "hour": hour,
                 "burst": burst, "value": value, "count": n}
                for (loc, tp, kind, day, hour, burst, value), n in cells.items()
            ],
        )  # fmt: skip
        sums = ", ".join(f"SUM(CASE WHEN value = {v} THEN count ELSE 0 END)" for v in range(11))
        for name, tp in (("rollups_weekday_hour", "touchpoint_id, "),
                         ("rollups_weekday_hour_any", "")):  # fmt: skip
            group = f"local_date, location_id, {tp}weekday, hour, burst, kind, scale"
            conn.execute(text(f"INSERT INTO {name} SELECT 'day', {group}, {sums}"
                              f" FROM rollups GROUP BY {group}"))  # fmt: skip
            conn.execute(text(f"INSERT INTO {name} SELECT 'year', '2026-01-01', {group[12:]},"
                              f" {sums} FROM rollups GROUP BY {group[12:]}"))  # fmt: skip
        before = _weekday_hour_rows(conn)
        assert all(len({row[0] for row in rows}) == 2 for rows in before.values())
        command.upgrade(config, "0022")
        tables = day_hours.TABLES
        migrated = {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in tables}
        kept = _weekday_hour_rows(conn)
        day_hours.derive(conn, hourly)
        derived = {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in tables}
        assert migrated == derived and all(migrated.values())
        for name, rows in before.items():
            assert kept[name] == [row for row in rows if row[0] != "day"]
        command.downgrade(config, "0021")
        assert _weekday_hour_rows(conn) == before
