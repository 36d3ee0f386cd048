"""Retention: how far each purge has reached, and the submission counts of purged days.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_marks",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("kept_from", sa.Date(), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "purged_submission_counts",
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("touchpoint_id", sa.String(64), nullable=False),
        sa.Column("burst", sa.Boolean(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "location_id",
            "local_date",
            "touchpoint_id",
            "burst",
            name="pk_purged_submission_counts",
        ),
    )


def downgrade() -> None:
    op.drop_table("purged_submission_counts")
    op.drop_table("retention_marks")
