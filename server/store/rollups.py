"""Pre-aggregated answer counts that reports read instead of raw answers.

One row per (location, staff, survey version, question, store-local date/weekday/hour, burst,
value) holds how many answers gave that value. Ingest upserts them in its own transaction;
`rebuild` recomputes them all from the answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, Select, delete, except_, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from server.store.schema import ROLLUP_KEY, answers, rollups, submissions

RollupKey = tuple[Any, ...]  # values in ROLLUP_KEY order


def add(conn: Connection, keys: Iterable[RollupKey]) -> None:
    """Count one answer for each key (INSERT … ON CONFLICT DO UPDATE count = count + n).

    Rows are written in key order, so concurrent transactions lock them in the same order.
    """
    counted = Counter(keys)
    if not counted:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(rollups)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(ROLLUP_KEY),
        set_={"count": rollups.c.count + stmt.excluded.count},
    )
    rows = [dict(zip(ROLLUP_KEY, key, strict=True), count=n) for key, n in sorted(counted.items())]
    conn.execute(stmt, rows)


def _recomputed() -> Select[Any]:
    """The rollup rows as recomputed from the stored answers."""
    s, a = submissions.c, answers.c
    sources = {
        "location_id": s.location_id,
        "staff_id": func.coalesce(s.staff_id, literal("")),
        "survey_id": s.survey_id,
        "survey_version": s.survey_version,
        "question_id": a.question_id,
        "kind": a.kind,
        "scale": a.scale,
        "local_date": s.local_date,
        "weekday": s.weekday,
        "hour": s.hour,
        "burst": s.burst,
        "value": a.value,
    }
    columns = [sources[name].label(name) for name in ROLLUP_KEY]
    return (
        select(*columns, func.count().label("count"))
        .select_from(answers.join(submissions, a.submission_id == s.id))
        .group_by(*columns)
    )


def rebuild(conn: Connection) -> int:
    """Recompute every rollup from the stored answers; return the number of rows made."""
    conn.execute(delete(rollups))
    conn.execute(rollups.insert().from_select([*ROLLUP_KEY, "count"], _recomputed()))
    return conn.execute(select(func.count()).select_from(rollups)).scalar_one()


def differences(conn: Connection) -> int:
    """How many rollup rows differ from a recomputation (missing, extra or miscounted)."""
    stored = select(*[rollups.c[name] for name in (*ROLLUP_KEY, "count")])
    recomputed = _recomputed()
    missing = select(func.count()).select_from(except_(recomputed, stored).subquery())
    extra = select(func.count()).select_from(except_(stored, recomputed).subquery())
    return int(conn.execute(missing).scalar_one()) + int(conn.execute(extra).scalar_one())


GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "location": ("location_id",),
    "staff": ("location_id", "staff_id"),
    "day": ("location_id", "local_date"),
    "weekday_hour": ("location_id", "weekday", "hour"),
}


def counts(
    conn: Connection,
    group_by: str,
    day_from: date,
    day_to: date,
    location_ids: list[str] | None,
    include_burst: bool,
) -> list[dict[str, Any]]:
    """Summed counts per group, kind, scale and value, for store-local days in [from, to]."""
    r = rollups.c
    group = [r[name] for name in GROUP_COLUMNS[group_by]]
    query = select(*group, r.kind, r.scale, r.value, func.sum(r["count"]).label("n")).where(
        r.local_date >= day_from, r.local_date <= day_to
    )
    if location_ids is not None:
        query = query.where(r.location_id.in_(location_ids))
    if not include_burst:
        query = query.where(r.burst.is_(False))
    query = query.group_by(*group, r.kind, r.scale, r.value).order_by(*group)
    return [dict(row) for row in conn.execute(query).mappings()]
