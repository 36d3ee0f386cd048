"""Following up what customers said: one row per submission somebody acted on (assigned it
or marked it handled, with a note), and alerts closed by hand with a note.

A submission that qualifies (a comment, or reasons given for a low answer) and has no row is
open: rows are made by the first action, so ingest writes nothing more.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "followups",
        sa.Column("submission_id", sa.String(64), sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("location_id", sa.String(64), sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee_id", sa.String(64), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("assigned_by", sa.String(64), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("assigned_at", ts, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("handled_by", sa.String(64), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("handled_at", ts, nullable=True),
        sa.Column("said_at", ts, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.PrimaryKeyConstraint("submission_id", name="pk_followups"),
    )
    op.create_index("ix_followups_location_handled", "followups", ["location_id", "handled_at"])
    op.create_index("ix_followups_assignee", "followups", ["assignee_id"])
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("closed_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("close_note", sa.Text(), nullable=True))
        batch.create_foreign_key("fk_alerts_closed_by_users", "users", ["closed_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("fk_alerts_closed_by_users", type_="foreignkey")
        batch.drop_column("close_note")
        batch.drop_column("closed_by")
    op.drop_index("ix_followups_assignee", table_name="followups")
    op.drop_index("ix_followups_location_handled", table_name="followups")
    op.drop_table("followups")
