"""`pending_rollups`: the submissions stored but not yet counted in the rollup tables, one row
each (`server/store/pending_rollups.py`). Uploads write a row here instead of adding to the ten
rollup tables; a fold counts them later. Nothing is pending on upgrade: every submission stored
so far is in the rollups already.

The downgrade drops the table only when it is empty: the code before this revision has no
fold, so a pending row dropped would be an upload never counted. `smiletap-server
fold-rollups` (with this revision's code) empties it.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_rollups",
        sa.Column("submission_id", sa.String(64), sa.ForeignKey("submissions.id"), nullable=False),
        sa.PrimaryKeyConstraint("submission_id", name="pk_pending_rollups"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    pending = op.get_bind().execute(sa.text("SELECT count(*) FROM pending_rollups")).scalar_one()
    if pending:
        raise RuntimeError(
            f"{pending} uploads are not counted in the rollups yet: run `smiletap-server"
            " fold-rollups` before downgrading, or they would never be counted"
        )
    op.drop_table("pending_rollups")
