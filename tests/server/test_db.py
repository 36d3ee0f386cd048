"""The database layer: engines, SQLite pragmas and immediate transactions."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from psycopg import pq
from sqlalchemy import Integer, String, column, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from server.app import create_app
from server.db import (
    _CURSOR,
    _LIBPQ,
    Checkout,
    Prepared,
    get_db,
    get_engine,
    lookup_db,
    make_engine,
    normalize_url,
    pipelined,
    snapshot,
)
from server.store import devices, job_leases
from server.store.schema import job_leases as job_leases_table
from tests.server.conftest import now_rfc3339


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


def test_a_lookup_runs_on_the_pooled_connection_then_a_connection_wraps_it(smiletap, app) -> None:
    """`lookup_db` checks a pooled connection out without a SQLAlchemy Connection; the token
    look-up on it gives what it gives on a Connection; `get_db` then wraps that same pooled
    connection, and teardown gives it back to the pool."""
    kiosk = smiletap.setup()
    pool = get_engine(app).pool
    with get_engine(app).connect() as conn:
        expected = devices.by_token(conn, kiosk.token)
    with app.test_request_context():
        checkout = lookup_db()
        assert isinstance(checkout, Checkout) and lookup_db() is checkout
        assert pool.checkedout() == 1  # type: ignore[attr-defined]
        assert devices.by_token(checkout, kiosk.token) == expected
        conn = get_db()
        assert conn.connection is checkout.connection and lookup_db() is conn
        assert devices.by_token(conn, kiosk.token) == expected
    assert conn.closed and pool.checkedout() == 0  # type: ignore[attr-defined]
    with app.test_request_context():
        assert devices.by_token(lookup_db(), "no such token") is None
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_driver_error_on_the_pooled_connection_is_sqlalchemy_s(app) -> None:
    broken = Prepared(select(text("1")).select_from(text("no_such_table")))
    with app.test_request_context():
        with pytest.raises(DBAPIError):
            broken.all(lookup_db(), {})
        conn = get_db()  # the handling wrapped the pooled connection in the request's
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert conn.closed and get_engine(app).pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_database_that_cannot_be_opened_is_503_for_a_device(tmp_path) -> None:
    # The pooled connection's checkout fails as `Engine.connect` does: SQLAlchemy's error,
    # which errors.py answers with 503 and Retry-After (not the driver's own, a 500).
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path}/no/such/folder/smiletap.db",
        }
    )
    response = app.test_client().get("/api/v1/config", headers={"Authorization": "Bearer x"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json["error"]["code"] == "unavailable"


def test_sqlite_pragmas(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
        # An answered upload survives a power cut: the WAL is synced at every commit.
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
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


def test_sqlite_begin_on_the_driver_is_seen_and_fails_as_sqlalchemy_s(tmp_path) -> None:
    """SQLite's BEGIN runs on the driver's connection: cursor listeners still see it, and a
    write lock held elsewhere past the busy timeout is SQLAlchemy's OperationalError (a
    503), after which this process's writers' lock is free for the next transaction."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    from server.db import reading

    path = tmp_path / "x.db"
    engine = make_engine(f"sqlite:///{path}")
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with engine.connect() as conn:
            with conn.begin():
                conn.execute(text("CREATE TABLE t (x INTEGER)"))
            with reading(conn):
                conn.execute(text("SELECT count(*) FROM t"))
            assert [s for s in seen if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE", "BEGIN"]
            conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(OperationalError, match="locked"), conn.begin():
                pass
            other.execute("ROLLBACK")
            with conn.begin():  # would wait 15 s for this process's writers' lock if held
                conn.execute(text("INSERT INTO t VALUES (1)"))
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        other.close()
        engine.dispose()


def test_sqlite_read_once_takes_no_lock_and_leaves_no_transaction(tmp_path) -> None:
    """`read_once` on SQLite: no BEGIN, so a statement in it (one SQLAlchemy begins a
    transaction for included) takes no write lock and each sees the latest commit; the block
    ends with no transaction open, whether it succeeded or raised, and it is refused inside a
    transaction (as `conn.begin` refuses)."""
    import sqlite3

    from sqlalchemy.exc import InvalidRequestError

    from server.db import read_once

    path = tmp_path / "x.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    count = Prepared(select(func.count()).select_from(text("t")))
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with engine.connect() as conn:
            with read_once(conn):
                assert count.first(conn, {}) == {"count_1": 0}
                assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
                other.execute("BEGIN IMMEDIATE")  # no lock held here
                other.execute("INSERT INTO t VALUES (1)")
                other.execute("COMMIT")
                assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
            assert not conn.in_transaction()
            with pytest.raises(ZeroDivisionError), read_once(conn):
                conn.execute(text("SELECT 1"))
                raise ZeroDivisionError
            assert not conn.in_transaction()
            with conn.begin():  # a write transaction again: BEGIN IMMEDIATE
                conn.execute(text("SELECT 1"))
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                with pytest.raises(InvalidRequestError), read_once(conn):
                    pass
            assert not conn.in_transaction()
    finally:
        other.close()
        engine.dispose()


def test_a_snapshot_sees_one_state_while_another_engine_commits(database_url) -> None:
    reader, writer = make_engine(database_url), make_engine(database_url)
    leases = select(func.count()).select_from(job_leases_table)
    try:
        with reader.connect() as conn:
            with snapshot(conn):
                before = conn.execute(leases).scalar_one()
                with writer.begin() as other:  # SQLite: the snapshot holds no write lock
                    assert job_leases.try_take(other, "snap", "writer", 60)
                assert conn.execute(leases).scalar_one() == before
            assert conn.execute(leases).scalar_one() == before + 1
            conn.rollback()
            with conn.begin():  # the connection writes again, at its usual level
                if conn.dialect.name == "postgresql":
                    level = conn.exec_driver_sql("SHOW transaction_isolation").scalar_one()
                    assert level == "read committed"
                job_leases.release(conn, "snap", "writer")
    finally:
        reader.dispose()
        writer.dispose()


def test_sqlite_files_are_created_without_access_for_others(tmp_path) -> None:
    path = tmp_path / "private.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # under the usual umask 022, SQLite alone would make 0644
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.glob("private.db*")}
    engine.dispose()
    assert set(modes) == {"private.db", "private.db-wal", "private.db-shm"}
    assert all(mode & 0o007 == 0 for mode in modes.values()), modes


def test_an_old_world_readable_database_is_restricted(tmp_path) -> None:
    path = tmp_path / "old.db"
    for name in ("old.db", "old.db-wal"):
        (tmp_path / name).touch()
        (tmp_path / name).chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert path.stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "old.db-wal").stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    "entry", ["import server.wsgi", "from server.cli import main; main(['migrate'])"]
)
def test_the_server_entry_points_set_a_private_umask(entry: str, tmp_path) -> None:
    probe = f"import os, sys\ntry:\n    {entry}\nexcept SystemExit:\n    pass\n"
    probe += "sys.stderr.write(oct(os.umask(0)))"
    env = {**os.environ, "SMILETAP_INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stderr.strip().endswith("0o27"), done.stderr


def test_prepared_rows_equal_sqlalchemy_s(smiletap, app) -> None:
    """`db.Prepared` gives the very values `conn.execute` gives (types and time zones
    included), inside a transaction and outside one, and leaves no transaction open."""
    kiosk = smiletap.setup()
    heartbeat = {
        "sent_at": now_rfc3339(),
        "app_version": "1.2.3",
        "backlog": 3,
        "oldest_pending_at": "2026-01-02T03:04:05Z",
        "rejected_count": 1,
        "last_error": None,
        "config_etag": "x",
    }
    assert kiosk.post("/api/v1/heartbeat", json=heartbeat).status_code == 200
    with get_engine(app).connect() as conn:
        params = {"token_hash": devices.sha256_hex(kiosk.token)}
        alone = devices.by_token(conn, kiosk.token)
        assert not conn.in_transaction()
        with conn.begin():
            inside = devices.by_token(conn, kiosk.token)
            expected = dict(conn.execute(devices._BY_TOKEN.statement, params).mappings().one())
    assert alone is not None and alone["oldest_pending_at"] is not None
    for found in (alone, inside):
        assert found == expected
        assert {k: type(v) for k, v in found.items()} == {k: type(v) for k, v in expected.items()}
    assert devices.by_token(get_engine(app).connect(), "no such token") is None


def test_prepared_driver_errors_are_sqlalchemy_s(app) -> None:
    """A driver error on `db.Prepared`'s cursor surfaces as SQLAlchemy's own error (what
    `errors.py` maps to answers), and the connection stays usable."""
    broken = Prepared(select(text("1")).select_from(text("no_such_table")))
    with get_engine(app).connect() as conn:
        with pytest.raises(DBAPIError):
            broken.all(conn, {})
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_pipelined_statements_run_in_order_and_their_errors_are_sqlalchemy_s(app) -> None:
    """`db.pipelined`: statements that return nothing run in the order sent, in the
    caller's transaction, a statement with rows still gives them inside the block; a failing
    one raises SQLAlchemy's error by the end of the block and the transaction rolls back."""
    insert = Prepared(text("INSERT INTO pipelined_probe (n) VALUES (:n)"))
    double = Prepared(text("UPDATE pipelined_probe SET n = n * 2"))
    read = Prepared(select(column("n", Integer)).select_from(text("pipelined_probe")))
    with get_engine(app).connect() as conn:
        with conn.begin():
            conn.execute(text("CREATE TABLE pipelined_probe (n INTEGER PRIMARY KEY)"))
        try:
            with conn.begin(), pipelined(conn):
                insert.all(conn, {"n": 3})
                double.all(conn, {})  # after the insert: 6, not 3
                assert read.all(conn, {}) == [{"n": 6}]
                insert.all(conn, {"n": 7})
            with conn.begin():
                assert sorted(row["n"] for row in read.all(conn, {})) == [6, 7]
            with pytest.raises(IntegrityError), conn.begin(), pipelined(conn):
                insert.all(conn, {"n": 8})
                insert.all(conn, {"n": 6})  # taken
                insert.all(conn, {"n": 9})
            with conn.begin():
                assert sorted(row["n"] for row in read.all(conn, {})) == [6, 7]
        finally:
            with conn.begin():
                conn.execute(text("DROP TABLE pipelined_probe"))


def test_a_connection_lost_in_a_pipeline_is_a_disconnect(app) -> None:
    """PostgreSQL gone mid-upload (the fault test's stop): the block raises SQLAlchemy's
    disconnect error, which the app answers with 503, not an error about the broken
    transaction (a 500)."""
    if get_engine(app).dialect.name != "postgresql":
        pytest.skip("pipelines are PostgreSQL's")
    probe = Prepared(text("SET LOCAL application_name = 'probe'"))  # no rows: pipelined
    with get_engine(app).connect() as victim, get_engine(app).connect() as killer:
        pid = victim.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        victim.commit()
        with pytest.raises(DBAPIError) as raised, victim.begin(), pipelined(victim):
            with killer.begin():
                killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            probe.all(victim, {})
        assert raised.value.connection_invalidated


def test_postgresql_prepared_statements_share_their_connection_s_cursor(app) -> None:
    """On PostgreSQL `db.Prepared` runs in a transaction on one cursor per driver connection,
    made at its first use (making one cost about as much as a look-up's own Python): each
    statement still gives only its own rows, a statement after a driver error gets a fresh
    cursor, and a connection replaced after an invalidation never gets the old one's."""
    if get_engine(app).dialect.name != "postgresql":
        pytest.skip("SQLite's cursors cost next to nothing: one per statement")
    numbers = Prepared(text("SELECT n FROM generate_series(1, :top) AS n").columns(n=Integer))
    words = Prepared(text("SELECT 'a' || :word AS w").columns(w=String))
    broken = Prepared(select(text("1")).select_from(text("no_such_table")))
    with get_engine(app).connect() as conn:
        with conn.begin():
            assert numbers.all(conn, {"top": 3}) == [{"n": 1}, {"n": 2}, {"n": 3}]
            kept = conn.info[_CURSOR]
            assert kept[0] is conn.connection.dbapi_connection
            assert numbers.all(conn, {"top": 0}) == []
            assert words.all(conn, {"word": "b"}) == [{"w": "ab"}]
        with conn.begin():
            assert numbers.first(conn, {"top": 2}) == {"n": 1}
        assert conn.info[_CURSOR] is kept  # one cursor for all of them
        with pytest.raises(DBAPIError), conn.begin():
            broken.all(conn, {})
        assert kept[1].closed and _CURSOR not in conn.info
        with conn.begin():
            assert words.all(conn, {"word": "c"}) == [{"w": "ac"}]
        after_error = conn.info[_CURSOR]
        assert after_error[1] is not kept[1]
        old_driver_connection = conn.connection.dbapi_connection
        conn.invalidate()
        with conn.begin():
            assert numbers.all(conn, {"top": 1}) == [{"n": 1}]
        assert conn.connection.dbapi_connection is not old_driver_connection
        assert conn.info[_CURSOR][0] is conn.connection.dbapi_connection
        assert conn.info[_CURSOR][1] is not after_error[1]
        assert not conn.in_transaction()


def test_postgresql_prepared_alone_runs_on_libpq_and_copes_with_what_psycopg_does(app) -> None:
    """Outside a transaction `db.Prepared` runs on psycopg's libpq wrapper (no cursor): each
    statement prepared once per connection and parameter types (an integer psycopg sends as
    a smallint, then one it sends as a bigint), prepared again once the server forgot it
    (psycopg's DEALLOCATE ALL after a rollback), its errors SQLAlchemy's, a lost connection
    a disconnect (503), and the connection idle after each."""
    if get_engine(app).dialect.name != "postgresql":
        pytest.skip("PostgreSQL's")
    echo = Prepared(text("SELECT :n AS n").columns(n=Integer))
    broken = Prepared(select(text("1")).select_from(text("no_such_table")))
    with get_engine(app).connect() as conn:
        driver = conn.connection.dbapi_connection
        assert echo.all(conn, {"n": 3}) == [{"n": 3}]
        assert echo.all(conn, {"n": 2**40}) == [{"n": 2**40}]
        assert echo.all(conn, {"n": None}) == [{"n": None}]
        assert _CURSOR not in conn.info
        state = conn.info[_LIBPQ]
        assert len(state.names) == 3  # smallint, bigint, unknown
        conn.exec_driver_sql("DEALLOCATE ALL")  # what psycopg sends after a rollback
        conn.commit()
        assert echo.all(conn, {"n": 4}) == [{"n": 4}]
        assert len(state.names) == 1  # prepared again
        with pytest.raises(DBAPIError) as failed:
            broken.all(conn, {})
        assert not failed.value.connection_invalidated
        assert echo.first(conn, {"n": 5}) == {"n": 5}
        assert driver.info.transaction_status == pq.TransactionStatus.IDLE
        assert not conn.in_transaction()
    with get_engine(app).connect() as victim, get_engine(app).connect() as killer:
        pid = victim.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        victim.commit()
        assert echo.first(victim, {"n": 6}) == {"n": 6}
        with killer.begin():
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as lost:
            echo.all(victim, {"n": 7})
        assert lost.value.connection_invalidated
        assert echo.first(victim, {"n": 8}) == {"n": 8}  # a new connection
        # Closed without a word (PostgreSQL stopped): libpq's own error, no SQLSTATE, is
        # SQLAlchemy's OperationalError, as psycopg's cursor raises it (a 503, not a 500).
        driver = victim.connection.dbapi_connection
        with socket.socket(fileno=os.dup(driver.pgconn.socket)) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
        with pytest.raises(OperationalError) as closed:
            echo.all(victim, {"n": 9})
        assert closed.value.connection_invalidated


def test_prepared_alone_commits_a_write_by_itself_and_all_or_nothing(app) -> None:
    """`Prepared.alone`: a statement that writes, outside a transaction, is committed when it
    returns (another connection sees it) and a failing one leaves nothing (one statement is
    atomic); refused inside a transaction."""
    from sqlalchemy.exc import InvalidRequestError

    engine = get_engine(app)
    insert = Prepared(
        (
            text("INSERT INTO alone_probe (n) SELECT unnest(CAST(:ns AS INTEGER[])) RETURNING n")
            if engine.dialect.name == "postgresql"
            else text("INSERT INTO alone_probe (n) VALUES (:n) RETURNING n")
        ).columns(n=Integer)
    )
    count = text("SELECT count(*) FROM alone_probe")
    with engine.connect() as conn, engine.connect() as other:
        with conn.begin():
            conn.execute(text("CREATE TABLE alone_probe (n INTEGER PRIMARY KEY)"))
        try:
            if engine.dialect.name == "postgresql":
                assert insert.alone(conn, {"ns": [1, 2]}) == [{"n": 1}, {"n": 2}]
                assert not conn.in_transaction()
                assert other.execute(count).scalar() == 2
                other.rollback()
                with pytest.raises(IntegrityError):
                    insert.alone(conn, {"ns": [3, 1]})  # 3 is not kept: 1 is taken
            else:
                assert insert.alone(conn, {"n": 1}) == [{"n": 1}]
                assert not conn.in_transaction()
                assert other.execute(count).scalar() == 1
                other.rollback()
            assert not conn.in_transaction()
            expected = 2 if engine.dialect.name == "postgresql" else 1
            assert other.execute(count).scalar() == expected
            other.rollback()
            with pytest.raises(InvalidRequestError), conn.begin():
                insert.alone(conn, {"n": 9, "ns": [9]})
        finally:
            with conn.begin():
                conn.execute(text("DROP TABLE alone_probe"))
