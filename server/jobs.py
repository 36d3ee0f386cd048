"""Scheduled jobs, each run by one process of many.

The app starts an APScheduler `BackgroundScheduler` only when the `SCHEDULER` setting is on.
Every process may fire the same job at the same moment; `run_exclusively` lets exactly one of
them run it per period: a lease row (name, holder, expires_at) taken with one upsert, and on
PostgreSQL also a transaction-scoped advisory lock so a second process skips at once instead
of queueing behind the first.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Engine

from server import alerts, metrics, retention
from server import settings as app_settings
from server.db import get_engine, read_once, snapshot
from server.digests import schedule as digest_schedule
from server.settings import Settings
from server.store import job_leases, pending_rollups, rollups

log = logging.getLogger(__name__)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@contextmanager
def run_exclusively(engine: Engine, name: str, ttl_s: float) -> Iterator[bool]:
    """Yield True in the one caller that may run job `name` now; others get False.

    The lease is kept for ttl_s after the job, so a process firing late in the same period
    skips it too; a job that raises gives the lease back so the next attempt can retry.
    """
    holder = _holder()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # The lock and the lease live in one transaction held while the job runs: a
            # failure rolls the lease back, and nobody can see a lease of a job still running.
            with conn.begin():
                mine = job_leases.try_advisory_lock(conn, name) and job_leases.try_take(
                    conn, name, holder, ttl_s
                )
                yield mine
            return
        # SQLite: commit the lease first; a write transaction held open would block the job.
        with conn.begin():
            mine = job_leases.try_take(conn, name, holder, ttl_s)
        if not mine:
            yield False
            return
        try:
            yield True
        except BaseException:
            with conn.begin():
                job_leases.release(conn, name, holder)
            raise


def check_rollups(engine: Engine, settings: Settings | None = None) -> int:
    """Compare the rollups with a recomputation from raw answers; rebuild them if they differ.

    The comparison (minutes at millions of answers) reads one snapshot and takes no write
    lock, so uploads go on meanwhile and what they commit cannot show up as a difference
    (`db.snapshot`). Only a difference found there takes a write transaction, for the
    rebuild.
    """
    with engine.connect() as conn:
        # Pending uploads are left out of both sides (`rollups.differences`); folded first,
        # the check also covers what the fold added.
        pending_rollups.caught_up(conn)
        with snapshot(conn):
            differing = rollups.differences(conn)
        if differing:
            log.warning("rollups differed from the answers in %d rows; rebuilding", differing)
            # The rebuild recomputes every rollup from the raw answers as they stand inside
            # its own transaction, so taps stored between the two transactions are counted
            # right, not lost or counted twice.
            with conn.begin():
                rollups.rebuild(conn)
    return differing


def fold_rollups(engine: Engine, settings: Settings | None = None) -> int:
    """Count the pending uploads in the rollups (`pending_rollups`): when nobody reads and
    uploads are too few to fold on their own, the pending rows still do not pile up."""
    with engine.connect() as conn:
        with read_once(conn):
            if not pending_rollups.any_pending(conn):
                return 0
        with conn.begin():
            return pending_rollups.fold(conn)


@dataclass(frozen=True)
class Job:
    """A job, how often it runs, and the setting that holds that period."""

    name: str
    run: Callable[[Engine, Settings], object]
    period_setting: str

    def period_s(self, settings: Settings) -> float:
        """Seconds between runs, from the job's setting."""
        return float(getattr(settings, self.period_setting.lower()))


def check_alerts(engine: Engine, settings: Settings) -> int:
    """Run the alert rules; notify each new episode once. Returns how many were notified."""
    return len(alerts.check(engine, settings))


def send_digests(engine: Engine, settings: Settings) -> int:
    """Mail every e-mailed digest that is due; returns how many went out."""
    return len(digest_schedule.run(engine, settings))


JOBS = [
    Job("check-rollups", check_rollups, "ROLLUP_CHECK_INTERVAL_S"),
    Job("fold-rollups", fold_rollups, "ROLLUP_FOLD_INTERVAL_S"),
    Job("check-alerts", check_alerts, "ALERT_CHECK_INTERVAL_S"),
    Job("purge", retention.run_purge, "PURGE_INTERVAL_S"),
    Job("send-digests", send_digests, "DIGEST_CHECK_INTERVAL_S"),
]


def run_job(engine: Engine, job: Job, period_s: float, settings: Settings | None = None) -> bool:
    """Run the job here if no other process runs it this period; True when it ran here."""
    # The lease ends a little before the next firing, so clock jitter never skips a period.
    with run_exclusively(engine, job.name, period_s * 0.9) as mine:
        if mine:
            metrics.JOB_RUNS.labels(job=job.name).inc()
            try:
                job.run(engine, settings if settings is not None else Settings())
            except Exception:
                metrics.JOB_FAILURES.labels(job=job.name).inc()
                raise
    return mine


def init_app(app: Flask) -> None:
    """Start the background scheduler with every job, when the SCHEDULER setting is on."""
    settings = app_settings.of(app)
    if not settings.scheduler:
        return
    from apscheduler.schedulers.background import BackgroundScheduler

    engine = get_engine(app)
    scheduler = BackgroundScheduler(timezone="UTC")
    for job in JOBS:
        period_s = job.period_s(settings)
        scheduler.add_job(
            run_job,
            "interval",
            seconds=period_s,
            args=(engine, job, period_s, settings),
            id=job.name,
            max_instances=1,
            coalesce=True,
        )
    scheduler.start()
    app.extensions["smiletap_scheduler"] = scheduler
    atexit.register(stop_scheduler, app)


def stop_scheduler(app: Flask) -> None:
    """Stop the app's scheduler, if it has a running one."""
    scheduler = app.extensions.pop("smiletap_scheduler", None)
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=False)
