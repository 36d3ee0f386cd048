"""`rollups_day_parts` keeps only the count of each value: its n, happy, unhappy and value-total
columns go (every reader takes them from c0..c10 now, `server.store.day_parts.headline_parts`).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

DROPPED = ("n", "happy", "unhappy", "value_total")
VALUES = range(11)


def upgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN: PostgreSQL, and SQLite from 3.35 (none of these columns
    # is in a key or an index), without copying the table.
    for name in DROPPED:
        op.execute(f"ALTER TABLE rollups_day_parts DROP COLUMN {name}")


def _sum_where(test: str) -> str:
    return " + ".join(f"CASE WHEN {test.format(v=v)} THEN c{v} ELSE 0 END" for v in VALUES)


def downgrade() -> None:
    for name in DROPPED:
        op.execute(f"ALTER TABLE rollups_day_parts ADD COLUMN {name} BIGINT NOT NULL DEFAULT 0")
    happy = (
        "CASE WHEN kind = 'nps' THEN {nps} WHEN kind = 'csat' THEN {csat}"
        " WHEN kind = 'ces' THEN {ces} ELSE {smiley} END"
    ).format(
        nps=_sum_where("{v} >= 9"),
        csat=_sum_where("{v} >= 4"),
        ces=_sum_where("{v} >= CASE WHEN scale = 7 THEN 5 ELSE 4 END"),
        smiley=_sum_where("2 * {v} > scale + 1"),
    )
    unhappy = "CASE WHEN kind = 'nps' THEN {nps} ELSE {other} END".format(
        nps=_sum_where("{v} <= 6"), other=_sum_where("2 * {v} < scale + 1")
    )
    n = " + ".join(f"c{v}" for v in VALUES)
    total = " + ".join(f"{v} * c{v}" for v in VALUES)
    op.execute(
        f"UPDATE rollups_day_parts SET n = {n}, happy = {happy}, unhappy = {unhappy},"
        f" value_total = {total}"
    )
