"""Which surveys each location was ever assigned, so ingest accepts a kiosk's stale config but
no survey the location never showed. Filled from the current assignments and from the
surveys already answered at each location.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_assignments",
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("survey_id", sa.String(64), nullable=False),
        sa.Column("first_assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"]),
        sa.PrimaryKeyConstraint("location_id", "survey_id"),
    )
    op.execute(
        "INSERT INTO survey_assignments (location_id, survey_id, first_assigned_at) "
        "SELECT location_id, survey_id, MIN(first) FROM ("
        "  SELECT id AS location_id, survey_id, created_at AS first FROM locations"
        "  WHERE survey_id IS NOT NULL"
        "  UNION ALL"
        "  SELECT location_id, survey_id, MIN(received_at) AS first FROM submissions"
        "  GROUP BY location_id, survey_id"
        ") AS seen GROUP BY location_id, survey_id"
    )


def downgrade() -> None:
    op.drop_table("survey_assignments")
