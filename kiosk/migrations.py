"""The kiosk store's schema, as named migrations recorded in the database itself.

Each migration runs once per database, in the order listed in `STEPS`, inside a transaction
together with its record in the `_sqlite_migrations` table (sqlite-utils' `Migrations`, the
library `sqlite-migrate` grew into). A schema change is a new function appended to `STEPS`; a
migration already released is never edited.

`m001_release_0_1_schema` is the schema release 0.1.0 made before migrations were recorded.
It creates nothing that exists already, so a 0.1.0 database is adopted as it is and recorded
as having it; it also gives a store made before `boot_id`/`uptime_s` existed those columns
(the one place the columns are looked at, and it runs once per database).

sqlite-utils is imported only when a database has a migration to run (`apply`): with what it
imports (click, dateutil, tabulate, numpy where installed) it held ~30 MiB of the kiosk's
memory for weeks, for a check that finds nothing to do on every start but the first after an
upgrade. That check (`pending`) is plain SQL on the record sqlite-utils keeps.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

#: The name the migrations are recorded under in `_sqlite_migrations`.
MIGRATION_SET = "smiletap-kiosk"
MIGRATIONS_TABLE = "_sqlite_migrations"


def m001_release_0_1_schema(db: sqlite_utils.Database) -> None:
    """`submissions` (one row per customer) and `state` (key/value), as 0.1.0 made them."""
    submissions = db.table("submissions")
    submissions.create(
        {
            "id": str,
            "created_at": str,
            "created_ts": float,
            "payload": str,
            "state": str,
            "in_progress": int,
            "reason": str,
            "field": str,
            "delivered_at": str,
            "boot_id": str,
            "uptime_s": float,
        },
        pk="id",
        not_null={"created_at", "created_ts", "payload", "state", "in_progress"},
        defaults={"state": "pending", "in_progress": 0},
        if_not_exists=True,
    )
    columns = submissions.columns_dict
    for name, kind in (("boot_id", str), ("uptime_s", float)):  # stores older than 0.1.0
        if name not in columns:
            submissions.add_column(name, kind)
    submissions.create_index(
        ["state", "created_ts"], index_name="idx_submissions_state_created_ts", if_not_exists=True
    )
    # The burst check at every tap counts recent rows of any state: without this it scanned
    # the whole retention window (30 days of delivered taps).
    submissions.create_index(
        ["created_ts"], index_name="idx_submissions_created_ts", if_not_exists=True
    )
    db.table("state").create({"key": str, "value": str}, pk="key", if_not_exists=True)


#: Every migration, in the order they run (a new one is appended).
STEPS: tuple[Callable[[sqlite_utils.Database], None], ...] = (m001_release_0_1_schema,)


def pending(conn: sqlite3.Connection) -> list[str]:
    """The names of the migrations this database has not recorded, in order."""
    recorded = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [MIGRATIONS_TABLE]
    ).fetchone()
    applied = (
        {
            row[0]
            for row in conn.execute(
                f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ?", [MIGRATION_SET]
            )
        }
        if recorded
        else set()
    )
    return [step.__name__ for step in STEPS if step.__name__ not in applied]


def migrations() -> sqlite_utils.Migrations:
    """`STEPS` as sqlite-utils' `Migrations` (imports sqlite-utils)."""
    from sqlite_utils import Migrations

    plan = Migrations(MIGRATION_SET)
    for step in STEPS:
        plan()(step)
    return plan


def apply(path: Path) -> None:
    """Run the migrations the database at `path` has not recorded, on a connection of their own."""
    import sqlite_utils

    db = sqlite_utils.Database(str(path))
    try:
        migrations().apply(db)
    finally:
        db.close()
