"""The local store: durability pragmas, order, transactional results, burst flags."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import pytest

from kiosk.api_client import ApiClient, HttpAnswer
from kiosk.store import OPEN_GRACE_S, Enrollment, LocalStore
from shared.protocol import Answer, Submission, SubmissionResult
from tests.kiosk.conftest import make_config, make_submission


def without_age(pending: list[Submission]) -> list[Submission]:
    """The submissions as recorded: `age_s` is added at upload time."""
    return [p.model_copy(update={"age_s": None}) for p in pending]


def test_wal_and_synchronous_full_are_set(store: LocalStore) -> None:
    assert store.pragma("journal_mode") == "wal"
    assert store.pragma("synchronous") == 2  # FULL


def test_pending_is_oldest_first_and_limited(store: LocalStore) -> None:
    subs = [make_submission(v) for v in (1, 2, 3, 4)]
    for i, sub in enumerate(subs):
        store.record_submission(sub, now=1000.0 + i)
    assert [s.id for s in store.pending(10)] == [s.id for s in subs]
    assert [s.id for s in store.pending(2)] == [s.id for s in subs[:2]]
    assert store.backlog() == 4
    assert store.oldest_pending_at() is not None
    assert store.oldest_pending_at().timestamp() == 1000.0


def test_payload_round_trips(store: LocalStore) -> None:
    sub = make_submission(2)
    store.record_submission(sub)
    assert without_age(store.pending(1)) == [sub]


def test_mark_results_delivers_and_keeps_rejected_aside(store: LocalStore) -> None:
    a, b, c = make_submission(1), make_submission(2), make_submission(3)
    for sub in (a, b, c):
        store.record_submission(sub)
    store.mark_results(
        [
            SubmissionResult(id=a.id, status="accepted"),
            SubmissionResult(id=b.id, status="duplicate"),
            SubmissionResult(
                id=c.id, status="rejected", reason="value_out_of_range", field="answers[0].value"
            ),
        ]
    )
    assert store.pending(10) == []
    assert store.get_submission(a.id).state == "delivered"
    assert store.get_submission(b.id).state == "delivered"
    rejected = store.rejected()
    assert [(r.submission.id, r.reason, r.field) for r in rejected] == [
        (c.id, "value_out_of_range", "answers[0].value")
    ]
    assert store.rejected_count() == 1
    assert store.count() == 3  # nothing deleted


def test_mark_results_is_one_transaction(store: LocalStore) -> None:
    a, b = make_submission(1), make_submission(2)
    store.record_submission(a)
    store.record_submission(b)
    broken = SubmissionResult.model_construct(id=b.id, status="exploded")
    with pytest.raises(ValueError, match="exploded"):
        store.mark_results([SubmissionResult(id=a.id, status="accepted"), broken])
    assert store.get_submission(a.id).state == "pending"
    assert store.backlog() == 2


def test_burst_flags_taps_beyond_the_limit_and_keeps_them(store: LocalStore) -> None:
    flags = [
        store.record_submission(
            make_submission(), burst_max_taps=3, burst_window_s=10, now=100.0 + i
        ).flags
        for i in range(5)
    ]
    assert flags == [[], [], [], ["burst"], ["burst"]]
    stored = store.pending(10)
    assert [s.flags for s in stored] == flags
    # Outside the window again: not flagged.
    later = store.record_submission(
        make_submission(), burst_max_taps=3, burst_window_s=10, now=200.0
    )
    assert later.flags == []


def test_the_burst_check_at_each_tap_reads_an_index_not_the_table(store: LocalStore) -> None:
    plan = store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT count(*) FROM submissions WHERE created_ts > ?", [0.0]
    ).fetchall()
    detail = " ".join(row[-1] for row in plan)
    assert "USING COVERING INDEX" in detail and "created_ts>?" in detail, detail


def test_in_progress_rows_wait_until_finished_or_abandoned(store: LocalStore) -> None:
    sub = make_submission()
    store.record_submission(sub, in_progress=True, now=1000.0)
    assert store.pending(10, now=1001.0) == []
    assert without_age(store.pending(10, now=1000.0 + OPEN_GRACE_S + 1)) == [sub]
    store.finish_submission(sub.id)
    assert without_age(store.pending(10, now=1001.0)) == [sub]


def test_data_survives_reopening(settings, store: LocalStore) -> None:
    sub = make_submission()
    store.record_submission(sub)
    store.set_enrollment(Enrollment("http://server", "dev_1", "tok"))
    store.set_config(make_config())
    store.close()
    reopened = LocalStore(settings.database_path)
    try:
        assert without_age(reopened.pending(10)) == [sub]
        assert reopened.get_enrollment() == Enrollment("http://server", "dev_1", "tok")
        assert reopened.get_config() == make_config()
        assert reopened.config_etag() == "etag-1"
        assert reopened.status() == "ok"
    finally:
        reopened.close()


def test_status_and_summary(store: LocalStore) -> None:
    assert store.status() == "unenrolled"
    store.set_enrollment(Enrollment("http://server", "dev_1", "tok"))
    store.set_state(status="revoked")
    summary = store.summary()
    assert summary["status"] == "revoked"
    assert summary["device_id"] == "dev_1"
    assert summary["backlog"] == 0


def test_pending_carries_each_taps_age_within_one_boot(store: LocalStore) -> None:
    submission = store.record_submission(make_submission())
    time.sleep(0.05)
    (pending,) = store.pending(10)
    assert pending.id == submission.id
    assert pending.age_s is not None and 0.04 <= pending.age_s < 30


def test_age_unknown_after_a_reboot(store: LocalStore) -> None:
    store.record_submission(make_submission())
    store.conn.execute("UPDATE submissions SET boot_id = 'an-earlier-boot'")
    (pending,) = store.pending(10)
    assert pending.age_s is None


def _tap(store: LocalStore, comment: str | None, at: float) -> Submission:
    answers = [Answer(question_id="q1", value=2, comment=comment)]
    return store.record_submission(make_submission(answers=answers), now=at)


def _comment(store: LocalStore, submission_id: str) -> str | None:
    stored = store.get_submission(submission_id)
    assert stored is not None
    return stored.submission.answers[0].comment


def test_comments_leave_the_kiosk_after_its_retention(store: LocalStore) -> None:
    day, start = 86400.0, 1_000_000.0
    delivered, rejected, fresh, offline, plain = (
        _tap(store, "call me on 601 234 567", start),
        _tap(store, "rude", start),
        _tap(store, "fresh", start + 6 * day),
        _tap(store, "waiting to go", start),
        _tap(store, None, start),
    )
    store.mark_results(
        [
            SubmissionResult(id=delivered.id, status="accepted"),
            SubmissionResult(id=fresh.id, status="accepted"),
            SubmissionResult(id=plain.id, status="accepted"),
            SubmissionResult(
                id=rejected.id, status="rejected", reason="unknown_question", field="x"
            ),
        ]
    )
    now = start + 8 * day  # past the 7-day comment retention, within the 30-day one
    assert store.apply_retention(30, 7, now=now) == (0, 2)
    assert _comment(store, delivered.id) is None
    assert _comment(store, rejected.id) is None
    assert _comment(store, fresh.id) == "fresh"  # delivered, but only 2 days old
    assert _comment(store, offline.id) == "waiting to go"  # not delivered yet: kept to send
    assert store.get_submission(delivered.id).state == "delivered"  # the tap itself stays
    raw = store.conn.execute("SELECT group_concat(payload) FROM submissions").fetchone()[0]
    assert "601 234 567" not in raw and "rude" not in raw

    # Undelivered past the whole retention: sent without its comment, never kept longer.
    # (The two delivered taps of day 0 are pruned; `fresh`, 25 days old, loses its comment.)
    assert store.apply_retention(30, 7, now=start + 31 * day) == (2, 2)
    assert _comment(store, offline.id) is None
    assert _comment(store, fresh.id) is None
    assert [s.id for s in store.pending(10, now=start + 31 * day)] == [offline.id]
    assert store.apply_retention(30, 7, now=start + 31 * day) == (0, 0)  # nothing left to do


def test_forgetting_comments_goes_a_batch_at_a_time(store: LocalStore) -> None:
    taps = [_tap(store, f"comment {i}", 1_000.0) for i in range(5)]
    store.mark_results([SubmissionResult(id=t.id, status="accepted") for t in taps])
    assert store.forget_comments(1, 30, now=1_000.0 + 2 * 86400, batch=2) == 5
    assert {_comment(store, t.id) for t in taps} == {None}


def test_pending_wire_sends_what_pending_sends(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload's plain-JSON batch is the batch the models would dump, field for field:
    defaults filled in for payloads stored before a field existed, ages, order."""
    monkeypatch.setattr("kiosk.store.uptime_s", lambda: 5000.0)  # one age for both reads
    subs = [
        make_submission(1, staff_id="stf_a", touchpoint_id="tp_door", flags=["burst"]),
        make_submission(
            2, answers=[Answer(question_id="q1", value=2, reasons=["wait"], comment="Zażółć")]
        ),
        make_submission(3, touchpoint_id=None),
    ]
    for i, sub in enumerate(subs):
        store.record_submission(sub, now=1000.0 + i)
    # A tap an older kiosk stored: no touchpoint, staff, flags or age keys at all.
    legacy = make_submission(4)
    payload = legacy.model_dump(mode="json")
    for name in ("touchpoint_id", "staff_id", "flags", "age_s"):
        del payload[name]
    store.conn.execute(
        "INSERT INTO submissions (id, created_at, created_ts, payload, state, in_progress)"
        " VALUES (?, '2026-01-01T00:00:00Z', 2000, ?, 'pending', 0)",
        [legacy.id, json.dumps(payload)],
    )
    sent: list[Any] = []

    class Capture(ApiClient):
        def _request(self, method: str, path: str, **kwargs: Any) -> HttpAnswer:
            sent.append(kwargs["json"]["submissions"])
            ids = [s["id"] for s in kwargs["json"]["submissions"]]
            results = [{"id": i, "status": "accepted"} for i in ids]
            body = {"server_time": "2026-01-01T00:00:00Z", "results": results}
            return HttpAnswer(200, json.dumps(body).encode())

    client = Capture("http://127.0.0.1:9")
    client.post_submissions(store.pending(10))
    client.post_submissions(store.pending_wire(10))
    as_models, as_wire = sent
    assert [s["id"] for s in as_wire] == [*(s.id for s in subs), legacy.id]
    assert as_wire == as_models
    assert as_wire[3]["touchpoint_id"] is None and as_wire[3]["flags"] == []
    assert as_wire[0]["age_s"] is not None


def test_pending_batch_goes_on_after_the_last_one_read(store: LocalStore) -> None:
    """The upload reads the next batch before the last is marked: it starts after the last
    one's (created_ts, rowid), so taps made in the same instant are neither skipped nor read
    twice, and a tap still in progress is left for a later run."""
    same = [store.record_submission(make_submission(v), now=1000.0) for v in (1, 2, 3)]
    later = store.record_submission(make_submission(4), now=1001.0)
    store.record_submission(make_submission(5), in_progress=True, now=time.time())
    first, after = store.pending_batch(2)
    second, after_second = store.pending_batch(2, after=after)
    assert after is not None and after_second is not None
    assert [s.id for s in first + second] == [s.id for s in [*same, later]]
    assert store.pending_batch(2, after=after_second) == ([], None)
    assert store.backlog() == 5  # reading marks nothing


def test_an_encoded_batch_sends_the_same_body(store: LocalStore) -> None:
    """A batch encoded ahead (`ApiClient.encode_submissions`, while the one before is on its
    way) goes as the same JSON as one encoded when sent; `sent_at` is the clock at sending."""
    for i in range(3):
        store.record_submission(make_submission(i + 1, staff_id="stf_a"), now=1000.0 + i)
    sent: list[dict[str, Any]] = []

    class Capture(ApiClient):
        def _request(self, method: str, path: str, **kwargs: Any) -> HttpAnswer:
            body = kwargs["json"] if kwargs.get("json") is not None else json.loads(kwargs["body"])
            sent.append(body)
            results = [{"id": s["id"], "status": "accepted"} for s in body["submissions"]]
            answer = {"server_time": "2026-01-01T00:00:00Z", "results": results}
            return HttpAnswer(200, json.dumps(answer).encode())

    client = Capture("http://127.0.0.1:9")
    batch = store.pending_wire(10)
    encoded = ApiClient.encode_submissions(batch)
    client.post_submissions(batch)
    client.post_submissions(batch, encoded=encoded)
    plain, ahead = sent
    assert ahead["submissions"] == plain["submissions"]
    assert len(ahead["submissions"]) == 3
    assert datetime.fromisoformat(ahead["sent_at"]) >= datetime.fromisoformat(plain["sent_at"])
