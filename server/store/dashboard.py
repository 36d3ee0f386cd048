"""Reads the dashboard needs beyond scores: names, recent reasons and comments, device health.

Scores and burst counts come from the period rollups (server/store/rollups.py). The raw reads
(recent reasons, latest comments) walk the (location_id, burst, effective_at) index newest
first within the period's time bounds and stop at their LIMIT, so a page's cost does not grow
with the number of stored answers.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from server.store.rollups import pieces
from server.store.schema import (
    answers,
    devices,
    id_conflicts,
    locations,
    rollups_location,
    staff,
    submissions,
)

RECENT_REASON_ROWS = 2000
LATEST_COMMENTS = 20


def visible_locations(
    conn: Connection, location_ids: frozenset[str] | None
) -> list[dict[str, Any]]:
    """Locations by name: all of them (None) or only these ids."""
    query = select(locations).order_by(locations.c.name, locations.c.id)
    if location_ids is not None:
        query = query.where(locations.c.id.in_(sorted(location_ids)))
    return [dict(row) for row in conn.execute(query).mappings()]


def staff_names(conn: Connection, location_id: str) -> dict[str, dict[str, Any]]:
    """Every staff member of a location (active or not), by id."""
    rows = conn.execute(
        select(staff.c.id, staff.c.display_name, staff.c.active).where(
            staff.c.location_id == location_id
        )
    )
    return {r.id: {"name": r.display_name, "active": r.active} for r in rows}


def burst_answers(conn: Connection, location_id: str, day_from: date, day_to: date) -> int:
    """How many answers from burst-flagged taps the scores leave out (from the period rollups)."""
    r = rollups_location.c
    ranges = pieces(day_from, day_to)
    total = conn.execute(
        select(func.coalesce(func.sum(r["count"]), 0)).where(
            or_(*(and_(r.period == p, r.starts_on.between(a, b)) for p, a, b in ranges)),
            r.location_id == location_id,
            r.burst.is_(True),
        )
    ).scalar_one()
    return int(total)


def _utc_bounds(day_from: date, day_to: date) -> tuple[datetime, datetime]:
    """UTC instants that hold every store-local day from..to in any time zone (UTC−12..+14)."""
    start = datetime.combine(day_from - timedelta(days=1), time(), UTC)
    return start, datetime.combine(day_to + timedelta(days=2), time(), UTC)


def _recent(location_id: str, day_from: date, day_to: date) -> Any:
    s = submissions.c
    start, end = _utc_bounds(day_from, day_to)
    return (
        select(answers.c.question_id, answers.c.reasons, answers.c.comment)
        .add_columns(answers.c.kind, answers.c.value, s.effective_at)
        .select_from(answers.join(submissions, answers.c.submission_id == s.id))
        .where(
            s.location_id == location_id,
            s.burst.is_(False),
            # The time bounds let the index start at the period's end; local_date is exact.
            s.effective_at >= start,
            s.effective_at < end,
            s.local_date >= day_from,
            s.local_date <= day_to,
        )
        .order_by(s.effective_at.desc())
    )


def top_reasons(
    conn: Connection, location_id: str, day_from: date, day_to: date, limit: int = 10
) -> tuple[list[tuple[str, str, int]], int]:
    """The most chosen (question, reason, count) among recent answers, and how many were read."""
    query = _recent(location_id, day_from, day_to).where(answers.c.reasons != "[]")
    rows = conn.execute(query.limit(RECENT_REASON_ROWS)).all()
    counted: Counter[tuple[str, str]] = Counter()
    for row in rows:
        for reason in json.loads(row.reasons or "[]"):
            counted[(row.question_id, str(reason))] += 1
    return [(q, r, n) for (q, r), n in counted.most_common(limit)], len(rows)


def latest_comments(
    conn: Connection, location_id: str, day_from: date, day_to: date
) -> list[dict[str, Any]]:
    """The newest comments with the answer they came with."""
    query = _recent(location_id, day_from, day_to).where(
        answers.c.comment.is_not(None), answers.c.comment != ""
    )
    return [dict(r) for r in conn.execute(query.limit(LATEST_COMMENTS)).mappings()]


def device_rows(conn: Connection, location_ids: frozenset[str] | None) -> list[dict[str, Any]]:
    """Every device with its location's name and its id-conflict count."""
    conflicts = (
        select(id_conflicts.c.device_id, func.count().label("conflicts"))
        .group_by(id_conflicts.c.device_id)
        .subquery()
    )
    query = (
        select(
            devices,
            locations.c.name.label("location_name"),
            func.coalesce(conflicts.c.conflicts, 0).label("conflicts"),
        )
        .select_from(
            devices.join(locations, devices.c.location_id == locations.c.id).outerjoin(
                conflicts, conflicts.c.device_id == devices.c.id
            )
        )
        .order_by(locations.c.name, devices.c.name, devices.c.id)
    )
    if location_ids is not None:
        query = query.where(devices.c.location_id.in_(sorted(location_ids)))
    return [dict(r) for r in conn.execute(query).mappings()]
