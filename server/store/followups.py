"""Following up what customers said: which submissions need it, who has them, which are handled.

A submission needs following up when one of its answers has a comment or follow-up reasons
(the kiosk offers reasons, and ingest accepts them, only for an answer at most the question's
`follow_up.when_at_most`: a low answer). Burst taps are left out, as everywhere on the
dashboard. Such a submission with no `followups` row is open; assigning it or marking it
handled makes its row, so ingest writes nothing more and the rule for "needs following up"
is this module's query alone (a survey edited later changes nothing already stored).
"""

from __future__ import annotations

import statistics
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from server.store import as_utc
from server.store.schema import answers, followups, submissions, users
from server.store.submissions import at_touchpoints
from shared.clock import utcnow

#: The statuses a follow-up is in: no row is open; assigned and handled are stored.
STATUSES = ("open", "assigned", "handled")
#: A handler's note: one line (shared.names' rule: it may end up in a digest's mail or a CSV)
#: of a sentence or two.
NOTE_MAX_LENGTH = 500


def _needs_following_up() -> ColumnElement[bool]:
    """The submission has an answer with a comment, or with reasons (a low answer)."""
    a = answers.c
    return exists().where(
        a.submission_id == submissions.c.id,
        or_(a.reasons != "[]", and_(a.comment.is_not(None), a.comment != "")),
    )


def _status() -> ColumnElement[str]:
    return func.coalesce(followups.c.status, "open")


def _items(location_ids: Collection[str] | None, start: date, end: date) -> Select[Any]:
    """Submissions needing a follow-up, said on store-local days start..end, with their
    follow-up row (outer-joined: none is open)."""
    s = submissions.c
    query = (
        select(
            s.id.label("submission_id"),
            s.location_id,
            s.touchpoint_id,
            s.effective_at,
            s.local_date,
            _status().label("status"),
            followups.c.assignee_id,
            followups.c.assigned_at,
            followups.c.note,
            followups.c.handled_by,
            followups.c.handled_at,
        )
        .select_from(submissions.outerjoin(followups, followups.c.submission_id == s.id))
        .where(s.local_date >= start, s.local_date <= end, s.burst.is_(False))
        .where(_needs_following_up())
    )
    if location_ids is not None:
        query = query.where(s.location_id.in_(sorted(location_ids)))
    return query


def listing(
    conn: Connection,
    location_id: str,
    start: date,
    end: date,
    statuses: Collection[str] = STATUSES,
    assignee_id: str | None = None,
    touchpoint_ids: list[str | None] | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """A location's follow-ups said on days start..end in these statuses (assigned to this
    user, at these touchpoints when given), newest first, with the assignee's and handler's
    e-mail."""
    assignee, handler = users.alias("assignee"), users.alias("handler")
    query = (
        _items([location_id], start, end)
        .add_columns(
            assignee.c.email.label("assignee_email"), handler.c.email.label("handled_by_email")
        )
        .outerjoin(assignee, followups.c.assignee_id == assignee.c.id)
        .outerjoin(handler, followups.c.handled_by == handler.c.id)
        .where(_status().in_(sorted(statuses)))
        .order_by(submissions.c.effective_at.desc(), submissions.c.id)
        .limit(limit)
    )
    if assignee_id is not None:
        query = query.where(followups.c.assignee_id == assignee_id)
    if touchpoint_ids is not None:
        query = query.where(at_touchpoints(touchpoint_ids))
    rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        for name in ("effective_at", "assigned_at", "handled_at"):
            row[name] = as_utc(row[name])
    return rows


def answers_of(conn: Connection, submission_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each submission's answers (question, kind, scale, value, reasons JSON, comment)."""
    found: dict[str, list[dict[str, Any]]] = {sid: [] for sid in submission_ids}
    if not submission_ids:
        return found
    rows = conn.execute(
        select(answers)
        .where(answers.c.submission_id.in_(submission_ids))
        .order_by(answers.c.submission_id, answers.c.question_id)
    ).mappings()
    for row in rows:
        found[row["submission_id"]].append(dict(row))
    return found


def get(conn: Connection, submission_id: str) -> dict[str, Any] | None:
    """A submission that needs following up (location, when said, status), or None for one
    that does not or does not exist."""
    query = (
        select(
            submissions.c.location_id,
            submissions.c.effective_at,
            _status().label("status"),
            followups.c.assignee_id,
        )
        .select_from(
            submissions.outerjoin(followups, followups.c.submission_id == submissions.c.id)
        )
        .where(submissions.c.id == submission_id, submissions.c.burst.is_(False))
        .where(_needs_following_up())
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def _record(
    conn: Connection, submission_id: str, item: dict[str, Any], values: dict[str, Any]
) -> bool:
    """Make or change a follow-up's row unless it is handled; False when it was."""
    row = {
        "submission_id": submission_id,
        "location_id": item["location_id"],
        "said_at": as_utc(item["effective_at"]),
        "created_at": utcnow(),
        **values,
    }
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(followups)
    made = conn.execute(
        insert.values(row)
        .on_conflict_do_nothing(index_elements=["submission_id"])
        .returning(followups.c.submission_id)  # drivers disagree on rowcount here
    ).first()
    if made is not None:
        return True
    changed = conn.execute(
        update(followups)
        .where(followups.c.submission_id == submission_id, followups.c.status != "handled")
        .values(values)
    )
    return changed.rowcount == 1


def assign(
    conn: Connection, submission_id: str, item: dict[str, Any], assignee_id: str, by: str
) -> bool:
    """Give a follow-up to a colleague; False when it was handled already."""
    values = {
        "status": "assigned",
        "assignee_id": assignee_id,
        "assigned_by": by,
        "assigned_at": utcnow(),
    }
    return _record(conn, submission_id, item, values)


def handle(conn: Connection, submission_id: str, item: dict[str, Any], note: str, by: str) -> bool:
    """Mark a follow-up handled with the handler's note; False when it was handled already."""
    values = {"status": "handled", "note": note, "handled_by": by, "handled_at": utcnow()}
    return _record(conn, submission_id, item, values)


@dataclass(frozen=True)
class FollowupStats:
    """Follow-ups of what customers said in a period: how many are handled, how many are not
    (open or assigned), and the median time from the customer's answer to its handling."""

    handled: int
    open: int
    median_seconds: float | None  # None: nothing handled


def followup_stats(
    conn: Connection, location_ids: Collection[str] | None, start: date, end: date
) -> FollowupStats:
    """The follow-up figures of what customers said on store-local days start..end (both
    included) at these locations (None: every location). The median is of the handled ones'
    time to handle, in seconds."""
    query = _items(location_ids, start, end).with_only_columns(
        submissions.c.effective_at, followups.c.status, followups.c.handled_at
    )
    handled: list[float] = []
    waiting = 0
    for said_at, status, handled_at in conn.execute(query):
        if status == "handled":
            handled.append(_seconds(said_at, handled_at))
        else:
            waiting += 1
    median = statistics.median(handled) if handled else None
    return FollowupStats(handled=len(handled), open=waiting, median_seconds=median)


def _seconds(said_at: datetime, handled_at: datetime) -> float:
    done, said = as_utc(handled_at), as_utc(said_at)
    assert done is not None and said is not None
    return max(0.0, (done - said).total_seconds())
