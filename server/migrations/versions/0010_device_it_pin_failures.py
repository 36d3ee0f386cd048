"""Wrong IT PINs in a row at a kiosk, from its heartbeat, for the devices page.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("it_pin_failures", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("it_pin_failures")
