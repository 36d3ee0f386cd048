"""Period rollups one row per group, kind and scale with a count per answer value (c0..c10)
instead of one row per value, and a twin of each summed over the location's touchpoints
(`…_any`), which reports not narrowed to touchpoints read. Filled from the existing rows, so
every count is kept; the downgrade unfolds the counts into rows per value again.
`rollups_location` keeps months and years only: its days are `rollups_day_parts`' rows
(migration 0019), which gains an index on (touchpoint_id, local_date) for reads narrowed to
touchpoints.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

VALUES = range(11)

#: Each period table's group columns between location_id and burst, touchpoint aside.
GROUPS: dict[str, list[str]] = {
    "rollups_location": [],
    "rollups_staff": ["staff_id"],
    "rollups_weekday_hour": ["weekday", "hour"],
}


def _group_columns(name: str) -> list[sa.Column[Any]]:
    types: dict[str, Any] = {
        "staff_id": sa.String(64),
        "weekday": sa.Integer(),
        "hour": sa.Integer(),
    }
    return [sa.Column(column, types[column], nullable=False) for column in GROUPS[name]]


def _create(name: str, touchpoint: bool, wide: bool) -> None:
    place = [sa.Column("touchpoint_id", sa.String(64), nullable=False)] if touchpoint else []
    tail = (
        [sa.Column(f"c{v}", sa.BigInteger(), nullable=False) for v in VALUES]
        if wide
        else [sa.Column("value", sa.Integer(), nullable=False),
              sa.Column("count", sa.BigInteger(), nullable=False)]
    )  # fmt: skip
    key = [
        "period",
        "starts_on",
        "location_id",
        *(c.name for c in place),
        *GROUPS[name.removesuffix("_any")],
    ]
    op.create_table(
        name,
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        *place,
        *_group_columns(name.removesuffix("_any")),
        sa.Column("burst", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        *tail,
        sa.PrimaryKeyConstraint(
            *key, "burst", "kind", "scale", *([] if wide else ["value"]), name=f"pk_{name}"
        ),
        sqlite_with_rowid=False,
    )
    if touchpoint:
        op.create_index(f"ix_{name}_touchpoint", name, ["period", "touchpoint_id", "starts_on"])


def _set_aside(name: str) -> str:
    """Rename a table (and, on PostgreSQL, its key's index) out of the way; return the name."""
    old = f"{name}_old"
    op.drop_index(f"ix_{name}_touchpoint", table_name=name)
    op.rename_table(name, old)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_{name} TO pk_{old}")
    return old


def _keys(group: list[str], touchpoint: bool) -> str:
    """A wide table's key columns, as SQL."""
    place = ["touchpoint_id"] if touchpoint else []
    return ", ".join(
        ["period", "starts_on", "location_id", *place, *group, "burst", "kind", "scale"]
    )


def upgrade() -> None:
    sums = ", ".join(f"sum(CASE WHEN value = {v} THEN count ELSE 0 END)" for v in VALUES)
    wide = ", ".join(f"c{v}" for v in VALUES)
    for name, group in GROUPS.items():
        old = _set_aside(name)
        _create(name, touchpoint=True, wide=True)
        keys = _keys(group, touchpoint=True)
        # rollups_location's days are rollups_day_parts' rows (filled by 0019).
        days = " WHERE period <> 'day'" if name == "rollups_location" else ""
        op.execute(
            f"INSERT INTO {name} ({keys}, {wide}) "
            f"SELECT {keys}, {sums} FROM {old}{days} GROUP BY {keys}"
        )
        op.drop_table(old)
        _create(f"{name}_any", touchpoint=False, wide=True)
        keys = _keys(group, touchpoint=False)
        summed = ", ".join(f"sum(c{v})" for v in VALUES)
        op.execute(
            f"INSERT INTO {name}_any ({keys}, {wide}) "
            f"SELECT {keys}, {summed} FROM {name} GROUP BY {keys}"
        )
        if name == "rollups_location":
            rest = keys.removeprefix("period, starts_on, ")
            op.execute(
                f"INSERT INTO {name}_any ({keys}, {wide}) SELECT 'day', local_date, {rest}, "
                f"{summed} FROM rollups_day_parts GROUP BY local_date, {rest}"
            )
    op.create_index(
        "ix_rollups_day_parts_touchpoint", "rollups_day_parts", ["touchpoint_id", "local_date"]
    )


def downgrade() -> None:
    op.drop_index("ix_rollups_day_parts_touchpoint", table_name="rollups_day_parts")
    for name, group in GROUPS.items():
        op.drop_table(f"{name}_any")
        old = _set_aside(name)
        _create(name, touchpoint=True, wide=False)
        keys = _keys(group, touchpoint=True)
        for v in VALUES:
            op.execute(
                f"INSERT INTO {name} ({keys}, value, count) "
                f"SELECT {keys}, {v}, c{v} FROM {old} WHERE c{v} > 0"
            )
            if name == "rollups_location":  # its days, back from rollups_day_parts
                rest = keys.removeprefix("period, starts_on, ")
                op.execute(
                    f"INSERT INTO {name} ({keys}, value, count) SELECT 'day', local_date, "
                    f"{rest}, {v}, c{v} FROM rollups_day_parts WHERE c{v} > 0"
                )
        op.drop_table(old)
