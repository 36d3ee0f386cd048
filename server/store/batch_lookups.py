"""An upload's first look-ups in one statement (`server.ingest`): the stored hash and payload
of the batch's ids, the first item's survey version and whether the device's location was
ever assigned that survey.

A one-tap upload made four statements of them, each some 20 µs of the driver's and
`db.Prepared`'s work on SQLite and a round trip on PostgreSQL. Here they are one: a one-row
SELECT of the scalars, LEFT JOINed to the stored rows (one row per stored id, or one row of
NULLs when none is stored). The other items' survey versions and assignments, staff and
touchpoints are looked up as the batch meets them, as before. (An id stored by another
connection after this look-up is found by the insert: `submissions.insert_many`.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    select,
    true,
)

from server.db import Prepared
from server.store.schema import submissions, survey_assignments, survey_versions


@dataclass(frozen=True, slots=True)
class Found:
    """What `look_up` found."""

    #: The stored hash and payload of each id of the batch already stored, by id.
    stored: dict[str, dict[str, Any]]
    #: The survey version's definition as stored (JSON), or None when there is none.
    body: str | None
    #: Whether the location was ever assigned the survey.
    assigned: bool


def _statement(dialect: str) -> Prepared:
    v, a, s = survey_versions.c, survey_assignments.c, submissions.c
    body = (
        select(v.body)
        .where(v.survey_id == bindparam("survey_id"), v.version == bindparam("version"))
        .scalar_subquery()
    )
    assigned = exists().where(
        a.location_id == bindparam("location_id"), a.survey_id == bindparam("survey_id")
    )
    head = select(body.label("body"), assigned.label("assigned")).subquery("head")
    if dialect == "sqlite":
        ids = func.json_each(bindparam("ids", type_=String))
        wanted: Select[Any] = select(literal_column("value")).select_from(ids)
        found = select(s.id, s.content_hash, s.payload).where(s.id.in_(wanted))
    else:
        # Each id looked up in the primary key by a LATERAL subquery that the planner cannot
        # fold into a join (its LIMIT): PostgreSQL guesses 100 rows for any JSON array, so
        # with `IN` it scanned a table of a few thousand submissions whole, on every upload
        # (~0.6 ms at a thousand rows, more as the table grew; a large table got the index).
        given = func.json_array_elements_text(cast(bindparam("ids", type_=String), JSON))
        each = given.table_valued("value").alias("wanted")
        one = (
            select(s.id, s.content_hash, s.payload)
            .where(s.id == each.c.value)
            .limit(literal_column("1", Integer))
            .lateral("one")
        )
        found = select(one.c.id, one.c.content_hash, one.c.payload).select_from(
            each.join(one, true())
        )
    stored = found.subquery("stored")
    query = select(
        head.c.body,
        head.c.assigned,
        stored.c.id,
        stored.c.content_hash,
        stored.c.payload,
    ).select_from(head.outerjoin(stored, true()))
    return Prepared(query)


#: Run on the driver's cursor (`db.Prepared`), the ids as one JSON array (as
#: `submissions.find_many`).
_LOOK_UP = {"sqlite": _statement("sqlite"), "postgresql": _statement("postgresql")}


def look_up(
    conn: Connection, submission_ids: list[str], location_id: str, survey_id: str, version: int
) -> Found:
    """The look-ups above for these ids, this survey version and location, in one statement.
    `version` must fit the column (ingest checks it first)."""
    params = {
        "ids": json.dumps(list(dict.fromkeys(submission_ids))),
        "survey_id": survey_id,
        "version": version,
        "location_id": location_id,
    }
    rows = _LOOK_UP[conn.dialect.name].all(conn, params)
    first = rows[0]  # the head always gives one row
    stored = {
        row["id"]: {"content_hash": row["content_hash"], "payload": row["payload"]}
        for row in rows
        if row["id"] is not None
    }
    return Found(
        stored,
        None if first["body"] is None else str(first["body"]),
        bool(first["assigned"]),
    )
