"""The database: one SQLAlchemy Core engine per app, one connection per request.

SQLite (the default) runs in WAL mode with a busy timeout and foreign keys on, and every
transaction starts with `BEGIN IMMEDIATE`: a deferred transaction that reads and then writes
fails with SQLITE_BUSY_SNAPSHOT when another writer got in between, while an immediate one
waits for the write lock instead. A transaction that only reads says so (`reading`) and
starts with a plain `BEGIN`, so polls never queue behind writers for SQLite's one write lock.
PostgreSQL is used through psycopg 3.

The SQLite file holds device tokens' hashes, comments and users: it is created 0640 (no access
for others), and SQLite gives its WAL and SHM files the database file's mode. The server's
entry points also set the umask to `PRIVATE_UMASK`, so nothing they create is world-readable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from server import settings

_ENGINE_KEY = "smiletap_engine"
_READ_ONLY = "smiletap_read_only"
SQLITE_BUSY_TIMEOUT_MS = 15000
#: No write for the group, nothing for others: set by `smiletap-server` and `server.wsgi`.
PRIVATE_UMASK = 0o027
SQLITE_FILE_MODE = 0o640


def use_private_umask() -> None:
    """Files and folders this process creates from now on are not world-readable."""
    os.umask(PRIVATE_UMASK)


def restrict_sqlite_files(path: str) -> None:
    """Create the database file 0640 if missing; take others' access from it, its WAL and SHM
    (files an older version left 0644)."""
    if not os.path.exists(path):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, SQLITE_FILE_MODE))
        except OSError:
            return  # a missing folder or no right to write: SQLite says so when it connects
    for name in (path, path + "-wal", path + "-shm"):
        try:
            mode = os.stat(name).st_mode & 0o777
            if mode & 0o007:
                os.chmod(name, mode & ~0o007)
        except FileNotFoundError:
            continue


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url(app: Flask) -> str:
    """The configured database URL, or the default SQLite file in the instance folder."""
    url = settings.of(app).database_url
    if url:
        return normalize_url(str(url))
    os.makedirs(app.instance_path, mode=0o750, exist_ok=True)
    return "sqlite:///" + os.path.join(app.instance_path, "smiletap.db")


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so `begin` below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@contextmanager
def reading(conn: Connection) -> Iterator[Connection]:
    """A transaction that only reads: on SQLite it takes no write lock (a deferred BEGIN)."""
    conn.execution_options(**{_READ_ONLY: True})
    try:
        with conn.begin():
            yield conn
    finally:
        conn.execution_options(**{_READ_ONLY: False})


def make_engine(url: str) -> Engine:
    """An engine for this URL, with the SQLite settings above when it is SQLite."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and "uri" not in parsed.query:
            restrict_sqlite_files(parsed.database)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _setup_sqlite(engine)
        return engine
    # A PostgreSQL that does not answer fails the request (503) after a few seconds instead
    # of holding a worker thread for the operating system's TCP timeout; the URL may override.
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 5}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def get_engine(app: Flask | None = None) -> Engine:
    """The app's engine, made on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    engine = app.extensions.get(_ENGINE_KEY)
    if engine is None:
        engine = make_engine(database_url(app))
        app.extensions[_ENGINE_KEY] = engine
    return engine


def dispose_engine(app: Flask) -> None:
    """Close every pooled connection of the app's engine (tests, CLI commands)."""
    engine = app.extensions.pop(_ENGINE_KEY, None)
    if engine is not None:
        engine.dispose()


def get_db() -> Connection:
    """This request's connection, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = get_engine().connect()
    return g.db  # type: ignore[no-any-return]


def close_db(_exc: BaseException | None = None) -> None:
    """Close this request's connection; an unfinished transaction is rolled back."""
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def init_app(app: Flask) -> None:
    """Close the request's connection when the app context ends."""
    app.teardown_appcontext(close_db)
