"""The database layer: engines, SQLite pragmas and immediate transactions."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from server.db import get_db, get_engine, make_engine, normalize_url


def test_normalize_url() -> None:
    assert normalize_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_one_engine_per_app(app) -> None:
    assert get_engine(app) is get_engine(app)


def test_request_connection_closed_at_teardown(app) -> None:
    with app.app_context():
        conn = get_db()
        assert get_db() is conn
    assert conn.closed


def test_sqlite_pragmas(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    engine.dispose()


def test_sqlite_transactions_take_the_write_lock_at_begin(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "x.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with engine.begin() as conn:
        conn.execute(text("SELECT 1"))  # a read only; BEGIN IMMEDIATE still holds the lock
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    engine.dispose()
