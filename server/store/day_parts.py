"""What `rollups_day_parts` holds: per location, store-local day, touchpoint, burst flag,
question kind and scale, the count of each answer value 0..10 — `rollups_location`'s days —
and the link report's read of a kind's value counts per location-day, scored with numpy.

`server.store.rollups` writes the rows beside the other rollups (ingest's upsert, `derive`,
`differences`); this module says what a row is made of, in Python for ingest (`parts`) and
in SQL for the rebuild and the check (`derived`), reads the day rows the link report needs
(`daily_value_counts`) and turns value counts into a headline's parts (`headline_parts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
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
from server.store.filters import Filters
from server.store.schema import (
    DAY_PARTS_KEY,
    DAY_PARTS_SUMS,
    DAY_PARTS_VALUES,
    ROLLUP_KEY,
    VALUE_COLUMNS,
    rollups_day_parts,
    rollups_location_any,
)
from shared.scoring import is_happy, is_unhappy

_KEY_AT = tuple(ROLLUP_KEY.index(name) for name in DAY_PARTS_KEY)
_VALUE_AT = ROLLUP_KEY.index("value")


def parts(counted: Iterable[tuple[tuple[Any, ...], int]]) -> list[dict[str, Any]]:
    """The day-parts rows of (hourly rollup key, count) pairs, in key order (the order rows
    are locked in, as for the other rollups)."""
    sums: dict[tuple[Any, ...], list[int]] = {}
    for key, n in counted:
        day_key = tuple(key[i] for i in _KEY_AT)
        row = sums.get(day_key)
        if row is None:
            sums[day_key] = row = [0] * len(DAY_PARTS_SUMS)
        row[key[_VALUE_AT]] += n
    return [
        {**dict(zip(DAY_PARTS_KEY, key, strict=True)),
         **dict(zip(DAY_PARTS_SUMS, row, strict=True))}
        for key, row in sorted(sums.items())
    ]  # fmt: skip


def derived(rows: FromClause) -> Select[Any]:
    """The table's rows summed from hourly-shaped rows (local_date, location_id,
    touchpoint_id, burst, kind, scale, value, count): the hourly table, a recomputation from
    the answers, or the day rows of `rollups_location` (`starts_on` labelled local_date)."""
    h = rows.c
    count = h["count"]

    def total(expression: ColumnElement[Any]) -> ColumnElement[Any]:
        return cast(func.coalesce(func.sum(expression), 0), BigInteger)

    sums = [total(case({v: count}, value=h.value)) for v in DAY_PARTS_VALUES]
    key = [h[name] for name in DAY_PARTS_KEY]
    labelled = [s.label(name) for s, name in zip(sums, DAY_PARTS_SUMS, strict=True)]
    return select(*key, *labelled).group_by(*key)


def daily_value_counts(conn: Connection, kind: str, wanted: Filters) -> list[tuple[Any, ...]]:
    """Per location, store-local day and scale (and burst flag, and touchpoint when narrowed
    to them), the count of each value 0..10 of `kind`'s answers: (location_id, local_date,
    scale, c0, …, c10), the day as stored (ISO text on SQLite, a date on PostgreSQL).

    The day rows as they are stored: `rollups_location_any`'s (summed over the touchpoints:
    one row per location-day and scale, 18,250 a year at 50 locations whatever the number of
    answers) or, narrowed to touchpoints, this table's through its touchpoint index. No GROUP
    BY: a location-day's few rows are summed by the caller with numpy.
    """
    day_from, day_to, touchpoint_ids = wanted.day_from, wanted.day_to, wanted.touchpoint_ids
    if touchpoint_ids is None:
        r = rollups_location_any.c
        where = [r.period == "day", r.starts_on >= day_from, r.starts_on <= day_to]
        day = type_coerce(r.starts_on, String)  # as stored: ISO text on SQLite
    else:
        r = rollups_day_parts.c
        where = [r.local_date >= day_from, r.local_date <= day_to]
        where.append(r.touchpoint_id.in_([tp or "" for tp in touchpoint_ids]))
        day = type_coerce(r.local_date, String)
    where.append(r.kind == kind)
    if wanted.location_ids is not None:
        where.append(r.location_id.in_(wanted.location_ids))
    if not wanted.include_burst:
        where.append(r.burst.is_(False))
    query = select(r.location_id, day, r.scale, *(r[name] for name in VALUE_COLUMNS))
    if touchpoint_ids is not None:  # see rollups._by_touchpoint
        hint = "INDEXED BY ix_rollups_day_parts_touchpoint"
        query = query.with_hint(rollups_day_parts, hint, "sqlite")
    return fetch_tuples(conn, query.where(*where))


def headline_parts(kind: str, scales: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """n, happy, unhappy and the value total of each row of value counts (one row per
    answer-value column 0..10, `scales` each row's scale), as int64 columns: the counts times
    `shared.scoring.is_happy` / `is_unhappy` of each value on each scale — exact integers."""
    values = np.arange(len(VALUE_COLUMNS))
    on_scale = {int(s): s for s in np.unique(scales).tolist()}
    happy = np.zeros((max(on_scale, default=0) + 1, len(values)), dtype=np.int64)
    unhappy = np.zeros_like(happy)
    for scale in on_scale:
        happy[scale] = [is_happy(kind, scale, int(v)) for v in values]
        unhappy[scale] = [is_unhappy(kind, scale, int(v)) for v in values]
    return np.stack(
        [
            counts.sum(axis=1),
            (counts * happy[scales]).sum(axis=1),
            (counts * unhappy[scales]).sum(axis=1),
            counts @ values,
        ]
    )
