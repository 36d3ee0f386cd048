"""Uploads stored but not yet counted in the rollups, and the fold that counts them.

An upload writes its submissions and answers and one `pending_rollups` row per accepted
submission, in its own transaction (`submissions.insert_many`), and no rollup row: a one-tap
upload's 18 row upserts over ten tables were ~200–250 µs of its ~1,400. (A batch of
`ROLLUP_INLINE_FROM` or more new submissions still counts itself, in key order, and marks
nothing: the fold's read-back, ~14 µs a submission on SQLite, costs it more than its own
upserts, ~4 µs, as its taps share few hourly keys; `ingest.store`.) A fold (`fold`) counts
what is pending in one transaction: it takes the pending rows, sums their answers per hourly
key in SQL (`rollups.hourly_counts`, the recomputation narrowed to them), adds those counts to
every rollup table with `rollups.add` (the ingest path before: keys in order, one upsert per
table) and deletes the rows it took. Folded in batches, the same hour's answers of many uploads
are one upsert per table instead of one per upload.

Exactly once. PostgreSQL (READ COMMITTED): `DELETE … RETURNING` claims the rows, so concurrent
folds take disjoint rows (one waits for the other's row locks, then skips the rows it deleted);
no high-water mark of ids, which commit out of order. SQLite: the fold holds the one write lock
(`BEGIN IMMEDIATE`) from its read of the pending rows to its commit. The claim, the counting and
the delete commit together or not at all: a crash or an error leaves the rows pending for the
next fold. Folds upsert rollup rows in key order, table by table in a fixed order, so two folds
wait for each other instead of deadlocking; uploads no longer touch rollup rows at all. A
rebuild, and erasing a location, take `rollups.FOLD_LOCK` exclusively on PostgreSQL (folds
take it shared), and the rebuild empties `pending_rollups` in its own transaction.

When. Every reader of the rollups folds first (`caught_up`, where it gets its connection: the
reports API, the dashboard's pages, digests, alerts, the link report), so it sees every upload
committed before it: when nothing is pending that costs one indexed look-up of the first
row. On SQLite a fold is a write: a reader that cannot get the write lock within the busy
timeout reads without folding rather than failing. And so that pending rows never pile up when
nobody reads, each process folds after every `ROLLUP_FOLD_EVERY` submissions it accepted
(`accepted`, right after that upload's commit) and the scheduler's `fold-rollups` job folds
every `ROLLUP_FOLD_INTERVAL_S`. The rollup check compares the rollups with the answers of
submissions not pending (`rollups.differences`), so it needs no fold; the retention purge folds
in each batch's transaction before it deletes answers.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, String, any_, bindparam, delete, exists, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from server.db import read_once
from server.store import rollups
from server.store.schema import ROLLUP_KEY, answers, pending_rollups, submissions

log = logging.getLogger(__name__)

_ANY_PENDING = select(exists().select_from(pending_rollups))


def any_pending(conn: Connection) -> bool:
    """Whether any submission waits to be counted (the first row of the primary key)."""
    return bool(conn.execute(_ANY_PENDING).scalar())


def _claimed_counts(conn: Connection) -> list[Any]:
    """Take every pending row; the hourly counts of their answers, (ROLLUP_KEY…, count).

    The counting query starts from the taken ids and looks their submissions and answers up
    by key: joined the other way round, SQLite (no statistics) scanned every stored answer.
    """
    s, a = submissions.c, answers.c
    counted = rollups.hourly_counts(answers.join(submissions, a.submission_id == s.id))
    if conn.dialect.name == "postgresql":
        # The ids as one array parameter: the planner knows how few they are and looks each up
        # (a CTE of the DELETE gave it no estimate to trust).
        taken = list(conn.execute(_PG_CLAIM).scalars())
        if not taken:
            return []
        ids = bindparam("ids", taken, type_=postgresql.ARRAY(String))
        return list(conn.execute(counted.where(s.id == any_(ids))))
    # SQLite: the caller's transaction holds the write lock, so the rows read are the rows
    # deleted.
    found = list(conn.execute(counted.where(s.id.in_(select(pending_rollups.c.submission_id)))))
    conn.execute(delete(pending_rollups))
    return found


_PG_CLAIM = delete(pending_rollups).returning(pending_rollups.c.submission_id)


def fold(conn: Connection) -> int:
    """Count every pending submission in the rollups, in the caller's write transaction;
    the number of answers counted."""
    if not any_pending(conn):
        return 0
    rollups.lock_folds(conn, exclusive=False)
    width = len(ROLLUP_KEY)
    counted = Counter({tuple(row[:width]): int(row[width]) for row in _claimed_counts(conn)})
    rollups.add(conn, counted)
    return counted.total()


def caught_up(conn: Connection) -> Connection:
    """`conn` (outside a transaction) once every upload committed so far is in the rollups:
    what a reader of the rollups calls before it begins its transaction.

    Nothing pending (the usual case) costs one look-up; else a fold in a transaction of its
    own. On SQLite, a fold that cannot get the write lock in time (the busy timeout) is left
    to the next reader: this one reads the rollups as they are instead of failing.
    """
    with read_once(conn):
        pending = any_pending(conn)
    if not pending:
        return conn
    try:
        with conn.begin():
            fold(conn)
    except OperationalError:
        if conn.dialect.name != "sqlite":
            raise
        log.warning("rollups not folded before a read: the write lock stayed busy")
    return conn


@contextmanager
def begin_caught_up(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` for a reader of the rollups: a connection `caught_up` first."""
    with engine.connect() as conn:
        caught_up(conn)
        with conn.begin():
            yield conn


class _Accepted:
    """Submissions this process accepted since it last folded (`accepted`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def add(self, n: int, every: int) -> bool:
        """Count n more; True (and start again) when `every` is reached."""
        with self.lock:
            self.count += n
            if self.count < every:
                return False
            self.count = 0
            return True


_accepted = _Accepted()


def accepted(conn: Connection, n: int, every: int) -> None:
    """After an upload committed `n` new submissions: fold when this process has accepted
    `every` since its last fold (0: after every upload), so pending rows stay few even when
    nobody reads. `conn` is outside a transaction. The upload is committed already: a fold
    that fails is logged, and its rows wait for the next one."""
    if n and _accepted.add(n, every):
        try:
            caught_up(conn)
        except SQLAlchemyError:
            log.exception("folding the rollups after an upload failed; the next fold retries")
