"""backup.sh and restore.sh, for real: back up a running server that holds data, restore into
a fresh place, serve it again, and get the same report — on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness import ServerProcess
from sqlalchemy import make_url

from .conftest import DEPLOY, http_json, seed

GROUPINGS = ("location", "day", "weekday_hour")
BACKUP = DEPLOY / "server" / "backup.sh"
RESTORE = DEPLOY / "server" / "restore.sh"
PG_TOOLS = ("pg_dump", "pg_restore", "psql")
#: In the PostgreSQL URLs of the round trip (trust auth ignores it); `ps` must never show it.
PASSWORD = "S3cret:pw"


def _script(path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**env, "SMILETAP_PYTHON": sys.executable, "SMILETAP_ENV_FILE": "/nonexistent"}
    return subprocess.run(
        ["bash", str(path), *args], env=env, capture_output=True, text=True, timeout=120
    )


def _report(server: ServerProcess, path: str, key: str) -> Any:
    status, body = http_json("GET", server.url + path, token=key)
    assert status == 200, body
    return body


def _spy_on_pg_tools(tmp_path: Path) -> tuple[Path, Path]:
    """A folder for PATH whose pg_dump, pg_restore and psql log their argv, environment and
    password file (mode, content), then run the real tool; and the log."""
    shims, log = tmp_path / "shims", tmp_path / "pg-tools.log"
    shims.mkdir()
    for tool in PG_TOOLS:
        real = shutil.which(tool)
        assert real, f"{tool} is needed: run deploy/dev/install.sh"
        shim = shims / tool
        shim.write_text(
            "#!/bin/sh\n"
            f"{{ echo \"argv: $(tr '\\0' ' ' </proc/$$/cmdline)\"\n"
            "  echo \"environ: $(env | tr '\\n' ' ')\"\n"
            '  echo "passfile: $(stat -c %a "$PGPASSFILE") $(cat "$PGPASSFILE")"\n'
            f"}} >>{log}\n"
            f'exec {real} "$@"\n',
            encoding="utf-8",
        )
        shim.chmod(0o755)
    return shims, log


def _round_trip(
    tmp_path: Path,
    source_url: str | None,
    target_url: str | None,
    script_env: dict[str, str] | None = None,
) -> None:
    source = ServerProcess(tmp_path / "source", source_url)
    source.env.update(script_env or {})
    source.start()
    try:
        data = seed(source.cli_here, source.url)
        before = {g: _report(source, data.report_path(g), data.api_key) for g in GROUPINGS}
        (group,) = before["location"]["groups"]
        assert group["smiley"]["counts"] == data.counts
        # Online: the source keeps serving while the backup is taken.
        done = _script(BACKUP, source.env, str(tmp_path / "backups"))
        assert done.returncode == 0, done.stderr
        backup = Path(done.stdout.strip())
        assert backup.parent == tmp_path / "backups" and backup.stat().st_size > 0
        assert backup.stat().st_mode & 0o077 == 0  # the owner's only (umask 077)
        assert not list((tmp_path / "backups").glob("*.part"))
        assert _report(source, data.report_path(), data.api_key) == before["location"]
    finally:
        source.stop()

    target = ServerProcess(tmp_path / "target", target_url)
    target.env.update(script_env or {})
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


@pytest.mark.e2e  # two real servers, the CLI and the scripts: seconds each
def test_sqlite_backup_and_restore(tmp_path: Path) -> None:
    _round_trip(tmp_path, None, None)
    (backup,) = (tmp_path / "backups").glob("smiletap-*.sqlite3")
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    for served in ("source", "target"):  # made by the server, then by restore.sh + migrate
        files = list((tmp_path / served).glob("smiletap.db*"))
        assert files and all(f.stat().st_mode & 0o007 == 0 for f in files), files


@pytest.mark.e2e
@pytest.mark.postgres
def test_postgresql_backup_and_restore(tmp_path: Path, new_pg_database: Callable[[], str]) -> None:
    if not os.path.exists("/usr/bin/pg_dump"):
        pytest.fail("pg_dump is needed: run deploy/dev/install.sh")
    source_url, target_url = (
        make_url(new_pg_database()).set(password=PASSWORD).render_as_string(hide_password=False)
        for _ in range(2)
    )
    shims, log = _spy_on_pg_tools(tmp_path)
    temp = tmp_path / "tmp"
    temp.mkdir()
    script_env = {"PATH": f"{shims}:{os.environ['PATH']}", "TMPDIR": str(temp)}
    _round_trip(tmp_path, source_url, target_url, script_env)
    (backup,) = (tmp_path / "backups").glob("smiletap-*.pgdump")
    assert backup.read_bytes()[:5] == b"PGDMP"
    calls = log.read_text(encoding="utf-8").splitlines()
    argvs = [line for line in calls if line.startswith("argv: ")]
    assert {a.split()[2].rsplit("/", 1)[-1] for a in argvs} == set(PG_TOOLS)  # sh SHIM ...
    for line in calls:
        if line.startswith(("argv: ", "environ: ")):
            assert "S3cret" not in line, line
        else:
            assert line == "passfile: 600 *:*:*:*:S3cret\\:pw", line
    assert list(temp.iterdir()) == []  # the password files are gone


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
