"""Stored submissions, their answers and the id conflicts found on ingest."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from server.store.schema import answers, id_conflicts, submissions
from shared.clock import utcnow

#: Ids per `IN (...)` look-up: well under SQLite's and PostgreSQL's parameter limits.
LOOKUP_CHUNK = 500


def find_many(conn: Connection, submission_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored hash and payload of each of these ids that is stored, by id."""
    wanted = list(dict.fromkeys(submission_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        rows = conn.execute(
            select(submissions.c.id, submissions.c.content_hash, submissions.c.payload).where(
                submissions.c.id.in_(chunk)
            )
        )
        for row in rows:
            found[row.id] = {"content_hash": row.content_hash, "payload": row.payload}
    return found


def insert_many(
    conn: Connection, rows: list[dict[str, Any]], answer_rows: list[dict[str, Any]]
) -> set[str]:
    """Store submissions and their answers in a few statements; the ids actually inserted.

    ON CONFLICT DO NOTHING is the backstop for a concurrent insert of the same id: it waits
    for the other transaction and then skips that row, instead of failing the whole batch.
    """
    if not rows:
        return set()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(submissions)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(submissions.c.id)
    )
    # RETURNING, because drivers disagree on rowcount for ON CONFLICT DO NOTHING.
    inserted = {row.id for row in conn.execute(stmt, rows)}
    kept = [a for a in answer_rows if a["submission_id"] in inserted]
    if kept:
        conn.execute(answers.insert(), kept)
    return inserted


def record_conflict(
    conn: Connection, device_id: str, submission_id: str, stored: str, new: str
) -> None:
    """Keep both payloads of an id that arrived with different content, for IT."""
    conn.execute(
        id_conflicts.insert().values(
            device_id=device_id,
            submission_id=submission_id,
            stored_payload=stored,
            new_payload=new,
            at=utcnow(),
        )
    )


def conflicts(conn: Connection) -> list[dict[str, Any]]:
    """Every recorded id conflict, oldest first."""
    rows = conn.execute(select(id_conflicts).order_by(id_conflicts.c.id)).mappings()
    return [dict(r) for r in rows]


EXPORT_COLUMNS = (
    "submission_id",
    "location_id",
    "device_id",
    "staff_id",
    "survey_id",
    "survey_version",
    "language",
    "local_date",
    "weekday",
    "hour",
    "effective_at",
    "tapped_at",
    "received_at",
    "burst",
    "question_id",
    "kind",
    "scale",
    "value",
    "reasons",
    "comment",
)


def export_rows(
    conn: Connection,
    day_from: date,
    day_to: date,
    location_ids: list[str] | None,
    include_burst: bool,
) -> list[dict[str, Any]]:
    """One row per answer (EXPORT_COLUMNS) for store-local days in [from, to]."""
    s, a = submissions.c, answers.c
    query = (
        select(
            s.id.label("submission_id"),
            s.location_id,
            s.device_id,
            s.staff_id,
            s.survey_id,
            s.survey_version,
            s.language,
            s.local_date,
            s.weekday,
            s.hour,
            s.effective_at,
            s.tapped_at,
            s.received_at,
            s.burst,
            a.question_id,
            a.kind,
            a.scale,
            a.value,
            a.reasons,
            a.comment,
        )
        .select_from(answers.join(submissions, a.submission_id == s.id))
        .where(s.local_date >= day_from, s.local_date <= day_to)
        .order_by(s.effective_at, s.id, a.question_id)
    )
    if location_ids is not None:
        query = query.where(s.location_id.in_(location_ids))
    if not include_burst:
        query = query.where(s.burst.is_(False))
    return [dict(row) for row in conn.execute(query).mappings()]
