"""Scheduled jobs: one runner per period across processes, and the rollup check."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from server import jobs
from server.app import create_app
from server.db import dispose_engine, make_engine
from server.store import day_hours, job_leases
from server.store import rollups as rollup_store
from server.store.schema import rollups


def _race(database_url: str, name: str, ttl_s: float, runners: int = 4) -> list[bool]:
    """Several engines (as separate processes would have) fire the same job at one moment."""
    engines = [make_engine(database_url) for _ in range(runners)]
    barrier = threading.Barrier(runners)
    got: list[bool] = []
    lock = threading.Lock()

    def fire(engine) -> None:
        barrier.wait()
        with jobs.run_exclusively(engine, name, ttl_s) as mine:
            if mine:
                time.sleep(0.3)  # still running while the others try
        with lock:
            got.append(mine)

    threads = [threading.Thread(target=fire, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    return got


def test_exactly_one_runs_per_period(database_url) -> None:
    assert sorted(_race(database_url, "demo", ttl_s=60)) == [False, False, False, True]
    # Later in the same period the lease still stands: nobody runs it again.
    assert _race(database_url, "demo", ttl_s=60) == [False] * 4


def test_next_period_runs_again(database_url, monkeypatch) -> None:
    # The leases' clock is held still during each race and moved past the lease between them,
    # so a runner slowed down by a loaded machine cannot outlive the lease mid-race.
    now = [datetime(2026, 12, 7, 12, 0, tzinfo=UTC)]
    monkeypatch.setattr(job_leases, "utcnow", lambda: now[0])
    assert _race(database_url, "short", ttl_s=60).count(True) == 1
    now[0] += timedelta(seconds=59)
    assert _race(database_url, "short", ttl_s=60) == [False] * 4  # the same period
    now[0] += timedelta(seconds=2)
    assert _race(database_url, "short", ttl_s=60).count(True) == 1


def test_failed_job_gives_the_lease_back(database_url) -> None:
    engine = make_engine(database_url)
    try:
        try:
            with jobs.run_exclusively(engine, "flaky", 60) as mine:
                assert mine
                raise RuntimeError("job failed")
        except RuntimeError:
            pass
        with jobs.run_exclusively(engine, "flaky", 60) as mine:
            assert mine
    finally:
        engine.dispose()


def test_advisory_key_is_stable() -> None:
    assert job_leases.advisory_key("check-rollups") == job_leases.advisory_key("check-rollups")
    assert -(2**63) <= job_leases.advisory_key("x") < 2**63


def test_check_rollups_repairs_drift(smiletap, database_url) -> None:
    kiosk = smiletap.setup()
    assert kiosk.submit([kiosk.item(v) for v in (1, 3, 5, 5)]).status_code == 200
    engine = make_engine(database_url)
    try:
        assert jobs.check_rollups(engine) == 0
        with engine.begin() as conn:
            conn.execute(update(rollups).values(count=rollups.c["count"] + 1))
        assert jobs.check_rollups(engine) > 0
        assert jobs.check_rollups(engine) == 0
        job = next(j for j in jobs.JOBS if j.name == "check-rollups")
        assert jobs.run_job(engine, job, 3600) is True
        assert jobs.run_job(engine, job, 3600) is False  # same period
    finally:
        engine.dispose()


def test_check_rollups_lets_uploads_commit_and_ignores_them(
    smiletap, database_url, monkeypatch
) -> None:
    """An upload commits while the comparison runs (SQLite: no write lock held; PostgreSQL:
    between the packed tables' stored and recomputed reads, which at READ COMMITTED would
    see it in one and not the other) and is no difference: nothing is rebuilt."""
    kiosk = smiletap.setup()
    assert kiosk.submit([kiosk.item(v) for v in (1, 3, 5)]).status_code == 200
    reached, released = threading.Event(), threading.Event()
    derived = day_hours._derived

    def blocked(conn, table, hourly):  # type: ignore[no-untyped-def]
        if not reached.is_set():  # the stored rows of the first table are read by now
            reached.set()
            assert released.wait(60)
        yield from derived(conn, table, hourly)

    rebuilt: list[object] = []
    rebuild = rollup_store.rebuild
    monkeypatch.setattr(day_hours, "_derived", blocked)
    monkeypatch.setattr(rollup_store, "rebuild", lambda conn: rebuilt.append(conn) or rebuild(conn))
    engine = make_engine(database_url)
    found: list[int] = []
    checker = threading.Thread(target=lambda: found.append(jobs.check_rollups(engine)))
    try:
        checker.start()
        assert reached.wait(60)
        assert kiosk.submit([kiosk.item(v) for v in (2, 4)]).status_code == 200
    finally:
        released.set()
        checker.join()
        engine.dispose()
    assert found == [0] and rebuilt == []
    monkeypatch.setattr(day_hours, "_derived", derived)
    engine = make_engine(database_url)
    try:
        assert jobs.check_rollups(engine) == 0  # the upload's rollups were right all along
        with engine.connect() as conn:
            assert conn.execute(select(func.sum(rollups.c["count"]))).scalar_one() == 5
    finally:
        engine.dispose()


def test_scheduler_only_when_enabled(database_url, tmp_path) -> None:
    base = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    off = create_app(base)
    assert "smiletap_scheduler" not in off.extensions
    on = create_app({**base, "SCHEDULER": True})
    scheduler = on.extensions["smiletap_scheduler"]
    try:
        assert scheduler.running
        scheduled = {job.id for job in scheduler.get_jobs()}
        assert scheduled == {job.name for job in jobs.JOBS} and "check-rollups" in scheduled
    finally:
        jobs.stop_scheduler(on)
        dispose_engine(on)
    assert not scheduler.running
