"""Period rollups: answer counts per whole store-local day, month and year for each report
grouping (location, staff, weekday × hour), filled from the hourly rollups.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES: dict[str, list[sa.Column[Any]]] = {
    "rollups_location": [],
    "rollups_staff": [sa.Column("staff_id", sa.String(64), nullable=False)],
    "rollups_weekday_hour": [
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
    ],
}

STARTS_ON = {
    "sqlite": {
        "day": "local_date",
        "month": "date(local_date, 'start of month')",
        "year": "date(local_date, 'start of year')",
    },
    "postgresql": {
        "day": "local_date",
        "month": "CAST(date_trunc('month', local_date) AS DATE)",
        "year": "CAST(date_trunc('year', local_date) AS DATE)",
    },
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, group in TABLES.items():
        group_names = [column.name for column in group]
        op.create_table(
            name,
            sa.Column("period", sa.String(8), nullable=False),
            sa.Column("starts_on", sa.Date(), nullable=False),
            sa.Column("location_id", sa.String(64), nullable=False),
            *group,
            sa.Column("burst", sa.Boolean(), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("scale", sa.Integer(), nullable=False),
            sa.Column("value", sa.Integer(), nullable=False),
            sa.Column("count", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint(
                "period",
                "starts_on",
                "location_id",
                *group_names,
                "burst",
                "kind",
                "scale",
                "value",
                name=f"pk_{name}",
            ),
            sqlite_with_rowid=False,
        )
        rest = ", ".join(["location_id", *group_names, "burst", "kind", "scale", "value"])
        for period, starts_on in STARTS_ON[dialect].items():
            op.execute(
                f"INSERT INTO {name} (period, starts_on, {rest}, count) "
                f"SELECT '{period}', {starts_on}, {rest}, sum(count) FROM rollups "
                f"GROUP BY {starts_on}, {rest}"
            )


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
