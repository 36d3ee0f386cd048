"""Opening the store safely: `PRAGMA integrity_check` at start, a corrupt file moved aside.

A corrupt database is renamed `kiosk.db.corrupt-<UTC timestamp>` (with its `-wal` and `-shm`
files) and never deleted, so IT can still recover taps from it (`sqlite3 … .recover`). A new
database is started at once so customers can keep tapping; the device's enrollment, cached
config and IT PIN are copied over when they can still be read, and the event is kept in the
state table (`store_recovered`) for the status screen.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from kiosk.store import LocalStore
from shared.clock import to_rfc3339

log = logging.getLogger(__name__)

#: State worth carrying over from a corrupt database, when it is still readable.
SALVAGED_KEYS = (
    "server_url",
    "device_id",
    "token",
    "status",
    "config",
    "config_etag",
    "it_pin_hash",
)


def integrity_problem(path: Path) -> str | None:
    """What `PRAGMA integrity_check` found wrong with the file, or None when it is fine."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    found = "; ".join(str(row[0]) for row in rows[:5])
    return None if found == "ok" else found


def salvage_state(path: Path) -> dict[str, str]:
    """The state keys still readable from a damaged file (maybe none)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            marks = ",".join("?" * len(SALVAGED_KEYS))
            rows = conn.execute(
                f"SELECT key, value FROM state WHERE key IN ({marks})", SALVAGED_KEYS
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return {}
    return {str(key): str(value) for key, value in rows}


def move_aside(path: Path, now: datetime) -> Path:
    """Rename the database and its WAL companions with a timestamp; the new main file path."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(target.with_name(target.name + suffix))
    return target


def open_store(path: Path | str, now: datetime | None = None) -> LocalStore:
    """The store at `path`, checked first; a corrupt one is replaced (see the module doc)."""
    path = Path(path)
    problem = integrity_problem(path)
    if problem is None:
        return LocalStore(path)
    now = now or datetime.now(UTC)
    salvaged = salvage_state(path)
    moved_to = move_aside(path, now)
    log.error("store: %s is corrupt (%s); moved to %s, starting anew", path, problem, moved_to)
    store = LocalStore(path)
    event = {"at": to_rfc3339(now), "moved_to": str(moved_to), "problem": problem}
    store.set_state(**salvaged, store_recovered=json.dumps(event))
    return store
