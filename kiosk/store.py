"""The kiosk's local store: every tap, its delivery state, and the device's own state.

One SQLite file in WAL mode with `synchronous=FULL`, so a tap that `record_submission` has
returned is on disk and survives a power cut. The UI thread and the sync thread share one
connection behind a lock; each write is its own committed transaction.

Tables:

- `submissions`: one row per customer, keyed by the id made at the first tap. `payload` is the
  `shared.protocol.Submission` body; `state` is `pending`, `delivered` or `rejected` (kept
  aside with the server's `reason` and `field`, never deleted). Delivered rows are pruned
  after the retention period (`prune_delivered`); comments go earlier (`forget_comments`):
  a delivered or rejected tap's after the comment retention, an undelivered tap's after the
  whole retention (it is then sent without it). `apply_retention` does both.
  `in_progress` is 1 while the customer is still answering later questions; such a row is
  not uploaded until it is finished or has been left alone for `OPEN_GRACE_S` (so a crash
  mid-survey still delivers the first tap).
- `state`: key/value pairs for enrollment, the cached config and the last sync outcome.

The schema is made and changed by the named migrations in `kiosk.migrations`, recorded in
the database's `_sqlite_migrations` table. The store itself is plain `sqlite3`: sqlite-utils
is loaded only while a migration runs (see `kiosk.migrations` for why).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk import migrations
from kiosk.api_client import SUBMISSION_DEFAULTS, WireSubmission
from kiosk.uptime import age_between, boot_id, uptime_s
from shared.clock import to_rfc3339
from shared.protocol import ConfigResponse, Submission, SubmissionResult

#: An unfinished submission is uploaded anyway once it has been open this long.
OPEN_GRACE_S = 300.0

PENDING = "pending"
DELIVERED = "delivered"
REJECTED = "rejected"

#: Where a pending submission stands in upload order: its `(created_ts, rowid)`.
PendingKey = tuple[float, int]


@dataclass(frozen=True)
class Enrollment:
    """Who this device is to which server."""

    server_url: str
    device_id: str
    token: str


@dataclass(frozen=True)
class StoredSubmission:
    """A row of `submissions`, with its payload parsed."""

    submission: Submission
    state: str
    created_at: str
    reason: str | None = None
    field: str | None = None
    delivered_at: str | None = None


def _without_comments(payload: str) -> str:
    """A stored submission's payload with every comment removed."""
    submission = Submission.model_validate_json(payload)
    answers = [answer.model_copy(update={"comment": None}) for answer in submission.answers]
    return submission.model_copy(update={"answers": answers}).model_dump_json()


class LocalStore:
    """The kiosk's SQLite database (see the module docstring for its tables)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        # Autocommit: a statement outside `_atomic` is its own committed transaction.
        self.conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=wal")
        self.conn.execute("PRAGMA synchronous=FULL")
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self.conn

    @contextmanager
    def _atomic(self) -> Iterator[sqlite3.Connection]:
        """The block's statements as one committed transaction (rolled back if it raises)."""
        with self._lock:
            self.conn.execute("BEGIN")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        """Bring the schema up to date: the migrations this database has not recorded yet."""
        with self._locked() as conn:
            if migrations.pending(conn):
                migrations.apply(self.path)

    # --- pragmas (read back by tests and the status command) ---------------------------------

    def pragma(self, name: str) -> Any:
        """The current value of a SQLite pragma, e.g. `journal_mode`."""
        with self._locked() as db:
            return db.execute(f"PRAGMA {name}").fetchone()[0]

    # --- submissions --------------------------------------------------------------------------

    def record_submission(
        self,
        submission: Submission,
        *,
        in_progress: bool = False,
        burst_max_taps: int | None = None,
        burst_window_s: float | None = None,
        now: float | None = None,
    ) -> Submission:
        """Commit a new submission to disk and return it as stored (maybe flagged `burst`).

        More than `burst_max_taps` submissions within `burst_window_s` on this device: the new
        one is flagged `burst` and kept.
        """
        now = time.time() if now is None else now
        with self._atomic() as db:
            if burst_max_taps is not None and burst_window_s is not None:
                recent = db.execute(
                    "SELECT count(*) FROM submissions WHERE created_ts > ?",
                    [now - burst_window_s],
                ).fetchone()[0]
                if recent >= burst_max_taps and "burst" not in submission.flags:
                    submission = submission.model_copy(
                        update={"flags": [*submission.flags, "burst"]}
                    )
            # A plain statement: Table.insert() looks the schema up (three sqlite_master reads
            # and a savepoint) at every tap, the kiosk's hottest write.
            db.execute(
                "INSERT INTO submissions (id, created_at, created_ts, payload, state,"
                " in_progress, boot_id, uptime_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    submission.id,
                    to_rfc3339(datetime.fromtimestamp(now, UTC)),
                    now,
                    submission.model_dump_json(),
                    PENDING,
                    int(in_progress),
                    boot_id(),
                    uptime_s(),
                ],
            )
        return submission

    def update_submission(self, submission: Submission, *, in_progress: bool = False) -> None:
        """Replace the payload of a submission not yet sent (a later answer, or finishing)."""
        with self._atomic() as db:
            db.execute(
                "UPDATE submissions SET payload = ?, in_progress = ? WHERE id = ? AND state = ?",
                [submission.model_dump_json(), int(in_progress), submission.id, PENDING],
            )

    def finish_submission(self, submission_id: str) -> None:
        """Mark a submission as complete, so the next upload sends it."""
        with self._locked() as db:
            db.execute("UPDATE submissions SET in_progress = 0 WHERE id = ?", [submission_id])

    def finish_all(self) -> int:
        """Finish every in-progress submission (at start-up nobody can still be answering)."""
        with self._locked() as db:
            return db.execute(
                "UPDATE submissions SET in_progress = 0 WHERE in_progress = 1"
            ).rowcount

    def _pending_rows(
        self, limit: int, now: float | None, after: PendingKey | None = None
    ) -> list[Any]:
        """(id, payload, boot id, uptime, created_ts, rowid) of up to `limit` submissions due
        for delivery, oldest first: complete ones, and ones left in progress longer than the
        grace time; only those after `after` (a row's `(created_ts, rowid)`) when given."""
        now = time.time() if now is None else now
        later, params = "", [PENDING, now - OPEN_GRACE_S]
        if after is not None:
            later = " AND (created_ts, rowid) > (?, ?)"  # the (state, created_ts) index's order
            params.extend(after)
        with self._locked() as db:
            return db.execute(
                "SELECT id, payload, boot_id, uptime_s, created_ts, rowid FROM submissions"
                " WHERE state = ? AND (in_progress = 0 OR created_ts < ?)"
                + later
                + " ORDER BY created_ts, rowid LIMIT ?",
                [*params, limit],
            ).fetchall()

    def pending(self, limit: int, *, now: float | None = None) -> list[Submission]:
        """Up to `limit` submissions waiting for delivery, oldest first, each with its age."""
        rows = self._pending_rows(limit, now)
        now_boot, now_up = boot_id(), uptime_s()
        return [
            Submission.model_validate_json(payload).model_copy(
                update={"age_s": age_between(boot, up, now_boot, now_up)}
            )
            for _sid, payload, boot, up, _ts, _rowid in rows
        ]

    def pending_wire(self, limit: int, *, now: float | None = None) -> list[WireSubmission]:
        """What `pending` returns, in the form an upload sends: each stored payload read as
        plain JSON, every field the model defaults filled in (`SUBMISSION_DEFAULTS`), its age
        set. No model is built: a backlog of 100,000 taps drains without parsing each one
        into a `Submission` and dumping it again (the server validates every item anyway)."""
        return self.pending_batch(limit, now=now)[0]

    def pending_batch(
        self, limit: int, *, after: PendingKey | None = None, now: float | None = None
    ) -> tuple[list[WireSubmission], PendingKey | None]:
        """`pending_wire`'s batch, only of the submissions after `after`, and the key of its
        last one (None when empty): an upload reads the next batch while the previous one is
        still on its way, before its results are marked (`kiosk.sync`)."""
        rows = self._pending_rows(limit, now, after)
        now_boot, now_up = boot_id(), uptime_s()
        loads = json.loads
        batch = [
            WireSubmission(
                sid,
                {
                    **SUBMISSION_DEFAULTS,
                    **loads(payload),
                    "age_s": age_between(boot, up, now_boot, now_up),
                },
            )
            for sid, payload, boot, up, _ts, _rowid in rows
        ]
        return batch, (rows[-1][4], rows[-1][5]) if rows else None

    def mark_results(
        self, results: Iterable[SubmissionResult], *, now: float | None = None
    ) -> None:
        """Apply the server's results in one transaction: all of them or none."""
        delivered_at = to_rfc3339(datetime.fromtimestamp(time.time() if now is None else now, UTC))
        delivered, rejected = [], []
        for result in results:
            if result.status in ("accepted", "duplicate"):
                delivered.append((DELIVERED, delivered_at, result.id, PENDING))
            elif result.status == "rejected":
                rejected.append((REJECTED, result.reason, result.field, result.id, PENDING))
            else:
                raise ValueError(f"unknown result status {result.status!r}")
        # One statement per kind for the whole batch: a 500-tap batch is one short write
        # transaction, so a tap on the screen waits for the lock less while a backlog drains.
        with self._atomic() as db:
            db.executemany(
                "UPDATE submissions SET state = ?, delivered_at = ?, reason = NULL,"
                " field = NULL WHERE id = ? AND state = ?",
                delivered,
            )
            db.executemany(
                "UPDATE submissions SET state = ?, reason = ?, field = ?"
                " WHERE id = ? AND state = ?",
                rejected,
            )

    def prune_delivered(self, retention_days: float, *, now: float | None = None) -> int:
        """Delete delivered submissions recorded more than `retention_days` ago; how many."""
        now = time.time() if now is None else now
        with self._atomic() as db:
            return db.execute(
                "DELETE FROM submissions WHERE state = ? AND created_ts < ?",
                [DELIVERED, now - retention_days * 86400],
            ).rowcount

    def forget_comments(
        self,
        comment_retention_days: float,
        pending_cap_days: float,
        *,
        now: float | None = None,
        batch: int = 500,
    ) -> int:
        """Remove the comments of taps older than their limit from their stored payloads:
        `comment_retention_days` for delivered and rejected taps, `pending_cap_days` for
        undelivered ones; how many taps lost a comment. A batch per transaction, so a tap
        on the screen never waits long for the lock."""
        now = time.time() if now is None else now
        forgotten = 0
        while True:
            with self._atomic() as db:
                rows = db.execute(
                    "SELECT id, payload FROM submissions WHERE instr(payload, ?)"
                    " AND ((state IN (?, ?) AND created_ts < ?) OR (state = ? AND created_ts < ?))"
                    " LIMIT ?",
                    [
                        '"comment":"',  # a comment with text, as model_dump_json writes it
                        DELIVERED,
                        REJECTED,
                        now - comment_retention_days * 86400,
                        PENDING,
                        now - pending_cap_days * 86400,
                        batch,
                    ],
                ).fetchall()
                changed = [
                    (stripped, sid)
                    for sid, payload in rows
                    if (stripped := _without_comments(payload)) != payload
                ]
                db.executemany("UPDATE submissions SET payload = ? WHERE id = ?", changed)
            forgotten += len(changed)
            if len(rows) < batch or not changed:
                return forgotten

    def apply_retention(
        self, retention_days: float, comment_retention_days: float, *, now: float | None = None
    ) -> tuple[int, int]:
        """Prune delivered taps and forget comments past their retention; (pruned, forgotten)."""
        pruned = self.prune_delivered(retention_days, now=now)
        forgotten = self.forget_comments(comment_retention_days, retention_days, now=now)
        return pruned, forgotten

    def get_submission(self, submission_id: str) -> StoredSubmission | None:
        """One stored submission with its delivery state, or None."""
        with self._locked() as db:
            row = db.execute(
                "SELECT payload, state, created_at, reason, field, delivered_at"
                " FROM submissions WHERE id = ?",
                [submission_id],
            ).fetchone()
        if row is None:
            return None
        payload, state, created_at, reason, field, delivered_at = row
        return StoredSubmission(
            submission=Submission.model_validate_json(payload),
            state=state,
            created_at=created_at,
            reason=reason,
            field=field,
            delivered_at=delivered_at,
        )

    def rejected(self) -> list[StoredSubmission]:
        """Submissions the server refused, with its reasons, oldest first."""
        with self._locked() as db:
            ids = [
                row[0]
                for row in db.execute(
                    "SELECT id FROM submissions WHERE state = ? ORDER BY created_ts, rowid",
                    [REJECTED],
                )
            ]
        return [s for s in map(self.get_submission, ids) if s is not None]

    def count(self, state: str | None = None) -> int:
        """How many submissions there are (in one state, or all)."""
        with self._locked() as db:
            if state is None:
                row = db.execute("SELECT count(*) FROM submissions").fetchone()
            else:
                row = db.execute(
                    "SELECT count(*) FROM submissions WHERE state = ?", [state]
                ).fetchone()
            return int(row[0])

    def backlog(self) -> int:
        """How many submissions are waiting for delivery."""
        return self.count(PENDING)

    def rejected_count(self) -> int:
        return self.count(REJECTED)

    def oldest_pending_at(self) -> datetime | None:
        """When the oldest undelivered submission was recorded, or None."""
        with self._locked() as db:
            row = db.execute(
                "SELECT min(created_ts) FROM submissions WHERE state = ?", [PENDING]
            ).fetchone()
        return None if row[0] is None else datetime.fromtimestamp(row[0], UTC)

    # --- key/value state ----------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        with self._locked() as db:
            row = db.execute("SELECT value FROM state WHERE key = ?", [key]).fetchone()
        return None if row is None else row[0]

    def set_state(self, **values: str | None) -> None:
        """Set several keys in one transaction (None deletes a key)."""
        with self._atomic() as db:
            for key, value in values.items():
                if value is None:
                    db.execute("DELETE FROM state WHERE key = ?", [key])
                else:
                    db.execute(
                        "INSERT INTO state (key, value) VALUES (?, ?)"
                        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        [key, value],
                    )

    def get_enrollment(self) -> Enrollment | None:
        """The stored enrollment, or None if this device was never enrolled."""
        server_url = self.get_state("server_url")
        device_id = self.get_state("device_id")
        token = self.get_state("token")
        if not (server_url and device_id and token):
            return None
        return Enrollment(server_url=server_url, device_id=device_id, token=token)

    def set_enrollment(self, enrollment: Enrollment) -> None:
        """Store a new enrollment; a previous device's cached config and status are dropped."""
        self.set_state(
            server_url=enrollment.server_url,
            device_id=enrollment.device_id,
            token=enrollment.token,
            status="ok",
            config=None,
            config_etag=None,
        )

    def get_config(self) -> ConfigResponse | None:
        """The last config pulled from the server, or None."""
        text = self.get_state("config")
        return None if text is None else ConfigResponse.model_validate_json(text)

    def config_etag(self) -> str | None:
        return self.get_state("config_etag")

    def set_config(self, config: ConfigResponse, etag: str | None = None) -> None:
        """Cache a pulled config (and its ETag) on disk."""
        self.set_state(config=config.model_dump_json(), config_etag=etag or config.etag)

    def status(self) -> str:
        """`ok`, `revoked` (the server answered 401) or `unenrolled`."""
        if self.get_enrollment() is None:
            return "unenrolled"
        return self.get_state("status") or "ok"

    def summary(self) -> dict[str, Any]:
        """Everything the status command and the IT status screen show."""
        enrollment = self.get_enrollment()
        oldest = self.oldest_pending_at()
        config = self.get_config()
        last_result = self.get_state("last_sync_result")
        return {
            "status": self.status(),
            "server_url": enrollment.server_url if enrollment else None,
            "device_id": enrollment.device_id if enrollment else None,
            "backlog": self.backlog(),
            "oldest_pending_at": to_rfc3339(oldest) if oldest else None,
            "rejected_count": self.rejected_count(),
            "delivered_count": self.count(DELIVERED),
            "last_sync_at": self.get_state("last_sync_at"),
            "last_sync_result": json.loads(last_result) if last_result else None,
            "last_error": self.get_state("last_error"),
            "config_etag": self.config_etag(),
            "survey": (
                {"id": config.survey.id, "version": config.survey.version}
                if config and config.survey
                else None
            ),
        }
