"""backup.sh and restore.sh, for real: back up a running server that holds data, restore into
a fresh place, serve it again, and get the same report — on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness import ServerProcess

from .conftest import DEPLOY, http_json, seed

GROUPINGS = ("location", "day", "weekday_hour")
BACKUP = DEPLOY / "server" / "backup.sh"
RESTORE = DEPLOY / "server" / "restore.sh"


def _script(path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**env, "SMILETAP_PYTHON": sys.executable, "SMILETAP_ENV_FILE": "/nonexistent"}
    return subprocess.run(
        ["bash", str(path), *args], env=env, capture_output=True, text=True, timeout=120
    )


def _report(server: ServerProcess, path: str, key: str) -> Any:
    status, body = http_json("GET", server.url + path, token=key)
    assert status == 200, body
    return body


def _round_trip(tmp_path: Path, source_url: str | None, target_url: str | None) -> None:
    source = ServerProcess(tmp_path / "source", source_url).start()
    try:
        data = seed(source.cli, source.url)
        before = {g: _report(source, data.report_path(g), data.api_key) for g in GROUPINGS}
        (group,) = before["location"]["groups"]
        assert group["smiley"]["counts"] == data.counts
        # Online: the source keeps serving while the backup is taken.
        done = _script(BACKUP, source.env, str(tmp_path / "backups"))
        assert done.returncode == 0, done.stderr
        backup = Path(done.stdout.strip())
        assert backup.parent == tmp_path / "backups" and backup.stat().st_size > 0
        assert not list((tmp_path / "backups").glob("*.part"))
        assert _report(source, data.report_path(), data.api_key) == before["location"]
    finally:
        source.stop()

    target = ServerProcess(tmp_path / "target", target_url)
    done = _script(RESTORE, target.env, str(backup))
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stdout
    again = _script(RESTORE, target.env, str(backup))
    assert again.returncode == 1 and "--force" in again.stderr  # never over data by accident
    forced = _script(RESTORE, target.env, "--force", str(backup))
    assert forced.returncode == 0, forced.stderr

    target.start()
    try:
        after = {g: _report(target, data.report_path(g), data.api_key) for g in GROUPINGS}
        assert after == before
        # The device's token came back with the data: its kiosk carries on without re-enrolling.
        status, config = http_json("GET", target.url + "/api/v1/config", token=data.token)
        assert status == 200, config
        assert config["device"]["id"] == data.device_id
    finally:
        target.stop()


def test_sqlite_backup_and_restore(tmp_path: Path) -> None:
    _round_trip(tmp_path, None, None)
    (backup,) = (tmp_path / "backups").glob("smiletap-*.sqlite3")
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert (tmp_path / "target" / "smiletap.db").exists()


@pytest.mark.postgres
def test_postgresql_backup_and_restore(tmp_path: Path, new_pg_database: Callable[[], str]) -> None:
    if not os.path.exists("/usr/bin/pg_dump"):
        pytest.fail("pg_dump is needed: run deploy/dev/install.sh")
    _round_trip(tmp_path, new_pg_database(), new_pg_database())
    (backup,) = (tmp_path / "backups").glob("smiletap-*.pgdump")
    assert backup.read_bytes()[:5] == b"PGDMP"


def test_backup_refuses_a_missing_database(tmp_path: Path) -> None:
    env = {**os.environ, "SMILETAP_INSTANCE_PATH": str(tmp_path / "empty")}
    done = _script(BACKUP, env, str(tmp_path / "backups"))
    assert done.returncode == 1
    assert "no database at" in done.stderr


def test_restore_refuses_a_file_of_the_wrong_kind(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-backup.pgdump"
    bogus.write_bytes(b"PGDMP-but-sqlite-target")
    env = {**os.environ, "SMILETAP_INSTANCE_PATH": str(tmp_path / "target")}
    done = _script(RESTORE, env, str(bogus))
    assert done.returncode == 1
    assert "not a SQLite backup" in done.stderr
