"""A config stamp per location, so a kiosk's config check is one indexed read.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows share "initial": the ETag also hashes the location id, and the first
    # change anywhere gives that location a random stamp.
    with op.batch_alter_table("locations") as batch:
        batch.add_column(
            sa.Column("config_stamp", sa.String(32), nullable=False, server_default="initial")
        )


def downgrade() -> None:
    with op.batch_alter_table("locations") as batch:
        batch.drop_column("config_stamp")
