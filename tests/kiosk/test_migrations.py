"""The kiosk store's named migrations: a fresh store, and one made by release 0.1.0."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import sqlite_utils

from kiosk import migrations
from kiosk.store import DELIVERED, PENDING, REJECTED, LocalStore
from tests.kiosk.conftest import make_submission

#: A store as release 0.1.0 made it (before migrations were recorded): `sqlite3 .dump`.
RELEASE_0_1 = Path(__file__).parent / "data" / "kiosk-store-0.1.0.sql"


def schema(path: Path) -> dict[str, str]:
    """Every table's and index's SQL, by name (the migrations' record aside)."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    return {name: sql for name, sql in rows if "_sqlite_migrations" not in name}


def release_0_1_store(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.db"
    with sqlite3.connect(path) as db:
        db.executescript(RELEASE_0_1.read_text(encoding="utf-8"))
    db.close()
    return path


def applied(store: LocalStore) -> list[tuple[str, str]]:
    with sqlite_utils.Database(store.path) as db:
        return [(m.name, m.applied_at) for m in migrations.migrations().applied(db)]


def test_a_fresh_store_records_every_migration(store: LocalStore) -> None:
    assert [name for name, _ in applied(store)] == [s.__name__ for s in migrations.STEPS]
    assert migrations.pending(store.conn) == []
    with sqlite_utils.Database(store.path) as db:
        assert migrations.migrations().pending(db) == []


def heavy_modules_loaded_opening(path: Path) -> list[str]:
    """Which of sqlite-utils and numpy a fresh interpreter loads to open the store at `path`."""
    script = (
        "import sys; from kiosk.store import LocalStore; LocalStore(sys.argv[1]).close();"
        " print(*sorted(m for m in ('sqlite_utils', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_sqlite_utils_is_loaded_only_to_migrate(tmp_path: Path) -> None:
    """A store with nothing to migrate opens without sqlite-utils (~30 MiB with what it loads)."""
    path = tmp_path / "kiosk.db"
    assert "sqlite_utils" in heavy_modules_loaded_opening(path)  # a new database is migrated
    assert heavy_modules_loaded_opening(path) == []


def test_a_fresh_store_has_the_schema_release_0_1_made(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh" / "kiosk.db"
    LocalStore(fresh).close()
    assert schema(fresh) == schema(release_0_1_store(tmp_path))


def test_a_release_0_1_store_is_upgraded_with_its_data(tmp_path: Path) -> None:
    path = release_0_1_store(tmp_path)
    with sqlite3.connect(path) as db:  # made before migrations were recorded
        found = db.execute("SELECT count(*) FROM sqlite_master WHERE name = '_sqlite_migrations'")
        assert found.fetchone() == (0,)
    store = LocalStore(path)
    try:
        assert [name for name, _ in applied(store)] == ["m001_release_0_1_schema"]
        enrollment = store.get_enrollment()
        assert enrollment is not None and enrollment.device_id == "dev_test"
        config = store.get_config()
        assert config is not None and config.survey is not None
        assert config.survey.id == "srv_test"
        assert (store.count(DELIVERED), store.count(PENDING), store.count(REJECTED)) == (1, 1, 1)
        [rejected] = store.rejected()
        assert (rejected.reason, rejected.field) == ("unknown_staff", "staff_id")
        assert store.finish_all() == 1  # the one left in progress can be sent now
        [pending] = store.pending(10)
        assert pending.id.endswith("000000000002") and pending.answers[0].value == 1
        store.record_submission(make_submission())  # and it takes new taps
        assert store.backlog() == 2
        recorded = applied(store)
    finally:
        store.close()
    again = LocalStore(path)  # reopening applies nothing twice
    try:
        assert applied(again) == recorded
    finally:
        again.close()


def test_a_store_older_than_0_1_gains_the_boot_columns(tmp_path: Path) -> None:
    path = release_0_1_store(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE submissions DROP COLUMN boot_id")
        db.execute("ALTER TABLE submissions DROP COLUMN uptime_s")
    db.close()
    store = LocalStore(path)
    try:
        columns = {row[1] for row in store.conn.execute("PRAGMA table_info(submissions)")}
        assert {"boot_id", "uptime_s"} <= columns
        assert store.count() == 3
    finally:
        store.close()
