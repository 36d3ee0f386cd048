"""Alert deliveries that failed are retried: which channels are still due, how often they
were tried, and when the next try is.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("pending_channels", sa.String(32), nullable=True))
        batch.add_column(
            sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_alerts_retry_at", "alerts", ["retry_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_retry_at", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("retry_at")
        batch.drop_column("delivery_attempts")
        batch.drop_column("pending_channels")
