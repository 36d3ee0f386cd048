"""Daily KPIs per location, and the log of the imports that changed them."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    bindparam,
    func,
    select,
    update,
)

from server.store import fetch_columns
from server.store.day_parts import day_number
from server.store.schema import kpi_changes, kpi_imports, kpis
from shared.clock import utcnow

VALUE_COLUMNS = ("visitors", "transactions", "revenue_cents", "staff_hours")
#: A location-day with nothing stored.
EMPTY: dict[str, Any] = dict.fromkeys(VALUE_COLUMNS)

Key = tuple[str, date]


def values_for(conn: Connection, keys: Collection[Key]) -> dict[Key, dict[str, Any]]:
    """The stored values of these (location, date) keys that have a row."""
    if not keys:
        return {}
    location_ids = sorted({loc for loc, _ in keys})
    days = [day for _, day in keys]
    query = select(kpis.c.location_id, kpis.c.date, *(kpis.c[c] for c in VALUE_COLUMNS)).where(
        kpis.c.location_id.in_(location_ids), kpis.c.date.between(min(days), max(days))
    )
    found: dict[Key, dict[str, Any]] = {}
    for row in conn.execute(query).mappings():
        key = (row["location_id"], row["date"])
        if key in keys:
            found[key] = {c: row[c] for c in VALUE_COLUMNS}
    return found


def log_import(
    conn: Connection, source: str, actor: str, stored: int, unchanged: int, rejected: int
) -> int:
    """Record an import that changed something; return its id."""
    result = conn.execute(
        kpi_imports.insert().values(
            source=source,
            actor=actor[:254],
            at=utcnow(),
            stored=stored,
            unchanged=unchanged,
            rejected=rejected,
        )
    )
    import_id = result.inserted_primary_key
    assert import_id is not None
    return int(import_id[0])


def write(
    conn: Connection,
    import_id: int,
    changes: Mapping[Key, tuple[Mapping[str, Any] | None, Mapping[str, Any]]],
) -> None:
    """Store each key's new values, with the values before and after in the change log.

    One statement per kind of write, each run for all its rows (executemany): a file of
    thousands of rows is three round trips, not thousands.
    """
    now = utcnow()
    inserts, updates, logged = [], [], []
    for (location_id, day), (before, after) in changes.items():
        values = {c: after[c] for c in VALUE_COLUMNS}
        key = {"location_id": location_id, "date": day}
        if before is None:
            inserts.append({**key, "import_id": import_id, "updated_at": now, **values})
        else:
            updates.append(
                {"k_location": location_id, "k_date": day, "import_id": import_id, **values}
            )
        logged.append(
            {
                **key,
                "import_id": import_id,
                "before": None if before is None else json.dumps(dict(before)),
                "after": json.dumps(values),
            }
        )
    if inserts:
        conn.execute(kpis.insert(), inserts)
    if updates:
        conn.execute(
            update(kpis)
            .where(
                and_(
                    kpis.c.location_id == bindparam("k_location"),
                    kpis.c.date == bindparam("k_date"),
                )
            )
            .values(
                import_id=bindparam("import_id"),
                updated_at=now,
                **{c: bindparam(c) for c in VALUE_COLUMNS},
            ),
            updates,
        )
    if logged:
        conn.execute(kpi_changes.insert(), logged)


def history(conn: Connection, location_id: str, day: date) -> list[dict[str, Any]]:
    """Every change to one location-day, oldest first, with who made it and when."""
    query = (
        select(
            kpi_imports.c.source,
            kpi_imports.c.actor,
            kpi_imports.c.at,
            kpi_changes.c.before,
            kpi_changes.c.after,
        )
        .join(kpi_imports, kpi_imports.c.id == kpi_changes.c.import_id)
        .where(kpi_changes.c.location_id == location_id, kpi_changes.c.date == day)
        .order_by(kpi_changes.c.import_id)
    )
    return [
        {
            **dict(row),
            "before": None if row["before"] is None else json.loads(row["before"]),
            "after": json.loads(row["after"]),
        }
        for row in conn.execute(query).mappings()
    ]


def daily(
    conn: Connection, location_ids: list[str] | None, day_from: date, day_to: date
) -> list[dict[str, Any]]:
    """The stored KPI rows of these locations (None: all) between two days, inclusive."""
    query = select(kpis.c.location_id, kpis.c.date, *(kpis.c[c] for c in VALUE_COLUMNS)).where(
        kpis.c.date.between(day_from, day_to)
    )
    if location_ids is not None:
        query = query.where(kpis.c.location_id.in_(location_ids))
    result = conn.execute(query.order_by(kpis.c.date))
    names = list(result.keys())  # once: a row mapping's own keys() costs more than its values
    return [dict(zip(names, row, strict=True)) for row in result]


def daily_parts(
    conn: Connection,
    location_ids: list[str] | None,
    day_from: date,
    day_to: date,
    top: str,
    bottom: str,
) -> list[Any]:
    """The stored KPI rows of these locations (None: all) between two days, in no particular
    order, as four aligned columns (`fetch_columns`): location ids, days (`day_number`: a
    year of 50 locations is 18,250 rows, and a text or date each cost more than reading it),
    `top`'s values and `bottom`'s — the two columns one KPI is made of.
    """
    params: dict[str, Any] = {"day_from": day_from, "day_to": day_to}
    if location_ids is not None:
        params["location_ids"] = location_ids
    return fetch_columns(conn, _parts_query(top, bottom, location_ids is not None), params)


@functools.cache
def _parts_query(top: str, bottom: str, by_location: bool) -> Select[Any]:
    """`daily_parts`' query, with the filters as parameters: made once per shape."""
    k = kpis.c
    query = select(k.location_id, day_number(k.date), k[top], k[bottom]).where(
        k.date.between(bindparam("day_from"), bindparam("day_to"))
    )
    if by_location:
        query = query.where(k.location_id.in_(bindparam("location_ids", expanding=True)))
    return query


def recent_imports(
    conn: Connection, location_ids: Collection[str] | None, limit: int = 10
) -> list[dict[str, Any]]:
    """The latest imports that changed any of these locations (None: any), newest first: who,
    when, how, and how many location-days of those locations each changed, over which days."""
    i, c = kpi_imports.c, kpi_changes.c
    query = (
        select(
            i.id,
            i.source,
            i.actor,
            i.at,
            func.count().label("changed"),
            func.min(c.date).label("first_day"),
            func.max(c.date).label("last_day"),
        )
        .join(kpi_imports, i.id == c.import_id)
        .group_by(i.id, i.source, i.actor, i.at)
        .order_by(i.at.desc(), i.id.desc())
        .limit(limit)
    )
    if location_ids is not None:
        query = query.where(c.location_id.in_(sorted(location_ids)))
    return [dict(row) for row in conn.execute(query).mappings()]
