"""PostgreSQL: `smiletap_joined_reasons(text)`, a stored reasons list (JSON) as its ids joined
with `;` in the list's order, for the answers CSV export (`server/export.py`) of lists that
are not written as ingest writes them (escapes, other spacing). Declared PARALLEL SAFE: the
same join written as a subquery in the export's select list is parallel restricted, which made
the leader process compute every cell of every row after the parallel workers' sort; with the
function the workers compute the cells. Nothing on SQLite (its export joins in its own SQL).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

Frozen like 0001: later changes come as new revisions.
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION smiletap_joined_reasons(reasons text) RETURNS text "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ "
        "SELECT string_agg(r.id, ';' ORDER BY r.n) "
        "FROM json_array_elements_text(CAST(reasons AS json)) WITH ORDINALITY AS r(id, n) $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION smiletap_joined_reasons(text)")
