"""Retention: how far purges have reached, and the batched deletes they and an erase run.

Every write here is small on purpose: a caller reads up to one batch of submission ids (a read
takes no write lock, even on SQLite), then deletes or blanks just those in its own short
transaction, so kiosks' uploads never wait long behind a purge of a big table.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from server.store.schema import (
    DELETE_ORDER,
    answers,
    devices,
    id_conflicts,
    locations,
    purged_submission_counts,
    retention_marks,
    submissions,
)

#: Rows whose foreign keys lead to a location only through these are deleted with them.
_NO_LOCATION = frozenset({"users", "surveys", "survey_versions", "kpi_imports", "api_keys"})


def kept_from(conn: Connection, name: str) -> date | None:
    """The first store-local day still stored in full for this purge, or None (never run)."""
    found: date | None = conn.execute(
        select(retention_marks.c.kept_from).where(retention_marks.c.name == name)
    ).scalar_one_or_none()
    return found


def advance(conn: Connection, name: str, day: date, now: datetime) -> None:
    """Record that rows before `day` are (about to be) purged; the mark never moves back."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(retention_marks).values(name=name, kept_from=day, purged_at=now)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"kept_from": stmt.excluded.kept_from, "purged_at": stmt.excluded.purged_at},
            where=retention_marks.c.kept_from < stmt.excluded.kept_from,
        )
    )


def _with_comment() -> ColumnElement[bool]:
    a = answers.c
    return exists().where(a.submission_id == submissions.c.id, a.comment.is_not(None))


def ids_before(
    conn: Connection, day: date, after_id: str, limit: int, with_comment: bool = False
) -> list[str]:
    """Up to `limit` ids of submissions of store-local days before `day`, in id order after
    `after_id` (a keyset walk: each batch starts where the last one ended)."""
    s = submissions.c
    query = select(s.id).where(s.id > after_id, s.local_date < day)
    if with_comment:
        query = query.where(_with_comment())
    return list(conn.execute(query.order_by(s.id).limit(limit)).scalars())


def count_before(conn: Connection, day: date) -> dict[str, int]:
    """How many submissions, answers and comments there are of store-local days before `day`."""
    s, a = submissions.c, answers.c
    joined = answers.join(submissions, a.submission_id == s.id)
    row = conn.execute(
        select(func.count(), func.count(a.comment)).select_from(joined).where(s.local_date < day)
    ).one()
    taps = conn.execute(select(func.count()).where(s.local_date < day)).scalar_one()
    return {"submissions": int(taps), "answers": int(row[0]), "comments": int(row[1])}


def _children(parent: Table) -> list[tuple[Table, ColumnElement[Any], ColumnElement[Any]]]:
    """(table, its column, the parent's column) for every foreign key into `parent`."""
    found = []
    for table in DELETE_ORDER:
        for fk in table.foreign_keys:
            if fk.column.table is parent:
                found.append((table, fk.parent, fk.column))
    return found


def _count_purged(conn: Connection, ids: list[str]) -> None:
    """Add these submissions to the purged counts per location, touchpoint, day and burst."""
    s, p = submissions.c, purged_submission_counts.c
    # Literal SQL: PostgreSQL must see the SELECT and GROUP BY expressions as the same one.
    touchpoint = func.coalesce(s.touchpoint_id, literal_column("''"))
    grouped = (
        select(s.location_id, s.local_date, touchpoint, s.burst, func.count())
        .where(s.id.in_(ids))
        .group_by(s.location_id, s.local_date, touchpoint, s.burst)
    )
    rows = [
        {"location_id": loc, "local_date": day, "touchpoint_id": tp, "burst": burst, "count": n}
        for loc, day, tp, burst, n in sorted(conn.execute(grouped), key=lambda r: tuple(r[:4]))
    ]
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(purged_submission_counts)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["location_id", "local_date", "touchpoint_id", "burst"],
            set_={"count": p["count"] + stmt.excluded["count"]},
        ),
        rows,
    )


def delete_submissions(conn: Connection, ids: list[str], keep_counts: bool) -> dict[str, int]:
    """Delete these submissions and every row that refers to them (their answers …); the
    number of rows deleted per table. `keep_counts`: add them to the purged counts first."""
    deleted: dict[str, int] = {}
    if not ids:
        return deleted
    if keep_counts:
        _count_purged(conn, ids)
    for table, column, _parent in _children(submissions):
        deleted[table.name] = conn.execute(delete(table).where(column.in_(ids))).rowcount
    deleted["submissions"] = conn.execute(
        delete(submissions).where(submissions.c.id.in_(ids))
    ).rowcount
    return deleted


def _without_comments(payload: str) -> str:
    """The stored payload with every answer's comment removed (null)."""
    data = json.loads(payload)
    for answer in data.get("answers", []):
        if isinstance(answer, dict) and answer.get("comment") is not None:
            answer["comment"] = None
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def blank_comments(conn: Connection, ids: list[str]) -> int:
    """Remove the comments of these submissions' answers and from their stored payloads (the
    content hash stays, so a resend of one is still a duplicate); how many were removed."""
    if not ids:
        return 0
    a, s = answers.c, submissions.c
    blanked = conn.execute(
        update(answers).where(a.submission_id.in_(ids), a.comment.is_not(None)).values(comment=None)
    ).rowcount
    rewritten = [
        {"sid": sid, "stripped": _without_comments(payload)}
        for sid, payload in conn.execute(select(s.id, s.payload).where(s.id.in_(ids)))
    ]
    if rewritten:
        conn.execute(
            update(submissions)
            .where(s.id == bindparam("sid"))
            .values(payload=bindparam("stripped")),
            rewritten,
        )
    return int(blanked)


def delete_conflicts_before(conn: Connection, before: datetime) -> int:
    """Delete recorded id conflicts (both payloads, comments included) older than `before`."""
    return int(conn.execute(delete(id_conflicts).where(id_conflicts.c.at < before)).rowcount)


def count_conflicts_before(conn: Connection, before: datetime) -> int:
    """How many recorded id conflicts are older than `before`."""
    return int(conn.execute(select(func.count()).where(id_conflicts.c.at < before)).scalar_one())


# Erasing one location.


def _of_location(
    table: Table, location_id: str, seen: frozenset[str] = frozenset()
) -> ColumnElement[bool] | None:
    """Which rows of `table` belong to the location: its own `location_id`, or a foreign key
    into a table whose rows do; None when the table holds nothing of a location."""
    if table is locations:
        return locations.c.id == location_id
    if "location_id" in table.c:
        return table.c.location_id == location_id
    if table is id_conflicts:  # it names the device without a foreign key
        of_devices = select(devices.c.id).where(devices.c.location_id == location_id)
        return id_conflicts.c.device_id.in_(of_devices)
    if table.name in _NO_LOCATION or table.name in seen:
        return None
    for fk in table.foreign_keys:
        parent = fk.column.table
        if not isinstance(parent, Table):
            continue
        owned = _of_location(parent, location_id, seen | {table.name})
        if owned is not None:
            return fk.parent.in_(select(fk.column).where(owned))
    return None


def submission_ids_at(conn: Connection, location_id: str, limit: int) -> list[str]:
    """Up to `limit` ids of the location's submissions."""
    s = submissions.c
    return list(
        conn.execute(select(s.id).where(s.location_id == location_id).limit(limit)).scalars()
    )


def devices_with_answers_elsewhere(conn: Connection, location_id: str) -> list[str]:
    """Devices now at the location that delivered answers stored at another (moved here)."""
    d, s = devices.c, submissions.c
    query = (
        select(d.id)
        .where(
            d.location_id == location_id,
            exists().where(and_(s.device_id == d.id, s.location_id != location_id)),
        )
        .order_by(d.id)
    )
    return list(conn.execute(query).scalars())


def count_location_rows(conn: Connection, location_id: str) -> dict[str, int]:
    """How many rows of each table belong to the location (tables with none left out)."""
    found: dict[str, int] = {}
    for table in DELETE_ORDER:
        owned = _of_location(table, location_id)
        if owned is None:
            continue
        n = int(conn.execute(select(func.count()).select_from(table).where(owned)).scalar_one())
        if n:
            found[table.name] = n
    return found


def delete_location_rows(conn: Connection, location_id: str) -> dict[str, int]:
    """Delete every row that belongs to the location, children first, the location last."""
    deleted: dict[str, int] = {}
    for table in DELETE_ORDER:
        owned = _of_location(table, location_id)
        if owned is None:
            continue
        n = int(conn.execute(delete(table).where(owned)).rowcount)
        if n:
            deleted[table.name] = n
    return deleted
