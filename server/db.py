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

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import numpy as np
from flask import Flask, current_app, g
from psycopg import errors as psycopg_errors
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy import ClauseElement, Connection, Engine, Executable, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError, InvalidRequestError
from sqlalchemy.sql.compiler import SQLCompiler

from server import settings

_ENGINE_KEY = "smiletap_engine"
_READ_ONLY = "smiletap_read_only"
_NO_BEGIN = "smiletap_no_begin"
SQLITE_BUSY_TIMEOUT_MS = 15000
#: A pooled PostgreSQL connection unused this long is pinged before it is handed out.
IDLE_PING_S = 5.0
_IDLE_SINCE = "smiletap_idle_since"
_PIPELINE = "smiletap_pipeline"
#: The pool's info name for a PostgreSQL connection's `Prepared` cursor (`_kept_cursor`).
_CURSOR = "smiletap_cursor"
#: `g`'s name for a request's `Checkout` (its `Connection` is `g.db`).
_CHECKOUT = "smiletap_checkout"
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


def add_int32_cells(stored: bytes, added: bytes) -> bytes:
    """Two blobs of little-endian 32-bit integers of one length, added cell by cell."""
    summed: bytes = (np.frombuffer(stored, "<i4") + np.frombuffer(added, "<i4")).tobytes()
    return summed


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so `begin` below decides.
        dbapi_connection.isolation_level = None
        cursor: Any = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: WAL mode at NORMAL syncs only at checkpoints, so a power cut could take back
        # uploads already answered "accepted", which the kiosk then never sends again
        # (DESIGN.md: power loss loses nothing). FULL syncs the WAL at every commit.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()
        # The upsert of packed hour counts adds them cell by cell (server.store.day_hours):
        # SQLite has no function that reads numbers out of a blob.
        dbapi_connection.create_function("add_int32_cells", 2, add_int32_cells, deterministic=True)

    # Writers of this process queue on a lock of their own before asking SQLite for its
    # write lock. SQLite makes a writer that finds the lock taken sleep and retry, for 1, 2,
    # 5, 10 ... up to 100 ms at a time, so under a steady stream of uploads some waited
    # hundreds of ms for a lock that had been free for most of that time; a thread waiting
    # here wakes as soon as the one before it has committed. Other processes' writers still
    # meet SQLite's wait, but there is then at most one writer per process to wait for.
    writers = _WritersLock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(_NO_BEGIN, False):
            return  # `read_once`: the statement runs in SQLite's autocommit mode
        if options.get(_READ_ONLY, False):
            _begin_on_driver(conn, "BEGIN")
            return
        holder = conn.connection.dbapi_connection
        writers.take(holder)
        try:
            _begin_on_driver(conn, "BEGIN IMMEDIATE")
        except BaseException:
            writers.let_go(holder)
            raise

    # Let go once SQLite has ended the transaction (the "commit" and "rollback" events come
    # before it has, when the next writer would still find SQLite's lock taken).
    dialect = engine.dialect
    for name in ("do_commit", "do_rollback"):
        setattr(dialect, name, writers.then_let_go(getattr(dialect, name)))

    # A connection closed or dropped mid-transaction.
    @event.listens_for(engine, "invalidate")
    @event.listens_for(engine, "close")
    def _on_gone(dbapi_connection: Any, *_args: Any) -> None:
        writers.let_go(dbapi_connection)


def _begin_on_driver(conn: Connection, sql: str) -> None:
    """SQLite's BEGIN (`sql`) on the driver's connection, without SQLAlchemy's execution
    around it (`exec_driver_sql`'s context, cursor and result: about half of what SQLAlchemy
    spent beginning and committing a write transaction, 50 us at load 9, on every upload).
    Listeners of `before_cursor_execute` still see it; a driver error (the lock still taken
    past the busy timeout, a full disk) goes through SQLAlchemy's handling, as from
    `exec_driver_sql`."""
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        conn.dispatch.before_cursor_execute(conn, cursor, sql, (), None, False)
        cursor.execute(sql)
    except conn.dialect.loaded_dbapi.Error as exc:
        conn._handle_dbapi_exception(exc, sql, (), cursor, None)
        raise  # not reached: the handler raises
    finally:
        cursor.close()


class _WritersLock:
    """One SQLite engine's lock for its write transactions, held by a DBAPI connection from
    BEGIN IMMEDIATE until its commit or rollback."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holder: Any = None

    def take(self, holder: Any) -> None:
        # Past the busy timeout the transaction goes on without it, and SQLite's own wait
        # decides (503 when it too gives up).
        if self.lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            self.holder = holder

    def let_go(self, holder: Any) -> None:
        if holder is not None and self.holder is holder:
            self.holder = None
            self.lock.release()

    def then_let_go(self, end: Callable[[Any], None]) -> Callable[[Any], None]:
        """The dialect's commit or rollback (given a pool's connection), then let go."""

        def ended(connection: Any) -> None:
            try:
                end(connection)
            finally:
                self.let_go(getattr(connection, "dbapi_connection", None))

        return ended


@contextmanager
def reading(conn: Connection) -> Iterator[Connection]:
    """A transaction that only reads: on SQLite it takes no write lock (a deferred BEGIN)."""
    conn.execution_options(**{_READ_ONLY: True})
    try:
        with conn.begin():
            yield conn
    finally:
        conn.execution_options(**{_READ_ONLY: False})


@contextmanager
def snapshot(conn: Connection) -> Iterator[Connection]:
    """A transaction that only reads and whose statements all see one snapshot, without
    holding back writers.

    SQLite: `reading` (a deferred BEGIN; in WAL mode the first read fixes the snapshot and
    writers commit alongside, though the WAL cannot be checkpointed past it until it ends).
    PostgreSQL: REPEATABLE READ, READ ONLY (at READ COMMITTED each statement would see the
    commits made since the one before). A read-only transaction never fails to serialize.
    """
    if conn.dialect.name == "sqlite":
        with reading(conn):
            yield conn
        return
    conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    try:
        with conn.begin():
            yield conn
    finally:
        conn.execution_options(
            isolation_level=conn.default_isolation_level, postgresql_readonly=False
        )


@contextmanager
def read_once(conn: Connection) -> Iterator[Connection]:
    """Statements that only read, each run alone, without a transaction around them.

    A single statement is atomic on its own (it sees one snapshot), and BEGIN and COMMIT
    cost more than a look-up by key: on PostgreSQL two round trips, on SQLite two calls that
    each give up the GIL. Several statements each see their own snapshot: only for reads
    that need no common one (an upload's judging on SQLite, see `server.api.device`).
    """
    if conn.dialect.name == "sqlite":
        # The sqlite3 module is in autocommit mode already (`isolation_level = None` at
        # connect); only our own BEGIN is left out. No transaction is begun for the block:
        # `Prepared` runs outside one anyway, and a statement SQLAlchemy begins one for
        # (`conn.execute`) gets no BEGIN from SQLite (`_on_begin`), so that empty
        # transaction is only SQLAlchemy's, ended with the block. Beginning and ending one
        # around every block cost about a twentieth of a one-tap upload.
        if conn.in_transaction():
            raise InvalidRequestError("read_once: a transaction is already begun")
        conn.execution_options(**{_NO_BEGIN: True})
        try:
            yield conn
        except BaseException:
            if conn.in_transaction():
                conn.rollback()
            raise
        else:
            if conn.in_transaction():
                conn.commit()
        finally:
            conn.execution_options(**{_NO_BEGIN: False})
        return
    # PostgreSQL: the driver's connection in autocommit for the block, set on it directly
    # (SQLAlchemy's isolation level option, set and reset, cost a tenth of a one-tap upload).
    # As on SQLite no transaction is begun for the block: `Prepared` runs alone anyway, and
    # one SQLAlchemy begins for a `conn.execute` sends no BEGIN in autocommit and is ended
    # with the block (psycopg sends nothing to end it).
    if conn.in_transaction():
        raise InvalidRequestError("read_once: a transaction is already begun")
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    dbapi_connection.autocommit = True
    try:
        yield conn
    except BaseException:
        if conn.in_transaction():
            conn.rollback()
        raise
    else:
        if conn.in_transaction():
            conn.commit()
    finally:
        if not dbapi_connection.closed:  # one lost in the block is the pool's to replace
            dbapi_connection.autocommit = False


class Prepared:
    """A Core SELECT compiled once per dialect and run on the driver's own cursor.

    `conn.execute` spends about 80 µs of Python per statement on SQLite and 190 µs on
    PostgreSQL (execution context, events, result object) around a look-up by key that the
    driver runs in 13 and 60 µs (bench/fleet.py; every device call makes one). Here the
    parameters still go through each bind's type processor and every value through its
    column's result processor, so a row holds what `conn.execute` would give; a driver error
    is handed to SQLAlchemy's own handling (wrapped, the connection and the pool's older
    ones invalidated on a disconnect, as for any statement).

    Inside the connection's transaction it runs in it. Outside one it runs alone, like
    `read_once` (a single statement sees one snapshot): SQLite's driver is in autocommit
    mode already, and on PostgreSQL it goes to libpq itself, outside any transaction
    (`_run_alone_on_libpq`), so none is left open behind SQLAlchemy's back. A statement
    that writes, outside a transaction, goes through `conn.execute`, which begins one as
    for any statement, unless it is run `alone`.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self.writes = bool(getattr(statement, "is_dml", False))
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _Plan(self.statement, dialect)
        return plan

    def all(self, conn: Connection | Checkout, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every row, as dicts by column name (none for a statement that returns none)."""
        if self.writes and not conn.in_transaction():
            # SQLAlchemy begins a transaction for it, which the caller commits.
            conn = conn if isinstance(conn, Connection) else get_db()
            result = conn.execute(self.statement, params)
            return [dict(row) for row in result.mappings()] if result.returns_rows else []
        return self._run(conn, params)

    def _run(self, conn: Connection | Checkout, params: dict[str, Any]) -> list[dict[str, Any]]:
        """`all` on the driver's cursor: in the connection's transaction, or alone."""
        plan = self._plan(conn.dialect)
        postgresql = conn.dialect.name == "postgresql"
        dbapi_connection = conn.connection.dbapi_connection
        assert dbapi_connection is not None
        if (
            postgresql
            and not conn.in_transaction()
            and dbapi_connection.pgconn.transaction_status == _PQ_IDLE
        ):
            return _run_alone_on_libpq(conn, plan, dbapi_connection, params)
        arguments = plan.arguments(params)
        # `driver_cursor`'s work written out: a generator-based context manager costs a few
        # microseconds, on every device call.
        kept = postgresql and not conn.info.get(_PIPELINE)
        cursor: Any = (
            _kept_cursor(conn.info, dbapi_connection) if kept else dbapi_connection.cursor()
        )
        try:
            cursor.execute(plan.sql, arguments)
            if not plan.columns and conn.info.get(_PIPELINE):
                return []  # its outcome arrives at the end of `pipelined`
            # psycopg builds `description` anew (a Column per column, its type looked up) at
            # every access: asked only when the compiled statement names no result columns,
            # and for the first result's converters (`_Plan.rows`).
            returns = bool(plan.columns) or cursor.description is not None
            rows = cursor.fetchall() if returns else []
            return plan.rows(rows, cursor) if rows else []
        except conn.dialect.loaded_dbapi.Error as exc:
            if kept:
                _drop_kept_cursor(conn.info, cursor)
            conn._handle_dbapi_exception(exc, plan.sql, arguments, cursor, None)
            raise  # not reached: the handler raises
        finally:
            if not kept:
                cursor.close()

    def first(self, conn: Connection | Checkout, params: dict[str, Any]) -> dict[str, Any] | None:
        """The first row, or None."""
        rows = self.all(conn, params)
        return rows[0] if rows else None

    def alone(self, conn: Connection, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every row of a statement that writes, run outside a transaction as one that
        commits by itself: a single statement is atomic (its writes all commit or none do).

        PostgreSQL: on libpq outside any transaction, as `all` runs a read alone: no BEGIN
        and no COMMIT, two round trips fewer than a transaction around it (an upload's store
        is one statement, `submissions.insert_many`). SQLite: in a write transaction of its
        own, so it takes this process's writers' lock as any write does.
        """
        if conn.in_transaction():
            raise InvalidRequestError("Prepared.alone: a transaction is already begun")
        if conn.dialect.name != "postgresql":
            with conn.begin():
                return self.all(conn, params)
        return self._run(conn, params)


#: libpq's transaction status of a connection outside any transaction (psycopg's `pq`).
_PQ_IDLE = pq.TransactionStatus.IDLE
#: The pool's info name for a PostgreSQL connection's `_Libpq` (`_run_alone_on_libpq`).
_LIBPQ = "smiletap_libpq"
#: SQLSTATE of a prepared statement the server does not know (invalid_sql_statement_name).
_NO_SUCH_STATEMENT = b"26000"
_statement_names = itertools.count()


class _Libpq:
    """A PostgreSQL driver connection's state for `_run_alone_on_libpq`: the psycopg
    `Transformer` that converts its parameters and rows (the connection's own adapters, as
    its cursors use), and the name of each statement prepared on it, by SQL and parameter
    types (what psycopg keys its own prepared statements by)."""

    __slots__ = ("dbapi_connection", "names", "transformer")

    def __init__(self, dbapi_connection: Any) -> None:
        self.dbapi_connection = dbapi_connection
        self.transformer = Transformer(dbapi_connection)
        self.names: dict[tuple[str, tuple[int, ...]], bytes] = {}


def _run_alone_on_libpq(
    conn: Connection | Checkout, plan: _Plan, dbapi_connection: Any, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """`Prepared` alone on PostgreSQL (outside a transaction): one prepared statement
    executed through psycopg's libpq wrapper (`pq`), its rows converted by psycopg's own
    `Transformer`.

    A psycopg cursor's `execute` and `fetchall` cost about 40 µs of Python around a look-up
    by key, of which libpq's own send, wait (without the GIL) and result take about 15: the
    token look-up, every device call's one statement, and an upload's judging and storing
    each pay it. Outside a transaction libpq runs the statement in a transaction of its
    own, as psycopg's autocommit would, so psycopg's connection is left as it was (idle).
    Parameters go as text with the types psycopg's dumpers give them, as a cursor's would.

    psycopg deallocates every statement prepared on its connection when it rolls a
    transaction back: a statement the server no longer knows is prepared again and run
    once more (outside a transaction its failed run changed nothing). Any other error is
    psycopg's exception for it, handed to SQLAlchemy's handling as for any statement (a
    connection lost is a disconnect).
    """
    info = conn.info
    libpq: _Libpq | None = info.get(_LIBPQ)
    if libpq is None or libpq.dbapi_connection is not dbapi_connection:
        libpq = info[_LIBPQ] = _Libpq(dbapi_connection)
    sql, positions = plan.numbered()
    values = plan.values(params)
    transformer = libpq.transformer
    pgconn = dbapi_connection.pgconn
    try:
        arguments = transformer.dump_sequence(
            [values[name] for name in positions], [PyFormat.TEXT] * len(positions)
        )
        key = (sql, tuple(transformer.types or ()))
        result = _execute_prepared(libpq, pgconn, key, arguments)
        if result.error_field(pq.DiagnosticField.SQLSTATE) == _NO_SUCH_STATEMENT:
            libpq.names.clear()
            result = _execute_prepared(libpq, pgconn, key, arguments)
        _check(result, dbapi_connection)
        if result.status != pq.ExecStatus.TUPLES_OK or not result.ntuples:
            return []
        transformer.set_pgresult(result)
        try:
            rows = transformer.load_rows(0, result.ntuples, tuple)
        finally:
            transformer.set_pgresult(None)
        return plan.rows(rows, lambda: [result.ftype(i) for i in range(result.nfields)])
    except conn.dialect.loaded_dbapi.Error as exc:
        conn._handle_dbapi_exception(exc, sql, values, None, None)
        raise  # not reached: the handler raises


def _execute_prepared(
    libpq: _Libpq, pgconn: Any, key: tuple[str, tuple[int, ...]], arguments: Any
) -> Any:
    """libpq's result of the statement `key` (SQL, parameter types), prepared first on this
    connection when it was not yet."""
    name = libpq.names.get(key)
    if name is None:
        name = f"smiletap_{next(_statement_names)}".encode()
        _check(pgconn.prepare(name, key[0].encode(), key[1]), libpq.dbapi_connection)
        libpq.names[key] = name
    return pgconn.exec_prepared(name, arguments, libpq.transformer.formats)


def _check(result: Any, dbapi_connection: Any) -> None:
    """psycopg's exception for a failed libpq result (what its cursor raises for it)."""
    if result.status == pq.ExecStatus.FATAL_ERROR:
        encoding = dbapi_connection.info.encoding
        if not result.error_field(pq.DiagnosticField.SQLSTATE):
            # libpq's own error, not the server's: the connection lost (a stopped server closes
            # it without a word), which psycopg's cursor raises as OperationalError (a 503).
            raise psycopg_errors.OperationalError(result.get_error_message(encoding))
        raise psycopg_errors.error_from_result(result, encoding=encoding)
    if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        raise psycopg_errors.InterfaceError(f"unexpected result {result.status!r}")


def _kept_cursor(info: dict[Any, Any], dbapi_connection: Any) -> Any:
    """The pooled PostgreSQL connection's own cursor for `Prepared`, made at its first use.

    A psycopg cursor costs about as much to make as the Python side of a look-up by key
    (its adapters, its state): made once per connection and run again, not made per
    statement. It belongs to that driver connection (kept in the pool's info for it, with
    the connection it was made on, so a replaced connection gets a new one) and, like the
    connection, to one request at a time. Each `execute` starts it afresh; every result is
    fetched whole before the statement returns. Not in a pipeline, whose statements' results
    arrive later, each on its own cursor.
    """
    kept = info.get(_CURSOR)
    if kept is not None and kept[0] is dbapi_connection and not kept[1].closed:
        return kept[1]
    cursor = dbapi_connection.cursor()
    info[_CURSOR] = (dbapi_connection, cursor)
    return cursor


def _drop_kept_cursor(info: dict[Any, Any], cursor: Any) -> None:
    """After a driver error: the next statement makes a new cursor (this one is closed)."""
    kept = info.get(_CURSOR)
    if kept is not None and kept[1] is cursor:
        del info[_CURSOR]
    cursor.close()


@contextmanager
def pipelined(conn: Connection) -> Iterator[Connection]:
    """PostgreSQL: the block's `Prepared` statements that return no rows are sent without
    waiting for each one's answer (psycopg's pipeline mode) and all answered at its end: one
    round trip instead of one each (a big upload's rollup upserts, one per table). They run
    in the order sent, in the caller's transaction; the first one that fails raises at the
    end of the block, as SQLAlchemy's error. A statement that returns rows waits for its own
    answer as usual. Elsewhere (SQLite, outside a transaction) it changes nothing.
    """
    if conn.dialect.name != "postgresql" or not conn.in_transaction():
        yield conn
        return
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    # The driver connection's own dict, held here: once a statement in the block has lost
    # the connection, SQLAlchemy refuses to reach it through `conn` (PendingRollbackError),
    # which would replace the disconnect (a 503) with a 500.
    info = conn.info
    try:
        with dbapi_connection.pipeline():
            info[_PIPELINE] = True
            try:
                yield conn
            finally:
                info[_PIPELINE] = False
    except conn.dialect.loaded_dbapi.Error as exc:
        conn._handle_dbapi_exception(exc, "(pipelined statements)", None, None, None)
        raise  # not reached: the handler raises


@contextmanager
def driver_cursor(conn: Connection, sql: str, arguments: Any = None) -> Iterator[Any]:
    """A cursor of the connection's driver, closed after use; a driver error in the block is
    handed to SQLAlchemy's own handling (wrapped as SQLAlchemy's error, and on a disconnect
    the connection and the pool's older ones invalidated), as for `conn.execute`."""
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        yield cursor
    except conn.dialect.loaded_dbapi.Error as exc:
        conn._handle_dbapi_exception(exc, sql, arguments, cursor, None)
        raise  # not reached: the handler raises
    finally:
        cursor.close()


def driver_statement(conn: Connection, statement: Executable) -> tuple[str, Any]:
    """The SQL text and arguments of a Core statement for the connection's driver, for a
    statement run once on its cursor (`Prepared` is for statements run again and again):
    expanding `IN` lists written out one parameter per value, and each value through its
    bind's type processor, as `conn.execute` sends them."""
    compiled = cast(
        SQLCompiler,
        cast(ClauseElement, statement).compile(
            dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
        ),
    )
    params = compiled.construct_params()
    processors = cast(dict[str, Callable[[Any], Any]], compiled._bind_processors)
    for name, process in processors.items():
        if name in params:
            params[name] = process(params[name])
    if compiled.positional:
        return compiled.string, tuple(params[name] for name in compiled.positiontup or ())
    return compiled.string, params


def driver_executemany(conn: Connection, sql: str, rows: list[Any]) -> None:
    """The driver's `executemany` of SQL text with rows of parameters, in the connection's
    transaction (`conn.exec_driver_sql` with the SQLAlchemy execution around it cost as much
    as SQLite's insert of a one-tap upload). Outside a transaction it goes through
    SQLAlchemy, which begins one as for any statement."""
    if not conn.in_transaction():
        conn.exec_driver_sql(sql, rows)
        return
    with driver_cursor(conn, sql, rows) as cursor:
        cursor.executemany(sql, rows)


class _Plan:
    """A statement compiled for one dialect: its SQL, how parameters are passed and
    converted, and each result column's name and converter (found at the first result)."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        self.compilable = cast(ClauseElement, statement)
        compiled = cast(SQLCompiler, self.compilable.compile(dialect=dialect))
        assert not compiled.literal_execute_params and not compiled.post_compile_params
        self.sql = compiled.string
        self._numbered: tuple[str, list[str]] | None = None
        self.positions = compiled.positiontup if compiled.positional else None
        self.defaults = {
            name: bind.value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.callable is None
        }
        self.converters = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type._cached_bind_processor(dialect)) is not None
        }
        self.columns = [(entry[0], entry[3]) for entry in compiled._result_columns or []]
        self.names = [name for name, _type in self.columns]
        self.dialect = dialect
        #: (position, result processor) of the columns that have one, found at the first
        #: result (the driver's description gives each column's type).
        self.converting: list[tuple[int, Callable[[Any], Any]]] | None = None

    def values(self, params: dict[str, Any]) -> dict[str, Any]:
        """Each parameter's value for the driver (defaults filled in, types' converters)."""
        values = {**self.defaults, **params}
        for name, convert in self.converters.items():
            values[name] = convert(values[name])
        return values

    def arguments(self, params: dict[str, Any]) -> Any:
        values = self.values(params)
        if self.positions is None:
            return values
        return tuple(values[name] for name in self.positions)

    def numbered(self) -> tuple[str, list[str]]:
        """PostgreSQL: the SQL with `$1`, `$2` … parameters (libpq's own form), and the
        parameter's name at each number."""
        if self._numbered is None:
            dialect = cast(Any, type(self.dialect))(paramstyle="numeric_dollar")
            compiled = cast(SQLCompiler, self.compilable.compile(dialect=dialect))
            self._numbered = (compiled.string, list(compiled.positiontup or ()))
        return self._numbered

    def rows(self, rows: list[Any], cursor: Any) -> list[dict[str, Any]]:
        """The rows as dicts, each value through its column's result processor; `cursor`
        gives the result's column types (its `description`), or is a callable that does."""
        if self.converting is None:
            if callable(cursor):
                type_codes = cursor()
            else:
                type_codes = [described[1] for described in cursor.description]
            processors = [
                column_type._cached_result_processor(self.dialect, type_code)
                for (_name, column_type), type_code in zip(self.columns, type_codes, strict=True)
            ]
            self.converting = [(i, p) for i, p in enumerate(processors) if p is not None]
        names = self.names
        converting = self.converting
        found = []
        for row in rows:
            values = list(row)
            for i, process in converting:
                values[i] = process(values[i])
            found.append(dict(zip(names, values, strict=True)))
        return found


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
    engine = create_engine(url, connect_args=connect_args)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout only when it sat unused for `IDLE_PING_S`.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: one more round trip on every
    request, a third of a config check's. A connection in steady use proves itself by being
    used; one that idled may have been dropped (a PostgreSQL restart, a firewall's idle
    timeout) and is pinged first, and a failed ping gives a fresh connection. A connection
    that breaks while in use fails that request with 503 (`errors.py`), and SQLAlchemy then
    discards the pool's other connections made before it, so the next requests reconnect.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < IDLE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping's SELECT opened a transaction
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool retries the checkout with a new connection.
            raise DisconnectionError(f"a pooled connection is gone: {exc}") from exc


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


class Checkout:
    """This request's pooled DBAPI connection, checked out without a SQLAlchemy `Connection`.

    A device call whose only statement is the token look-up (a config check answered 304, a
    steady heartbeat) runs it through `Prepared` on this: making and closing a `Connection`
    around the pool's checkout cost about a sixth of such a call. `get_db` wraps the same
    pooled connection in a `Connection` the moment a request needs one, and a driver error
    goes through that `Connection`'s handling (wrapped, a disconnect invalidating the pool's
    older connections), as for any statement. Outside a transaction, as `Prepared` runs.
    """

    __slots__ = ("connection", "dialect", "engine")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        try:
            self.connection = engine.raw_connection()
        except engine.dialect.loaded_dbapi.Error as err:
            # What `Engine.connect` does with it: SQLAlchemy's error (a 503), the pool
            # invalidated on a disconnect.
            Connection._handle_dbapi_exception_noconnection(err, engine.dialect, engine)
            raise  # not reached: the handler raises

    def in_transaction(self) -> bool:
        return False

    @property
    def info(self) -> dict[Any, Any]:
        return self.connection.info

    def _handle_dbapi_exception(
        self, exc: BaseException, statement: str, parameters: Any, cursor: Any, context: Any
    ) -> None:
        get_db()._handle_dbapi_exception(exc, statement, parameters, cursor, context)


def lookup_db() -> Connection | Checkout:
    """This request's `Connection` if it has one, else its pooled connection without one
    (`Checkout`), for statements that `Prepared` runs alone."""
    found: Connection | Checkout | None = g.get("db") or g.get(_CHECKOUT)
    if found is None:
        found = Checkout(get_engine())
        setattr(g, _CHECKOUT, found)
    return found


def get_db() -> Connection:
    """This request's connection, opened on first use and closed at teardown."""
    conn: Connection | None = g.get("db")
    if conn is None:
        checkout: Checkout | None = g.pop(_CHECKOUT, None)
        if checkout is None:
            conn = get_engine().connect()
        else:
            conn = Connection(checkout.engine, connection=checkout.connection)
        g.db = conn
    return conn


def close_db(_exc: BaseException | None = None) -> None:
    """Close this request's connection; an unfinished transaction is rolled back."""
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()
    checkout = g.pop(_CHECKOUT, None)
    if checkout is not None:
        checkout.connection.close()


def init_app(app: Flask) -> None:
    """Close the request's connection when the app context ends."""
    app.teardown_appcontext(close_db)
