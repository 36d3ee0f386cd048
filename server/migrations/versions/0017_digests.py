"""E-mailed digests: each dashboard user's choice (period, delivery time, locale) and a record
of every digest sent, so none goes out twice.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("digest_period", sa.String(8), nullable=False, server_default="weekly")
        )
        batch.add_column(
            sa.Column("digest_time", sa.String(5), nullable=False, server_default="07:00")
        )
        batch.add_column(
            sa.Column("digest_locale", sa.String(16), nullable=False, server_default="en")
        )
    op.create_table(
        "digests_sent",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("period_key", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "period_key"),
    )


def downgrade() -> None:
    op.drop_table("digests_sent")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("digest_locale")
        batch.drop_column("digest_time")
        batch.drop_column("digest_period")
