"""Uploads counted in the rollups by a fold, not in their own transaction: pending until then,
counted exactly once by concurrent folds, never lost by a crash, a failed fold, a rebuild or a
purge, and every reader of the rollups sees an upload as soon as it committed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import Engine, func, insert, inspect, select, text
from sqlalchemy.exc import OperationalError

from server import alerts, jobs, migrations, retention, settings
from server.db import get_engine, make_engine
from server.store import pending_rollups, rollups
from server.store import submissions as submissions_store
from server.store.schema import (
    answers,
    devices,
    locations,
    rollups_day_parts,
    rollups_location_any,
    surveys,
)
from server.store.schema import pending_rollups as pending_table
from server.store.schema import rollups as hourly
from tests.server.conftest import Kiosk, Smiletap
from tests.server.dashboard.conftest import Chain


@pytest.fixture
def engine(app: Flask) -> Engine:
    """The app's engine; uploads never fold on their own here (readers still do)."""
    settings.override(app, rollup_fold_every=10**9)
    return get_engine(app)


def _pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(pending_table)).scalar_one())


def _counted(engine: Engine) -> tuple[int, int, int]:
    """Answers counted in the hourly, a period and the day-parts table, read as they stand
    (no fold)."""
    with engine.connect() as conn:
        n = conn.execute(select(func.coalesce(func.sum(hourly.c["count"]), 0))).scalar_one()
        c = rollups_location_any.c
        year = func.coalesce(func.sum(sum(c[f"c{v}"] for v in range(11))), 0)
        in_years = conn.execute(select(year).where(c.period == "year")).scalar_one()
        d = rollups_day_parts.c
        days = conn.execute(select(func.coalesce(func.sum(sum(d[f"c{v}"] for v in range(11))), 0)))
        return int(n), int(in_years), int(days.scalar_one())


def _answers(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(answers)).scalar_one())


def _fold(engine: Engine) -> int:
    with engine.begin() as conn:
        return pending_rollups.fold(conn)


def _differences(engine: Engine) -> int:
    with engine.begin() as conn:
        return rollups.differences(conn)


def _upload(kiosk: Kiosk, *values: int, **overrides: Any) -> None:
    response = kiosk.submit([kiosk.item(v, **overrides) for v in values])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert {r["status"] for r in response.json["results"]} == {"accepted"}


def test_an_upload_is_pending_until_one_fold_counts_it(smiletap: Smiletap, engine) -> None:
    kiosk = smiletap.setup()
    _upload(kiosk, 1, 2, 5)
    assert _pending(engine) == 3 and _counted(engine) == (0, 0, 0)
    assert _differences(engine) == 0  # the check leaves pending submissions out
    assert _fold(engine) == 3
    assert _pending(engine) == 0 and _counted(engine) == (3, 3, 3)
    assert _fold(engine) == 0 and _counted(engine) == (3, 3, 3)
    _upload(kiosk, 4)
    assert _fold(engine) == 1 and _counted(engine) == (4, 4, 4)
    assert _differences(engine) == 0


def test_uploads_fold_after_every_n_accepted(app: Flask, smiletap: Smiletap) -> None:
    settings.override(app, rollup_fold_every=0)  # 0: after every upload
    engine = get_engine(app)
    kiosk = smiletap.setup()
    _upload(kiosk, 3, 4)
    assert _pending(engine) == 0 and _counted(engine) == (2, 2, 2)


def test_a_batch_of_inline_from_or_more_counts_itself(app: Flask, smiletap: Smiletap, engine):
    settings.override(app, rollup_inline_from=3, rollup_fold_every=10**9)
    kiosk = smiletap.setup()
    _upload(kiosk, 1, 2)  # fewer: pending
    assert _pending(engine) == 2 and _counted(engine) == (0, 0, 0)
    _upload(kiosk, 3, 4, 5)  # as many: counted in its own transaction
    assert _pending(engine) == 2 and _counted(engine) == (3, 3, 3)
    assert _differences(engine) == 0
    assert _fold(engine) == 2 and _counted(engine) == (5, 5, 5) and _differences(engine) == 0


def test_concurrent_folds_count_every_upload_once(smiletap: Smiletap, engine) -> None:
    kiosk = smiletap.setup()
    for value in range(1, 6):
        _upload(kiosk, value, value)
    start = threading.Barrier(3)
    folded: list[int] = []
    errors: list[BaseException] = []

    def fold_at_once() -> None:
        try:
            start.wait()
            folded.append(_fold(engine))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=fold_at_once) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(folded) == 10 and _counted(engine) == (10, 10, 10)
    assert _pending(engine) == 0 and _differences(engine) == 0


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_fold_waits_for_one_that_claimed_the_same_rows_then_skips_them(
    smiletap: Smiletap, engine
) -> None:
    """PostgreSQL: fold B starts while fold A holds its claim uncommitted; B waits on A's
    rows (seen in pg_stat_activity, not slept for), counts only the upload committed in
    between, and nothing is counted twice. Uploads do not wait for a fold."""
    kiosk = smiletap.setup()
    _upload(kiosk, 1, 2)
    outside = make_engine(str(engine.url))
    a = outside.connect()
    try:
        a_tx = a.begin()
        assert pending_rollups.fold(a) == 2  # claimed and counted, not committed
        _upload(kiosk, 5)  # commits while A holds its rows
        b_pid: list[int] = []
        b_done = threading.Event()
        b_folded: list[int] = []

        def fold_b() -> None:
            with outside.begin() as b:
                b_pid.append(int(b.execute(text("SELECT pg_backend_pid()")).scalar_one()))
                b_folded.append(pending_rollups.fold(b))
            b_done.set()

        thread = threading.Thread(target=fold_b)
        thread.start()
        waiting = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
        with outside.connect() as watch:
            while not b_pid or watch.execute(waiting, {"pid": b_pid[0]}).scalar() != "Lock":
                assert not b_done.is_set(), "fold B did not wait for fold A's rows"
                watch.rollback()
        a_tx.commit()
        thread.join()
        assert b_folded == [1]
        assert _counted(engine) == (3, 3, 3) and _pending(engine) == 0
        assert _differences(engine) == 0
    finally:
        a.close()
        outside.dispose()


def test_nothing_is_lost_by_a_crash_or_a_failed_fold(
    app: Flask, smiletap: Smiletap, engine, monkeypatch
) -> None:
    kiosk = smiletap.setup()
    _upload(kiosk, 2, 3)
    # A crash after the upload's commit: every connection gone, the pending rows stay.
    engine.dispose()
    assert _pending(engine) == 2
    # A fold that fails after some of its tables: all of it rolls back.
    real = rollups._upsert_all

    def fail_midway(conn: Any, work: Any) -> None:
        real(conn, work[:3])
        raise RuntimeError("the fold fails after three tables")

    monkeypatch.setattr(rollups, "_upsert_all", fail_midway)
    with pytest.raises(RuntimeError):
        _fold(engine)
    assert _pending(engine) == 2 and _counted(engine) == (0, 0, 0)
    monkeypatch.undo()
    assert _fold(engine) == 2 and _counted(engine) == (2, 2, 2)
    assert _differences(engine) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_reader_whose_fold_finds_the_write_lock_busy_still_answers(
    smiletap: Smiletap, engine, monkeypatch
) -> None:
    """SQLite: a fold that gives up on the write lock (busy past the timeout) leaves the rows
    pending, and the report is answered from the rollups as they are, not with an error."""
    kiosk = smiletap.setup()
    _upload(kiosk, 5)

    def busy(conn: Any) -> int:
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(pending_rollups, "fold", busy)
    today = datetime.now(UTC).date()
    days = {"from": str(today - timedelta(days=2)), "to": str(today + timedelta(days=2))}
    answer = smiletap.scores(smiletap.api_key("admin"), **days)
    assert answer.status_code == 200 and answer.json["groups"] == []
    assert _pending(engine) == 1
    monkeypatch.undo()
    assert [g["n"] for g in smiletap.scores(smiletap.api_key("admin"), **days).json["groups"]] == [
        1
    ]


def test_rebuild_with_pending_rows_is_the_recomputation(smiletap: Smiletap, engine) -> None:
    kiosk = smiletap.setup()
    _upload(kiosk, 1, 5)
    assert _fold(engine) == 2
    _upload(kiosk, 3, 3, 4)
    with engine.begin() as conn:
        rollups.rebuild(conn)
    assert _pending(engine) == 0 and _counted(engine) == (5, 5, 5)
    assert _differences(engine) == 0 and _fold(engine) == 0


def test_purge_folds_pending_uploads_before_their_answers_go(
    app: Flask, smiletap: Smiletap, engine
) -> None:
    kiosk = smiletap.setup()
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    _upload(kiosk, 1, 2, tapped_at=old)
    _upload(kiosk, 5)
    assert _pending(engine) == 3
    config = settings.override(app, answer_retention_days=30)
    report = retention.purge(engine, config)
    assert report.answers == 2 and _answers(engine) == 1
    assert _pending(engine) == 0 and _counted(engine) == (3, 3, 3)
    assert _differences(engine) == 0  # the purged days' rows are kept, not "corrected"


def test_every_reader_sees_an_upload_as_soon_as_it_committed(
    app: Flask, smiletap: Smiletap, engine
) -> None:
    chain = Chain(app, smiletap)
    kiosk = chain.kiosk
    key = smiletap.api_key("admin")
    admin = chain.client("admin")

    # The reports API, over HTTP.
    _upload(kiosk, 5, 4, 1)
    today = datetime.now(UTC).date()
    days = {"from": str(today - timedelta(days=2)), "to": str(today + timedelta(days=2))}
    found = smiletap.scores(key, **days).json
    assert [group["n"] for group in found["groups"]] == [3]
    assert _pending(engine) == 0
    _upload(kiosk, 5)
    answer = smiletap.client.get(
        "/api/v1/reports/links",
        query_string={**days, "score": "nps", "kpi": "conversion"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200 and _pending(engine) == 0

    # The dashboard's overview and location pages.
    _upload(kiosk, 5)
    page = chain.client("manager").get(f"/dashboard/locations/{chain.a}?period=7")
    assert 'id="total-n">5<' in page.get_data(as_text=True)
    _upload(kiosk, 5)
    assert _pending(engine) == 1
    assert admin.get("/dashboard/?period=7").status_code == 200
    assert _pending(engine) == 0 and _counted(engine)[0] == 6
    _upload(kiosk, 2)
    assert admin.get(f"/dashboard/locations/{chain.a}/chart.json").status_code == 200
    assert _pending(engine) == 0

    # The digest (its preview) and the alert rules.
    _upload(kiosk, 2)
    assert admin.get("/account/digest/preview?period=daily").status_code == 200
    assert _pending(engine) == 0
    _upload(kiosk, 1)
    alerts.check(engine, settings.of(app))
    assert _pending(engine) == 0
    assert _counted(engine) == (9, 9, 9) and _differences(engine) == 0

    # The scheduler's job and the command, when nobody reads.
    _upload(kiosk, 3)
    assert jobs.fold_rollups(engine) == 1 and _pending(engine) == 0
    _upload(kiosk, 4, 4)
    assert smiletap.cli.json("fold-rollups") == {"answers": 2}
    assert _pending(engine) == 0 and _counted(engine) == (12, 12, 12)


def test_migration_0023_adds_an_empty_pending_table_and_downgrades_only_when_empty(
    throwaway_database: tuple[Engine, Config],
) -> None:
    engine, config = throwaway_database
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0022")
        command.upgrade(config, "0023")
        assert conn.execute(text("SELECT count(*) FROM pending_rollups")).scalar_one() == 0
        command.downgrade(config, "0022")
        assert "pending_rollups" not in _tables(conn)
        command.upgrade(config, "0023")
    migrations.upgrade(engine)
    _one_submission(engine)  # stored with the code of 0023: marked pending
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        with pytest.raises(RuntimeError, match="fold-rollups"):
            command.downgrade(config, "0022")
    assert _pending(engine) == 1
    assert _fold(engine) == 0 and _pending(engine) == 0  # it has no answers
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0022")
        assert "pending_rollups" not in _tables(conn)


def _one_submission(engine: Engine) -> None:
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(surveys).values(id="S", latest_version=1, created_at=at))
        conn.execute(
            insert(locations).values(
                id="L", name="Centrum", timezone="Europe/Warsaw", survey_id="S", created_at=at
            )
        )
        conn.execute(insert(devices).values(id="D", location_id="L", name="Till", created_at=at))
        row = dict(
            id="u1", device_id="D", location_id="L", survey_id="S", survey_version=1,
            staff_id=None, touchpoint_id=None, language="en", tapped_at=at, received_at=at,
            skew_s=0.0, effective_at=at, local_date=at.date(), weekday=1, hour=13, burst=False,
            content_hash="h", payload="{}",
        )  # fmt: skip
        submissions_store.insert_many(
            conn, [[row[name] for name in submissions_store.SUBMISSION_COLUMNS]], []
        )


def _tables(conn: Any) -> set[str]:
    return set(inspect(conn).get_table_names())
