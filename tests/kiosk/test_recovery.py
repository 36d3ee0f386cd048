"""A corrupt database is moved aside (never deleted) and a new one started at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from kiosk import recovery
from kiosk.recovery import integrity_problem, open_store
from kiosk.status import status_lines
from kiosk.store import DELIVERED, Enrollment, LocalStore
from shared.protocol import SubmissionResult
from tests.kiosk.conftest import make_submission

NOW = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)


def test_a_healthy_database_is_opened_as_it_is(tmp_path):
    path = tmp_path / "kiosk.db"
    LocalStore(path).close()
    assert integrity_problem(path) is None
    store = open_store(path, now=NOW)
    try:
        assert store.get_state("store_recovered") is None
    finally:
        store.close()


def test_a_corrupt_database_is_moved_aside_and_a_new_one_started(tmp_path):
    path = tmp_path / "kiosk.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)  # header, then garbage
    assert integrity_problem(path) is not None
    store = open_store(path, now=NOW)
    try:
        event = json.loads(store.get_state("store_recovered"))
        moved = tmp_path / "kiosk.db.corrupt-20261123T101500Z"
        assert event["moved_to"] == str(moved) and event["at"].startswith("2026-11-23T10:15")
        assert moved.read_bytes().endswith(b"\xff" * 100)  # kept, byte for byte
        store.record_submission(make_submission())  # the new one works
        assert store.count() == 1
        assert any("Database: corrupt at start" in line for line in status_lines(store, "0", NOW))
    finally:
        store.close()


def test_enrollment_is_salvaged_when_still_readable(tmp_path, monkeypatch):
    path = tmp_path / "kiosk.db"
    old = LocalStore(path)
    old.set_enrollment(Enrollment("http://server", "dev_1", "tok"))
    old.record_submission(make_submission())
    old.close()
    # A file whose state table still reads while integrity_check reports damage elsewhere.
    monkeypatch.setattr(recovery, "integrity_problem", lambda _path: "row 7 missing from index")
    store = recovery.open_store(path, now=NOW)
    try:
        assert store.get_enrollment() == Enrollment("http://server", "dev_1", "tok")
        assert store.count() == 0  # the taps stay in the moved file, for IT to recover
        assert (tmp_path / "kiosk.db.corrupt-20261123T101500Z").exists()
    finally:
        store.close()


def test_delivered_rows_are_pruned_after_the_retention_period(store):
    old, recent, pending = make_submission(), make_submission(), make_submission()
    store.record_submission(old, now=1_000_000.0)
    store.record_submission(recent, now=1_000_000.0 + 29 * 86400)
    store.record_submission(pending, now=1_000_000.0)
    store.mark_results(
        [SubmissionResult(id=s.id, status="accepted") for s in (old, recent)], now=2_000_000.0
    )
    assert store.prune_delivered(30, now=1_000_000.0 + 31 * 86400) == 1
    assert store.get_submission(old.id) is None
    assert store.get_submission(recent.id).state == DELIVERED
    assert store.get_submission(pending.id) is not None  # never pruned: not delivered
