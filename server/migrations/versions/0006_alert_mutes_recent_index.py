"""Alert acknowledgements and mutes; an index for a location's newest answers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_submissions_location_burst_effective",
        "submissions",
        ["location_id", "burst", "effective_at"],
    )
    op.create_table(
        "alert_mutes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(32), nullable=True),
        sa.Column("muted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("muted_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("muted_by", sa.String(64), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.ForeignKeyConstraint(["muted_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["lifted_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_mutes_location_until", "alert_mutes", ["location_id", "muted_until"])
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("acknowledged_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("muted_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_alerts_acknowledged_by_users", "users", ["acknowledged_by"], ["id"]
        )
        batch.create_foreign_key(
            "fk_alerts_muted_by_alert_mutes", "alert_mutes", ["muted_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("fk_alerts_muted_by_alert_mutes", type_="foreignkey")
        batch.drop_constraint("fk_alerts_acknowledged_by_users", type_="foreignkey")
        batch.drop_column("muted_by")
        batch.drop_column("acknowledged_by")
        batch.drop_column("acknowledged_at")
    op.drop_table("alert_mutes")
    op.drop_index("ix_submissions_location_burst_effective", table_name="submissions")
