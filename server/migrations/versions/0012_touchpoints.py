"""Touchpoints: named places in a location where kiosks stand, each optionally with its own
survey; devices and submissions note theirs, and every rollup table carries it in its key.

Existing devices and submissions are at no touchpoint (NULL); existing rollup rows are copied
with touchpoint '' (none), so every count is kept.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _hourly_rest() -> list[sa.Column[Any]]:
    return [
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("survey_id", sa.String(64), nullable=False),
        sa.Column("survey_version", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("burst", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
    ]


def _period_groups() -> dict[str, list[sa.Column[Any]]]:
    return {
        "rollups_location": [],
        "rollups_staff": [sa.Column("staff_id", sa.String(64), nullable=False)],
        "rollups_weekday_hour": [
            sa.Column("weekday", sa.Integer(), nullable=False),
            sa.Column("hour", sa.Integer(), nullable=False),
        ],
    }


def _columns(touchpoint: bool) -> dict[str, list[sa.Column[Any]]]:
    """Each rollup table's columns before its count, with or without the touchpoint."""

    def tp() -> list[sa.Column[Any]]:
        return [sa.Column("touchpoint_id", sa.String(64), nullable=False)] if touchpoint else []

    found: dict[str, list[sa.Column[Any]]] = {
        "rollups": [
            sa.Column("location_id", sa.String(64), nullable=False),
            *tp(),
            *_hourly_rest(),
        ]
    }
    for name, group in _period_groups().items():
        found[name] = [
            sa.Column("period", sa.String(8), nullable=False),
            sa.Column("starts_on", sa.Date(), nullable=False),
            sa.Column("location_id", sa.String(64), nullable=False),
            *tp(),
            *group,
            sa.Column("burst", sa.Boolean(), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("scale", sa.Integer(), nullable=False),
            sa.Column("value", sa.Integer(), nullable=False),
        ]
    return found


def _recreate(touchpoint: bool) -> None:
    """Rebuild each rollup table with (or without) the touchpoint in its key, rows copied."""
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_rollups_date_location", table_name="rollups")
    for name, columns in _columns(touchpoint).items():
        op.rename_table(name, f"{name}_old")
        if postgres:  # constraint names are schema-wide there
            op.execute(f"ALTER TABLE {name}_old RENAME CONSTRAINT pk_{name} TO pk_{name}_old")
        key = [c.name for c in columns]
        op.create_table(
            name,
            *columns,
            sa.Column("count", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"),
            sqlite_with_rowid=name == "rollups",
        )
        kept = [c for c in key if c != "touchpoint_id"]
        if touchpoint:
            target, source = (
                ", ".join(key),
                ", ".join("''" if c == "touchpoint_id" else c for c in key),
            )
            op.execute(
                f"INSERT INTO {name} ({target}, count) SELECT {source}, count FROM {name}_old"
            )
        else:  # answers at a touchpoint are summed into their location's row
            cols = ", ".join(kept)
            op.execute(
                f"INSERT INTO {name} ({cols}, count) "
                f"SELECT {cols}, sum(count) FROM {name}_old GROUP BY {cols}"
            )
        op.drop_table(f"{name}_old")
    op.create_index("ix_rollups_date_location", "rollups", ["local_date", "location_id"])


def upgrade() -> None:
    op.create_table(
        "touchpoints",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("location_id", sa.String(64), sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column("survey_id", sa.String(64), sa.ForeignKey("surveys.id"), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_touchpoints_location_id", "touchpoints", ["location_id"])
    if op.get_bind().dialect.name == "sqlite":
        # In place: a batch copy of `devices` would have to drop the table that submissions
        # and enroll codes reference, which SQLite refuses while foreign keys are on.
        op.execute(
            "ALTER TABLE devices ADD COLUMN touchpoint_id VARCHAR(64) REFERENCES touchpoints (id)"
        )
    else:
        op.add_column("devices", sa.Column("touchpoint_id", sa.String(64), nullable=True))
        op.create_foreign_key(
            "fk_devices_touchpoint_id", "devices", "touchpoints", ["touchpoint_id"], ["id"]
        )
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("touchpoint_id", sa.String(64), nullable=True))
    _recreate(touchpoint=True)


def downgrade() -> None:
    _recreate(touchpoint=False)
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("touchpoint_id")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("devices") as batch:  # SQLite cannot drop a referencing column
            batch.drop_column("touchpoint_id")
    else:
        op.drop_constraint("fk_devices_touchpoint_id", "devices", type_="foreignkey")
        op.drop_column("devices", "touchpoint_id")
    op.drop_index("ix_touchpoints_location_id", table_name="touchpoints")
    op.drop_table("touchpoints")
