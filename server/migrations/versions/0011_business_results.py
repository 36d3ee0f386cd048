"""Business results: daily KPIs per location, their import log, and the contact history that
coverage is computed from.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "kpi_imports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(254), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
    )
    op.create_index("ix_kpi_imports_at", "kpi_imports", ["at"])
    op.create_table(
        "kpis",
        sa.Column("location_id", sa.String(64), sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("visitors", sa.BigInteger(), nullable=True),
        sa.Column("transactions", sa.BigInteger(), nullable=True),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=True),
        sa.Column("staff_hours", sa.Float(), nullable=True),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("kpi_imports.id"), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("location_id", "date", name="pk_kpis"),
    )
    op.create_table(
        "kpi_changes",
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("kpi_imports.id"), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("import_id", "location_id", "date", name="pk_kpi_changes"),
    )
    op.create_index("ix_kpi_changes_location_date", "kpi_changes", ["location_id", "date"])
    op.create_table(
        "contact_minutes",
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("hour", TS, nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("touchpoint_id", sa.String(64), nullable=True),
        sa.Column("minutes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", "hour", "device_id", name="pk_contact_minutes"),
    )


def downgrade() -> None:
    op.drop_table("contact_minutes")
    op.drop_index("ix_kpi_changes_location_date", table_name="kpi_changes")
    op.drop_table("kpi_changes")
    op.drop_table("kpis")
    op.drop_index("ix_kpi_imports_at", table_name="kpi_imports")
    op.drop_table("kpi_imports")
