"""The kiosk store's schema, as named migrations recorded in the database itself.

Each migration runs once per database, in the order listed, inside a transaction together
with its record in the `_sqlite_migrations` table (sqlite-utils' `Migrations`, the library
`sqlite-migrate` grew into). A schema change is a new function appended here with the next
number; a migration already released is never edited.

`m001_release_0_1_schema` is the schema release 0.1.0 made before migrations were recorded.
It creates nothing that exists already, so a 0.1.0 database is adopted as it is and recorded
as having it; it also gives a store made before `boot_id`/`uptime_s` existed those columns
(the one place the columns are looked at, and it runs once per database).
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

#: The kiosk store's migrations, applied by `LocalStore` every time it opens a database.
MIGRATIONS = Migrations("smiletap-kiosk")


@MIGRATIONS()
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
