"""Locations' opening hours, alert rules and webhook; alert episodes; API key labels.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("locations") as batch:
        batch.add_column(sa.Column("opening_hours", sa.Text(), nullable=True))
        batch.add_column(sa.Column("alert_rules", sa.Text(), nullable=True))
        batch.add_column(sa.Column("webhook_url", sa.String(500), nullable=True))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("label", sa.String(200), nullable=True))
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alerts_state_location", "alerts", ["state", "location_id"])
    op.create_index("ix_alerts_opened_at", "alerts", ["opened_at"])


def downgrade() -> None:
    op.drop_table("alerts")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("label")
    with op.batch_alter_table("locations") as batch:
        batch.drop_column("webhook_url")
        batch.drop_column("alert_rules")
        batch.drop_column("opening_hours")
