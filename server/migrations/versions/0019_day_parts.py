"""The parts of every score's headline per store-local day (`rollups_day_parts`): one row per
location, day, touchpoint, burst flag, kind and scale with n, happy, unhappy, the sum of the
values and the count of each value 0..10, filled from the day rows of `rollups_location`.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

KEY = ("local_date", "location_id", "touchpoint_id", "burst", "kind", "scale")
VALUES = range(11)
SUMS = ("n", "happy", "unhappy", "value_total", *(f"c{v}" for v in VALUES))

# shared.scoring.is_happy and is_unhappy as they were when this revision was written.
HAPPY = (
    "CASE WHEN kind = 'nps' THEN value >= 9 WHEN kind = 'csat' THEN value >= 4"
    " WHEN kind = 'ces' THEN value >= CASE WHEN scale = 7 THEN 5 ELSE 4 END"
    " ELSE 2 * value > scale + 1 END"
)
UNHAPPY = "CASE WHEN kind = 'nps' THEN value <= 6 ELSE 2 * value < scale + 1 END"


def upgrade() -> None:
    op.create_table(
        "rollups_day_parts",
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("touchpoint_id", sa.String(64), nullable=False),
        sa.Column("burst", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in SUMS),
        sa.PrimaryKeyConstraint(*KEY, name="pk_rollups_day_parts"),
        sqlite_with_rowid=False,
    )
    sums = [
        "sum(count)",
        f"sum(CASE WHEN {HAPPY} THEN count ELSE 0 END)",
        f"sum(CASE WHEN {UNHAPPY} THEN count ELSE 0 END)",
        "sum(value * count)",
        *(f"sum(CASE WHEN value = {v} THEN count ELSE 0 END)" for v in VALUES),
    ]
    rest = ", ".join(KEY[1:])
    op.execute(
        f"INSERT INTO rollups_day_parts ({', '.join(KEY)}, {', '.join(SUMS)}) "
        f"SELECT starts_on, {rest}, {', '.join(sums)} FROM rollups_location "
        f"WHERE period = 'day' GROUP BY starts_on, {rest}"
    )


def downgrade() -> None:
    op.drop_table("rollups_day_parts")
