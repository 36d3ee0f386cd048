"""Stored submissions, their answers (the raw reads: recent answers, reasons, comments) and the
id conflicts found on ingest."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Date,
    Select,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect

from server.db import Prepared, driver_cursor
from server.store import bulk
from server.store.filters import Filters
from server.store.schema import (
    answers,
    id_conflicts,
    pending_rollups,
    purged_submission_counts,
    submissions,
)
from shared.clock import utcnow

#: Ids per `IN (...)` look-up: well under SQLite's and PostgreSQL's parameter limits.
LOOKUP_CHUNK = 500


def _find(ids: ColumnElement[Any]) -> Prepared:
    """The stored hash and payload of the ids in `ids` (a one-column set of rows `value`)."""
    s = submissions.c
    wanted: Select[Any] = select(literal_column("value")).select_from(ids)
    return Prepared(select(s.id, s.content_hash, s.payload).where(s.id.in_(wanted)))


#: Run on the driver's cursor (`db.Prepared`; the look-up runs on every upload), the ids as
#: one JSON array: an expanding `IN (...)` had SQLAlchemy rewrite the statement for each
#: call. Both backends look each id up in the primary key.
_FIND = {
    "sqlite": _find(func.json_each(bindparam("ids", type_=String))),
    "postgresql": _find(func.json_array_elements_text(cast(bindparam("ids", type_=String), JSON))),
}


def find_many(conn: Connection, submission_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored hash and payload of each of these ids that is stored, by id."""
    wanted = list(dict.fromkeys(submission_ids))
    if not wanted:
        return {}
    rows = _FIND[conn.dialect.name].all(conn, {"ids": json.dumps(wanted)})
    return {
        row["id"]: {"content_hash": row["content_hash"], "payload": row["payload"]} for row in rows
    }


_FIND_IDS = select(submissions.c.id).where(submissions.c.id.in_(bindparam("ids", expanding=True)))


def find_ids(conn: Connection, submission_ids: list[str]) -> set[str]:
    """Which of these ids are stored."""
    found: set[str] = set()
    for start in range(0, len(submission_ids), LOOKUP_CHUNK):
        chunk = submission_ids[start : start + LOOKUP_CHUNK]
        found.update(conn.execute(_FIND_IDS, {"ids": chunk}).scalars())
    return found


#: The columns of a submission row and of an answer row, in the tables' order: the order of
#: the values `insert_many` takes.
SUBMISSION_COLUMNS = tuple(str(column.name) for column in submissions.c)  # plain str: orjson
ANSWER_COLUMNS = tuple(str(column.name) for column in answers.c)
_ID_AT = SUBMISSION_COLUMNS.index("id")
_SUBMISSION_ID_AT = ANSWER_COLUMNS.index("submission_id")


def insert_many(
    conn: Connection,
    rows: Sequence[Sequence[Any]],
    answer_rows: Sequence[Sequence[Any]],
    pending: bool = True,
    converted: bool = False,
) -> set[str]:
    """Store submissions and their answers in a few statements, each inserted submission
    marked pending for the rollups (`server.store.pending_rollups`) unless not `pending` (the
    caller counts them itself); the ids actually inserted
    (an id another transaction stored first is skipped, with its answers). Each row is its
    values in column order (`SUBMISSION_COLUMNS`, `ANSWER_COLUMNS`): ingest makes them so,
    with no dict per row. `converted` (SQLite): the rows hold their moments and days as the
    text SQLite stores (`bulk.sqlite_values`), made by ingest as it built them.

    PostgreSQL: one statement (`_pg_store`) inserts the submissions, the answers of those
    inserted and their pending marks. ON CONFLICT DO NOTHING is the backstop for a concurrent
    insert of the same id: it waits for the other transaction and then skips that row (and
    its answers), instead of failing the whole batch; RETURNING names the rows inserted.
    Outside a transaction it runs alone (`db.Prepared.alone`): one statement commits all of
    it or nothing, with no BEGIN and COMMIT around it. SQLite: the caller holds the one write
    lock (`BEGIN IMMEDIATE`), and the rows go in by the driver's `executemany`
    (`server.store.bulk`) skipping any id stored already (ON CONFLICT DO NOTHING); the count
    of rows inserted says whether every one went in. If not (another connection stored some
    of these ids since the caller found them missing), the rows this transaction inserted are
    those past the highest rowid read before the insert, as it holds the write lock. So ids
    are looked up again only when one was really taken in between (before, whenever any other
    connection had committed: under concurrent uploads, often); not in a savepoint, which cost
    SQLite ~1.8 µs a row. Rows are inserted in the order given (ingest sorts them by id).
    """
    if not rows:
        return set()
    if conn.dialect.name == "postgresql":
        params = {
            "rows": bulk.json_rows([dict(zip(SUBMISSION_COLUMNS, r, strict=True)) for r in rows]),
            "answers": bulk.json_rows(
                [dict(zip(ANSWER_COLUMNS, a, strict=True)) for a in answer_rows]
            ),
        }
        statement = _PG_STORE[pending]
        alone = not conn.in_transaction()
        result = statement.alone(conn, params) if alone else statement.all(conn, params)
        # RETURNING, because drivers disagree on rowcount for ON CONFLICT DO NOTHING.
        return {row["id"] for row in result}
    fresh = _sqlite_insert_new(conn, rows, converted)
    inserted = {row[_ID_AT] for row in fresh}
    their_answers = (
        answer_rows
        if len(fresh) == len(rows)
        else [a for a in answer_rows if a[_SUBMISSION_ID_AT] in inserted]
    )
    marks = [(row[_ID_AT],) for row in fresh] if pending else []
    bulk.sqlite_executemany_values(
        conn, [(_ANSWERS, answers, their_answers), (_PENDING, pending_rollups, marks)]
    )
    return inserted


def _sqlite_insert_new(
    conn: Connection, rows: Sequence[Sequence[Any]], converted: bool
) -> Sequence[Sequence[Any]]:
    """Insert the submission rows whose ids are not stored yet, in the caller's transaction;
    those rows (`insert_many`)."""
    if not conn.in_transaction():
        conn.begin()  # as SQLAlchemy begins one for any statement: the write lock
    values = list(rows) if converted else bulk.sqlite_values(submissions, rows)
    sql = bulk.sqlite_sql(_SQLITE_NEW_SUBMISSIONS, submissions)
    with driver_cursor(conn, sql, values) as cursor:
        highest = cursor.execute(_HIGHEST_ROWID).fetchone()[0] or 0
        if highest > _MAX_ROWID - len(values):
            # SQLite would give new rows random rowids: find the stored ids first instead.
            stored = find_ids(conn, [row[_ID_AT] for row in rows])
            kept = [i for i, row in enumerate(rows) if row[_ID_AT] not in stored]
            rows, values = [rows[i] for i in kept], [values[i] for i in kept]
        cursor.executemany(sql, values)
        if cursor.rowcount != len(values):  # an id was stored by another connection
            mine = {found for (found,) in cursor.execute(_IDS_AFTER, (highest,))}
            rows = [row for row in rows if row[_ID_AT] in mine]
    return rows


_HIGHEST_ROWID = "SELECT max(rowid) FROM submissions"
_IDS_AFTER = "SELECT id FROM submissions WHERE rowid > ?"
_MAX_ROWID = 2**63 - 1


def _pg_store(pending: bool) -> Prepared:
    """PostgreSQL's `insert_many` in one statement: the submissions (`rows`), then in CTEs
    of the same statement the answers (`answers`) of those inserted and, when `pending`,
    their marks (in id order, as rows are locked); the ids inserted. The foreign keys of the
    answers and marks are checked at the statement's end, when the submissions are in."""
    stored = bulk.recordset(submissions)
    new = (
        postgresql.insert(submissions)
        .from_select([c.name for c in submissions.c], select(stored))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(submissions.c.id)
        .cte("new")
    )
    given = bulk.recordset(answers, "answers")
    their_answers = (
        postgresql.insert(answers)
        .from_select(
            [c.name for c in answers.c],
            select(given).where(given.c.submission_id.in_(select(new.c.id))),
        )
        .cte("new_answers")
    )
    query = select(new.c.id).add_cte(their_answers)
    if pending:
        marks = postgresql.insert(pending_rollups).from_select(
            ["submission_id"], select(new.c.id).order_by(new.c.id)
        )
        query = query.add_cte(marks.cte("new_marks"))
    return Prepared(query)


#: Run on the driver's cursor (`db.Prepared`), like the rollup upserts; by `pending`.
_PG_STORE = {True: _pg_store(True), False: _pg_store(False)}
_PENDING = pending_rollups.insert()
#: Skipping an id stored already (`_sqlite_insert_new` counts the rows inserted).
_SQLITE_NEW_SUBMISSIONS = sqlite_dialect.insert(submissions).on_conflict_do_nothing(
    index_elements=["id"]
)
_ANSWERS = answers.insert()


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
    "touchpoint_id",
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


#: Rows fetched from the database per round trip while an export streams.
EXPORT_BATCH_ROWS = 500


def export_columns() -> list[ColumnElement[Any]]:
    """The stored columns behind EXPORT_COLUMNS, in that order."""
    s, a = submissions.c, answers.c
    return [
        s.id.label("submission_id"),
        s.location_id,
        s.device_id,
        s.staff_id,
        s.touchpoint_id,
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
    ]


#: On SQLite an export reading more than this share of all submissions scans the table in
#: its own order instead of looking each one up through the (location, day) index: a lookup
#: per row costs more than reading the rows it skips (a year's export: 1.45x the rows per CPU
#: second). PostgreSQL's planner has the statistics to choose by itself.
SQLITE_SCAN_SHARE = 0.25


def export_query(
    columns: Sequence[ColumnElement[Any]], wanted: Filters, *, scan: bool = False
) -> Select[Any]:
    """`columns` (of `submissions` and `answers`, not aliased) for one row per answer that
    `wanted` selects, oldest first. `scan`: SQLite reads the submissions table whole instead
    of through an index on the filtered columns (unary `+` keeps a column's indexes out of
    the plan)."""
    s, a = submissions.c, answers.c
    local_date: ColumnElement[Any] = s.local_date
    location_id: ColumnElement[Any] = s.location_id
    if scan:
        local_date = literal_column("+submissions.local_date", Date)
        location_id = literal_column("+submissions.location_id", String)
    query = (
        select(*columns)
        .select_from(answers.join(submissions, a.submission_id == s.id))
        .where(local_date >= wanted.day_from, local_date <= wanted.day_to)
        .order_by(s.effective_at, s.id, a.question_id)
    )
    if wanted.location_ids is not None:
        query = query.where(location_id.in_(wanted.location_ids))
    if not wanted.include_burst:
        query = query.where(s.burst.is_(False))
    if wanted.touchpoint_ids is not None:
        query = query.where(at_touchpoints(wanted.touchpoint_ids))
    return query


def export_scan_pays(
    conn: Connection, day_from: date, day_to: date, location_ids: list[str] | None
) -> bool:
    """Whether (on SQLite) an export of these days and locations reads more than
    SQLITE_SCAN_SHARE of all submissions, against the highest rowid (the table's size, give or
    take deleted rows): whether the (location, day) index alone (no table row read) has an
    entry past that many. Counting stops there, not at the export's last row (a year's
    export of 5M counted them all first)."""
    s = submissions.c
    highest: Select[Any] = select(func.max(literal_column("rowid"))).select_from(submissions)
    size: int = conn.execute(highest).scalar_one() or 0
    if size <= 0:
        return False
    query: Select[Any] = (
        select(literal_column("1"))
        .select_from(submissions)
        .where(s.local_date >= day_from, s.local_date <= day_to)
    )
    if location_ids is not None:
        query = query.where(s.location_id.in_(location_ids))
    # More than size * share rows: one at the offset of the whole number of rows within it.
    past = query.limit(1).offset(int(size * SQLITE_SCAN_SHARE))
    return conn.execute(past).first() is not None


def export_select(
    conn: Connection, columns: Sequence[ColumnElement[Any]], wanted: Filters
) -> Select[Any]:
    """The export's query for this connection's database (on SQLite a table scan when it
    pays, see `export_scan_pays`)."""
    scan = conn.dialect.name == "sqlite" and export_scan_pays(
        conn, wanted.day_from, wanted.day_to, wanted.location_ids
    )
    return export_query(columns, wanted, scan=scan)


def export_rows(conn: Connection, wanted: Filters) -> Iterator[Sequence[Any]]:
    """One row per answer, the stored values in EXPORT_COLUMNS order (see `export_query`).
    The rows come from a server-side cursor a batch at a time; `conn` must stay in its
    transaction until the iterator is exhausted or closed."""
    query = export_query(export_columns(), wanted)
    yield from conn.execute(
        query.execution_options(stream_results=True, yield_per=EXPORT_BATCH_ROWS)
    )


#: How many recent answers with reasons `top_reasons` reads; how many comments it shows.
RECENT_REASON_ROWS = 2000
LATEST_COMMENTS = 20


def recent_answers(
    conn: Connection, since: datetime, location_ids: list[str]
) -> list[dict[str, Any]]:
    """Location, time, kind, scale and value of every non-burst answer given since `since`.

    The store-local date bound (a day before since's UTC date covers every time zone) lets
    the (location_id, local_date) index find the rows, so the cost follows the recent answers,
    not all of them.
    """
    s, a = submissions.c, answers.c
    query = (
        select(s.location_id, s.effective_at, a.kind, a.scale, a.value)
        .select_from(answers.join(submissions, a.submission_id == s.id))
        .where(
            s.location_id.in_(sorted(location_ids)),
            s.local_date >= since.date() - timedelta(days=1),
            s.effective_at >= since,
            s.burst.is_(False),
        )
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def _utc_bounds(day_from: date, day_to: date) -> tuple[datetime, datetime]:
    """UTC instants that hold every store-local day from..to in any time zone (UTC−12..+14)."""
    start = datetime.combine(day_from - timedelta(days=1), time(), UTC)
    return start, datetime.combine(day_to + timedelta(days=2), time(), UTC)


def at_touchpoints(touchpoint_ids: list[str | None]) -> ColumnElement[bool]:
    """Submissions taken at these touchpoints (None among them: at none)."""
    s = submissions.c
    named = [tp for tp in touchpoint_ids if tp is not None]
    at = [s.touchpoint_id.in_(named)] if named else []
    if None in touchpoint_ids:
        at.append(s.touchpoint_id.is_(None))
    return or_(*at)


def _recent(
    location_id: str,
    day_from: date,
    day_to: date,
    touchpoint_ids: list[str | None] | None = None,
) -> Any:
    """A location's non-burst answers of store-local days from..to, newest first.

    It walks the (location_id, burst, effective_at) index newest first within the period's
    time bounds and stops at the caller's LIMIT, so its cost does not grow with the number of
    stored answers.
    """
    s = submissions.c
    start, end = _utc_bounds(day_from, day_to)
    query = (
        select(answers.c.question_id, answers.c.reasons, answers.c.comment)
        .add_columns(answers.c.kind, answers.c.scale, answers.c.value, s.effective_at)
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
    if touchpoint_ids is not None:
        query = query.where(at_touchpoints(touchpoint_ids))
    return query


def top_reasons(
    conn: Connection,
    location_id: str,
    day_from: date,
    day_to: date,
    limit: int = 10,
    touchpoint_ids: list[str | None] | None = None,
) -> tuple[list[tuple[str, str, int]], int]:
    """The most chosen (question, reason, count) among recent answers, and how many were read."""
    query = _recent(location_id, day_from, day_to, touchpoint_ids).where(answers.c.reasons != "[]")
    rows = conn.execute(query.limit(RECENT_REASON_ROWS)).all()
    counted: Counter[tuple[str, str]] = Counter()
    for row in rows:
        for reason in json.loads(row.reasons or "[]"):
            counted[(row.question_id, str(reason))] += 1
    return [(q, r, n) for (q, r), n in counted.most_common(limit)], len(rows)


def latest_comments(
    conn: Connection,
    location_id: str,
    day_from: date,
    day_to: date,
    touchpoint_ids: list[str | None] | None = None,
) -> list[dict[str, Any]]:
    """The newest comments with the answer they came with."""
    query = _recent(location_id, day_from, day_to, touchpoint_ids).where(
        answers.c.comment.is_not(None), answers.c.comment != ""
    )
    return [dict(r) for r in conn.execute(query.limit(LATEST_COMMENTS)).mappings()]


def daily_counts(conn: Connection, wanted: Filters) -> dict[tuple[str, date], int]:
    """Submissions (answered visits) per location and store-local day that `wanted` selects."""
    day_from, day_to, location_ids = wanted.day_from, wanted.day_to, wanted.location_ids
    include_burst, touchpoint_ids = wanted.include_burst, wanted.touchpoint_ids
    s = submissions.c
    query = select(s.location_id, s.local_date, func.count()).where(
        s.local_date.between(day_from, day_to)
    )
    if location_ids is not None:
        query = query.where(s.location_id.in_(location_ids))
    if not include_burst:
        query = query.where(s.burst.is_(False))
    if touchpoint_ids is not None:
        query = query.where(at_touchpoints(touchpoint_ids))
    query = query.group_by(s.location_id, s.local_date)
    found = {(loc, day): int(n) for loc, day, n in conn.execute(query)}
    # Days whose raw rows the retention purge deleted count from what it kept of them.
    p = purged_submission_counts.c
    kept = select(p.location_id, p.local_date, func.sum(p["count"])).where(
        p.local_date.between(day_from, day_to)
    )
    if location_ids is not None:
        kept = kept.where(p.location_id.in_(location_ids))
    if not include_burst:
        kept = kept.where(p.burst.is_(False))
    if touchpoint_ids is not None:
        kept = kept.where(p.touchpoint_id.in_([tp or "" for tp in touchpoint_ids]))
    for loc, day, n in conn.execute(kept.group_by(p.location_id, p.local_date)):
        found[(loc, day)] = found.get((loc, day), 0) + int(n)
    return found
