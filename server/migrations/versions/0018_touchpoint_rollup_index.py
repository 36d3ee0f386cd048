"""An index on (period, touchpoint_id, starts_on) in each period rollup table, so a report
narrowed to touchpoints reads only their rows, however many other rows each period holds.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLES = ("rollups_location", "rollups_staff", "rollups_weekday_hour")


def upgrade() -> None:
    for name in TABLES:
        op.create_index(f"ix_{name}_touchpoint", name, ["period", "touchpoint_id", "starts_on"])


def downgrade() -> None:
    for name in TABLES:
        op.drop_index(f"ix_{name}_touchpoint", table_name=name)
