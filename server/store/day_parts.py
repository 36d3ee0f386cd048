"""What `rollups_day_parts` holds: per location, store-local day, touchpoint, burst flag,
question kind and scale, the parts of a score's headline — n, happy, unhappy, the sum of the
values — and the count of each answer value 0..10.

The rows are the day rows of `rollups_location` with the value folded into columns, so a read
per location-day costs one row per touchpoint, kind and scale however many answers a day has
(the link report: ~18,000 location-days a year at 50 locations, at any data size).
`server.store.rollups` writes them beside the other rollups (ingest's upsert, `derive`,
`differences`); this module says what a row is made of, in Python for ingest (`parts`) and
in SQL for the rebuild and the check (`derived`), and reads them (`daily_score_parts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    FromClause,
    Select,
    String,
    case,
    cast,
    func,
    select,
    type_coerce,
)

from server.store import fetch_tuples
from server.store.schema import (
    DAY_PARTS_KEY,
    DAY_PARTS_SUMS,
    DAY_PARTS_VALUES,
    ROLLUP_KEY,
    rollups_day_parts,
)
from shared.scoring import is_happy, is_unhappy

_KEY_AT = tuple(ROLLUP_KEY.index(name) for name in DAY_PARTS_KEY)
_KIND_AT, _SCALE_AT, _VALUE_AT = (ROLLUP_KEY.index(n) for n in ("kind", "scale", "value"))


def parts(counted: Iterable[tuple[tuple[Any, ...], int]]) -> list[dict[str, Any]]:
    """The day-parts rows of (hourly rollup key, count) pairs, in key order (the order rows
    are locked in, as for the other rollups)."""
    sums: dict[tuple[Any, ...], list[int]] = {}
    for key, n in counted:
        day_key = tuple(key[i] for i in _KEY_AT)
        row = sums.get(day_key)
        if row is None:
            sums[day_key] = row = [0] * len(DAY_PARTS_SUMS)
        kind, scale, value = key[_KIND_AT], key[_SCALE_AT], key[_VALUE_AT]
        row[0] += n
        if is_happy(kind, scale, value):
            row[1] += n
        if is_unhappy(kind, scale, value):
            row[2] += n
        row[3] += value * n
        row[4 + value] += n
    return [
        {**dict(zip(DAY_PARTS_KEY, key, strict=True)),
         **dict(zip(DAY_PARTS_SUMS, row, strict=True))}
        for key, row in sorted(sums.items())
    ]  # fmt: skip


def happy_sql(kind: Any, scale: Any, value: Any) -> ColumnElement[bool]:
    """`shared.scoring.is_happy` in SQL (a test holds the two equal for every kind, scale and
    value)."""
    return case(
        (kind == "nps", value >= 9),
        (kind == "csat", value >= 4),
        (kind == "ces", value >= case((scale == 7, 5), else_=4)),
        else_=2 * value > scale + 1,  # smiley: the upper half
    )


def unhappy_sql(kind: Any, scale: Any, value: Any) -> ColumnElement[bool]:
    """`shared.scoring.is_unhappy` in SQL."""
    return case((kind == "nps", value <= 6), else_=2 * value < scale + 1)


def derived(rows: FromClause) -> Select[Any]:
    """The table's rows summed from hourly-shaped rows (local_date, location_id,
    touchpoint_id, burst, kind, scale, value, count): the hourly table, a recomputation from
    the answers, or the day rows of `rollups_location` (`starts_on` labelled local_date)."""
    h = rows.c
    count = h["count"]

    def total(expression: ColumnElement[Any]) -> ColumnElement[Any]:
        return cast(func.coalesce(func.sum(expression), 0), BigInteger)

    sums = [
        total(count),
        total(case((happy_sql(h.kind, h.scale, h.value), count), else_=0)),
        total(case((unhappy_sql(h.kind, h.scale, h.value), count), else_=0)),
        total(h.value * count),
        *(total(case({v: count}, value=h.value)) for v in DAY_PARTS_VALUES),
    ]
    key = [h[name] for name in DAY_PARTS_KEY]
    labelled = [s.label(name) for s, name in zip(sums, DAY_PARTS_SUMS, strict=True)]
    return select(*key, *labelled).group_by(*key)


def daily_score_parts(
    conn: Connection,
    kind: str,
    day_from: date,
    day_to: date,
    location_ids: list[str] | None,
    include_burst: bool,
    touchpoint_ids: list[str | None] | None = None,
) -> list[tuple[Any, ...]]:
    """Per location, store-local day and scale, the parts of a `kind` score's headline:
    (location_id, local_date, scale, n, happy, unhappy, value total). The day is not
    converted: ISO text on SQLite, a date on PostgreSQL (converting 18,000 of them cost more
    than the query).

    Grouped by day, then location — the key's order — SQLite sums the rows as it reads them,
    with no sort; a location-day answered on two scales (a survey changed its scale that day)
    is rare, and only then is the read grouped per scale as well.
    """
    p = rollups_day_parts.c
    where = [p.kind == kind, p.local_date >= day_from, p.local_date <= day_to]
    if location_ids is not None:
        where.append(p.location_id.in_(location_ids))
    if not include_burst:
        where.append(p.burst.is_(False))
    if touchpoint_ids is not None:
        where.append(p.touchpoint_id.in_([tp or "" for tp in touchpoint_ids]))
    sums: list[ColumnElement[Any]] = [
        func.sum(p[name]) for name in ("n", "happy", "unhappy", "value_total")
    ]
    if conn.dialect.name == "postgresql":  # it sums bigints as numeric: back to bigint
        sums = [cast(total, BigInteger) for total in sums]
    day = type_coerce(p.local_date, String)  # as stored: ISO text on SQLite
    query = select(p.location_id, day, func.min(p.scale), func.max(p.scale), *sums)
    rows = fetch_tuples(conn, query.where(*where).group_by(p.local_date, p.location_id))
    if any(row[2] != row[3] for row in rows):
        query = select(p.location_id, day, p.scale, p.scale, *sums).where(*where)
        rows = fetch_tuples(conn, query.group_by(p.local_date, p.location_id, p.scale))
    return [row[:3] + row[4:] for row in rows]
