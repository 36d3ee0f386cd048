"""Alert destinations (generic signed webhooks, Slack, Microsoft Teams), the locations each
one is for, and the log of every delivery to them (which doubles as the retry queue).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_destinations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.String(1000), nullable=False),
        sa.Column("secret", sa.String(128), nullable=True),
        sa.Column("all_locations", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
    )
    op.create_table(
        "alert_destination_locations",
        sa.Column(
            "destination_id",
            sa.String(64),
            sa.ForeignKey("alert_destinations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("location_id", sa.String(64), sa.ForeignKey("locations.id"), nullable=False),
        sa.PrimaryKeyConstraint(
            "destination_id", "location_id", name="pk_alert_destination_locations"
        ),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "destination_id",
            sa.String(64),
            sa.ForeignKey("alert_destinations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alerts.id"), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_alert_deliveries_destination_sent", "alert_deliveries", ["destination_id", "sent_at"]
    )
    op.create_index("ix_alert_deliveries_retry_at", "alert_deliveries", ["retry_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_deliveries_retry_at", table_name="alert_deliveries")
    op.drop_index("ix_alert_deliveries_destination_sent", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_table("alert_destination_locations")
    op.drop_table("alert_destinations")
