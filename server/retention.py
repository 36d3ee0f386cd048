"""Retention: purge comments and raw answers past their settings, and erase one location.

Scores never depend on raw answers: reports read the rollups, which a purge leaves alone. Before
deleting answers the purge records how far it reaches (`retention_marks`), so the rollup check
keeps the rows of purged days instead of "correcting" them to zero.

Uploads not yet counted in the rollups (`server.store.pending_rollups`) are folded in each
purge batch's transaction before its answers are deleted, so the purge never loses a count.

Days are store-local `local_date`s, like the rollups': a retention of N days keeps every answer
of the last N days and deletes those of days that ended more than N days ago in any time zone
(so at most two days more are kept). Work goes a batch at a time, each in its own short
transaction (`server/store/retention.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from server.settings import Settings
from server.store import pending_rollups, retention, rollups
from shared.clock import utcnow

log = logging.getLogger(__name__)

BATCH = 500


def first_kept_day(days: int, now: datetime) -> date | None:
    """The first store-local day a retention of `days` keeps; None for 0 (keep forever).

    A store-local day may run up to 14 h ahead of UTC, so one day of slack keeps every answer
    given within the last `days` days wherever the store is.
    """
    if days <= 0:
        return None
    return (now - timedelta(days=days)).date() - timedelta(days=1)


@dataclass
class PurgeReport:
    """What a purge removed (or, dry, would remove)."""

    dry_run: bool
    answers_kept_from: date | None
    comments_kept_from: date | None
    submissions: int = 0
    answers: int = 0
    comments: int = 0
    id_conflicts: int = 0
    batches: int = 0
    other_rows: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready values (days in ISO 8601)."""
        data = asdict(self)
        for name in ("answers_kept_from", "comments_kept_from"):
            data[name] = None if data[name] is None else data[name].isoformat()
        return data


def _walk(
    engine: Engine, read: Callable[[Any, str], list[str]], act: Callable[[Any, list[str]], None]
) -> int:
    """Read a batch of ids (no write lock), act on them in a short transaction; repeat."""
    after, batches = "", 0
    while True:
        with engine.connect() as conn:
            ids = read(conn, after)
        if not ids:
            return batches
        with engine.begin() as conn:
            act(conn, ids)
        batches += 1
        after = ids[-1]


def purge(
    engine: Engine,
    settings: Settings,
    now: datetime | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
) -> PurgeReport:
    """Delete raw answers and blank comments past their retention; drop old id conflicts."""
    now = now or utcnow()
    answers_from = first_kept_day(settings.answer_retention_days, now)
    comments_from = first_kept_day(settings.comment_retention_days, now)
    if answers_from is not None and (comments_from is None or comments_from < answers_from):
        comments_from = answers_from  # a comment goes with its answer at the latest
    report = PurgeReport(dry_run, answers_from, comments_from)
    days = [d for d in (settings.answer_retention_days, settings.comment_retention_days) if d > 0]
    conflicts_before = now - timedelta(days=min(days)) if days else None
    if dry_run:
        with engine.connect() as conn:
            if answers_from is not None:
                found = retention.count_before(conn, answers_from)
                report.submissions, report.answers = found["submissions"], found["answers"]
            if comments_from is not None:
                report.comments = retention.count_before(conn, comments_from)["comments"]
            if conflicts_before is not None:
                report.id_conflicts = retention.count_conflicts_before(conn, conflicts_before)
        return report

    if comments_from is not None:
        with engine.begin() as conn:
            retention.advance(conn, "comments", comments_from, now)

        def blank(conn: Any, ids: list[str]) -> None:
            report.comments += retention.blank_comments(conn, ids)

        report.batches += _walk(
            engine,
            lambda conn, after: retention.ids_before(
                conn, comments_from, after, batch, with_comment=True
            ),
            blank,
        )
    if answers_from is not None:
        # The mark first: from now on the rollup check keeps the rollups of these days.
        with engine.begin() as conn:
            retention.advance(conn, "answers", answers_from, now)

        def remove(conn: Any, ids: list[str]) -> None:
            # Pending uploads are counted before their answers go: the rollups are then all
            # that is left of them (and deleting the submissions deletes their pending rows).
            pending_rollups.fold(conn)
            for table, n in retention.delete_submissions(conn, ids, keep_counts=True).items():
                if table == "submissions":
                    report.submissions += n
                elif table == "answers":
                    report.answers += n
                elif n:  # a child table with none of these (pending rows, say) is not listed
                    report.other_rows[table] = report.other_rows.get(table, 0) + n

        report.batches += _walk(
            engine,
            lambda conn, after: retention.ids_before(conn, answers_from, after, batch),
            remove,
        )
    if conflicts_before is not None:
        with engine.begin() as conn:
            report.id_conflicts = retention.delete_conflicts_before(conn, conflicts_before)
    if report.submissions or report.comments or report.id_conflicts:
        log.info(
            "purge: %d submissions (%d answers), %d comments, %d id conflicts",
            report.submissions,
            report.answers,
            report.comments,
            report.id_conflicts,
        )
    return report


def run_purge(engine: Engine, settings: Settings) -> PurgeReport:
    """The scheduled job: purge what is past its retention now."""
    return purge(engine, settings)


class CannotEraseError(Exception):
    """The location's data cannot be erased as it stands (the message says why)."""


def erase_location(
    engine: Engine, location_id: str, dry_run: bool = False, batch: int = BATCH
) -> dict[str, int]:
    """Delete everything stored of one location; rows deleted (or, dry, found) per table.

    Answers go a batch at a time; the rest (devices, staff, touchpoints, rollups, alerts,
    KPIs, coverage, the location itself …) in one last transaction.
    """
    with engine.connect() as conn:
        counted = retention.count_location_rows(conn, location_id)
        if "locations" not in counted:
            raise CannotEraseError(f"no location {location_id!r}")
        moved = retention.devices_with_answers_elsewhere(conn, location_id)
    if moved:
        raise CannotEraseError(
            f"device {moved[0]} stands here but delivered answers stored at another location;"
            " move it to that location first (smiletap-server move-device)"
        )
    if dry_run:
        return counted
    deleted: dict[str, int] = {}
    while True:
        with engine.connect() as conn:
            ids = retention.submission_ids_at(conn, location_id, batch)
        if not ids:
            break
        with engine.begin() as conn:
            for table, n in retention.delete_submissions(conn, ids, keep_counts=False).items():
                if n:  # a child table with none of these (follow-ups, say) is not listed
                    deleted[table] = deleted.get(table, 0) + n
    with engine.begin() as conn:
        # Its rollup rows go with the rest: no fold may add to them meanwhile (PostgreSQL; a
        # fold of its uploads committed before this is deleted with them).
        rollups.lock_out_folds(conn)
        for table, n in retention.delete_location_rows(conn, location_id).items():
            deleted[table] = deleted.get(table, 0) + n
    log.warning("erased location %s: %s", location_id, deleted)
    return deleted
