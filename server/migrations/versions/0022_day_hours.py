"""`rollups_weekday_hour`'s and `rollups_weekday_hour_any`'s days move to `rollups_day_hours`
and `rollups_day_hours_any`: one row per day, location, (touchpoint,) burst flag, kind and
scale with every hour's count of each value packed (cell 11 × hour + value, 32-bit: a
little-endian blob on SQLite, an integer[] on PostgreSQL), instead of one row per hour. Filled
from the existing day rows, so every count is kept, which then go; the downgrade unpacks them
into day rows again (the weekday from the date, as ingest takes it).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

HOURS, VALUES = 24, 11
CELLS = HOURS * VALUES
PACKED = struct.Struct(f"<{CELLS}i")
#: (weekday × hour table, packed day table, touchpoint column?)
MOVES = (
    ("rollups_weekday_hour", "rollups_day_hours", True),
    ("rollups_weekday_hour_any", "rollups_day_hours_any", False),
)
BATCH = 2_000


def _counts_type() -> Any:
    return sa.LargeBinary().with_variant(postgresql.ARRAY(sa.Integer()), "postgresql")


def _key(touchpoint: bool) -> list[str]:
    place = ["touchpoint_id"] if touchpoint else []
    return ["local_date", "location_id", *place, "burst", "kind", "scale"]


def _packed_table(name: str, touchpoint: bool) -> sa.TableClause:
    types: dict[str, Any] = {
        "local_date": sa.Date(),
        "location_id": sa.String(64),
        "touchpoint_id": sa.String(64),
        "burst": sa.Boolean(),
        "kind": sa.String(16),
        "scale": sa.Integer(),
    }
    columns = [sa.column(name, types[name]) for name in _key(touchpoint)]
    return sa.table(name, *columns, sa.column("counts", _counts_type()))


def _hour_table(name: str, touchpoint: bool) -> sa.TableClause:
    place = [sa.column("touchpoint_id", sa.String(64))] if touchpoint else []
    return sa.table(
        name,
        sa.column("period", sa.String(8)),
        sa.column("starts_on", sa.Date()),
        sa.column("location_id", sa.String(64)),
        *place,
        sa.column("weekday", sa.Integer()),
        sa.column("hour", sa.Integer()),
        sa.column("burst", sa.Boolean()),
        sa.column("kind", sa.String(16)),
        sa.column("scale", sa.Integer()),
        *(sa.column(f"c{v}", sa.BigInteger()) for v in range(VALUES)),
    )


def _create(name: str, touchpoint: bool) -> None:
    place = [sa.Column("touchpoint_id", sa.String(64), nullable=False)] if touchpoint else []
    op.create_table(
        name,
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        *place,
        sa.Column("burst", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("counts", _counts_type(), nullable=False),
        sa.PrimaryKeyConstraint(*_key(touchpoint), name=f"pk_{name}"),
    )
    if touchpoint:
        op.create_index(f"ix_{name}_touchpoint", name, ["touchpoint_id", "local_date"])


def _packed_rows(conn: sa.Connection, source: str, touchpoint: bool) -> Iterator[dict[str, Any]]:
    """The day rows of a weekday × hour table, packed: one dict per key, in key order."""
    hours = _hour_table(source, touchpoint)
    key = [hours.c[name if name != "local_date" else "starts_on"] for name in _key(touchpoint)]
    query = (
        sa.select(*key, hours.c.hour, *(hours.c[f"c{v}"] for v in range(VALUES)))
        .where(hours.c.period == "day")
        .order_by(*key)
        .execution_options(yield_per=BATCH)
    )
    rows = conn.execute(query)
    sqlite = conn.dialect.name == "sqlite"
    for row_key, of_key in itertools.groupby(rows, key=lambda row: tuple(row[: len(key)])):
        cells = [0] * CELLS
        for row in of_key:
            hour = row[len(key)]
            cells[VALUES * hour : VALUES * (hour + 1)] = [int(n) for n in row[len(key) + 1 :]]
        counts: Any = PACKED.pack(*cells) if sqlite else cells
        yield dict(zip([*_key(touchpoint), "counts"], (*row_key, counts), strict=True))


def upgrade() -> None:
    conn = op.get_bind()
    for source, target, touchpoint in MOVES:
        _create(target, touchpoint)
        packed = _packed_table(target, touchpoint)
        rows = _packed_rows(conn, source, touchpoint)
        while batch := list(itertools.islice(rows, BATCH)):
            conn.execute(packed.insert(), batch)
        op.execute(f"DELETE FROM {source} WHERE period = 'day'")


def downgrade() -> None:
    conn = op.get_bind()
    for source, target, touchpoint in MOVES:
        packed, hours = _packed_table(target, touchpoint), _hour_table(source, touchpoint)
        found = []
        for row in conn.execute(sa.select(packed)).mappings():
            stored = row["counts"]
            cells = PACKED.unpack(stored) if isinstance(stored, bytes) else tuple(stored)
            day: date = row["local_date"]
            for hour in range(HOURS):
                by_value = cells[VALUES * hour : VALUES * (hour + 1)]
                if any(by_value):
                    found.append(
                        {
                            **{name: row[name] for name in _key(touchpoint)[1:]},
                            "period": "day",
                            "starts_on": day,
                            "weekday": day.isoweekday(),
                            "hour": hour,
                            **{f"c{v}": n for v, n in enumerate(by_value)},
                        }
                    )
        for at in range(0, len(found), BATCH):
            conn.execute(hours.insert(), found[at : at + BATCH])
        op.drop_table(target)
