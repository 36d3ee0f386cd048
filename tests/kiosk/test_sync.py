"""The sync service against a real server over a real socket."""

from __future__ import annotations

import http.server
import json
import logging
import random
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from kiosk.answering import SurveySession
from kiosk.api_client import ApiClient, ServerUnreachableError
from kiosk.enrollment import enroll
from kiosk.settings import Settings
from kiosk.store import Enrollment, LocalStore
from kiosk.sync import Backoff, SyncService
from tests.kiosk.conftest import SURVEY_DEFINITION, config_json, make_submission
from tests.serving import Serving


@pytest.fixture
def ids(live_server, store: LocalStore, tmp_path) -> dict[str, str]:
    """A location, survey and device on the live server; this kiosk enrolled as the device."""
    found = live_server.setup_location(tmp_path)
    enroll(store, live_server.url, found["code"])
    return found


def submission_for(ids: dict[str, str], value: int = 3):
    return make_submission(
        value,
        survey_id=ids["survey_id"],
        survey_version=ids["survey_version"],
        location_id=ids["location_id"],
    )


class CountingClient(ApiClient):
    """An ApiClient that remembers every id it posted (and can be slowed down)."""

    posted: list[str]
    delay_s = 0.0

    def post_submissions(self, batch, **how):
        CountingClient.posted.extend(s.id for s in batch)
        time.sleep(self.delay_s)
        return super().post_submissions(batch, **how)


@pytest.fixture
def counting(settings: Settings):
    CountingClient.posted = []

    def factory(enrollment: Enrollment) -> ApiClient:
        return CountingClient(enrollment.server_url, enrollment.token, settings.http_timeout_s)

    return factory


def test_upload_marks_delivered(ids, store: LocalStore, settings: Settings, caplog):
    subs = [submission_for(ids, v) for v in (1, 2, 3, 4)]
    for sub in subs:
        store.record_submission(sub)
    events: list[str] = []
    sync = SyncService(store, settings, listener=events.append)
    with caplog.at_level(logging.INFO, logger="kiosk.sync"):
        report = sync.upload_pending()
    assert (report.sent, report.accepted, report.duplicate, report.rejected) == (4, 4, 0, 0)
    assert store.backlog() == 0
    assert all(store.get_submission(s.id).state == "delivered" for s in subs)
    assert "sync: uploaded 4 accepted 4 duplicate 0 rejected 0" in caplog.messages
    assert "synced" in events
    assert json.loads(store.get_state("last_sync_result"))["accepted"] == 4
    assert store.get_state("last_error") is None


def test_upload_in_batches_oldest_first(ids, store: LocalStore, settings: Settings, counting):
    subs = [submission_for(ids) for _ in range(7)]
    for i, sub in enumerate(subs):
        store.record_submission(sub, now=time.time() - 100 + i)
    sync = SyncService(store, Settings(settings.data_dir, batch_size=3), client_factory=counting)
    report = sync.upload_pending()
    assert report.accepted == 7
    assert CountingClient.posted == [s.id for s in subs]


def test_duplicate_is_treated_as_delivered(ids, store: LocalStore, settings: Settings):
    sub = submission_for(ids)
    store.record_submission(sub)
    sync = SyncService(store, settings)
    sync.upload_pending()
    # The answer was lost (e.g. the connection dropped after the server committed): resend.
    store.conn.execute("UPDATE submissions SET state = 'pending', delivered_at = NULL")
    report = sync.upload_pending()
    assert (report.accepted, report.duplicate) == (0, 1)
    assert store.get_submission(sub.id).state == "delivered"


def test_rejected_is_kept_aside_with_reason(ids, store: LocalStore, settings: Settings):
    good, bad = submission_for(ids, 2), submission_for(ids, 9)  # the scale is 1..4
    store.record_submission(good)
    store.record_submission(bad)
    report = SyncService(store, settings).upload_pending()
    assert (report.accepted, report.rejected) == (1, 1)
    [rejected] = store.rejected()
    assert rejected.submission.id == bad.id
    assert rejected.reason == "value_out_of_range"
    assert rejected.field
    assert store.backlog() == 0
    assert store.summary()["rejected_count"] == 1


def test_revoked_device_stops_and_deletes_nothing(
    ids, live_server, store: LocalStore, settings: Settings, counting
):
    live_server.cli("revoke-device", ids["device_id"])
    sub = submission_for(ids)
    store.record_submission(sub)
    events: list[str] = []
    sync = SyncService(store, settings, client_factory=counting, listener=events.append)
    assert sync.upload_pending().sent == 0
    assert store.status() == "revoked"
    assert "revoked" in events
    assert store.backlog() == 1
    assert store.get_config() is not None  # the cached config is kept too
    assert "unauthorized" in store.get_state("last_error")
    CountingClient.posted = []
    sync.upload_pending()
    sync.send_heartbeat()
    assert CountingClient.posted == []  # nothing more is sent
    assert store.get_submission(sub.id).state == "pending"


def test_config_pull_uses_the_etag(ids, live_server, store: LocalStore, settings, tmp_path):
    sync = SyncService(store, settings)
    etag = store.config_etag()
    assert etag
    assert sync.pull_config() is False  # 304: the cached one is current
    assert store.config_etag() == etag
    changed = dict(SURVEY_DEFINITION, thank_you={"en": "Cheers!", "pl": "Dzięki!"})
    survey_file = tmp_path / "survey2.json"
    survey_file.write_text(json.dumps(changed))
    live_server.cli("update-survey", ids["survey_id"], "--file", str(survey_file))
    assert sync.pull_config() is True
    assert store.config_etag() != etag
    assert store.get_config().survey.thank_you["en"] == "Cheers!"
    assert store.get_config().survey.version == 2


def test_heartbeat_pulls_a_changed_config(ids, live_server, store, settings, tmp_path):
    events: list[str] = []
    sync = SyncService(store, settings, listener=events.append)
    assert sync.send_heartbeat() is True
    assert "config_changed" not in events
    survey_file = tmp_path / "survey2.json"
    survey_file.write_text(json.dumps(dict(SURVEY_DEFINITION, thank_you={"en": "A", "pl": "B"})))
    live_server.cli("update-survey", ids["survey_id"], "--file", str(survey_file))
    assert sync.send_heartbeat() is True
    assert "config_changed" in events
    assert store.get_config().survey.thank_you["en"] == "A"


def test_one_lock_no_double_send(ids, store: LocalStore, settings: Settings, counting):
    subs = [submission_for(ids) for _ in range(30)]
    for sub in subs:
        store.record_submission(sub)
    CountingClient.delay_s = 0.3
    sync = SyncService(store, Settings(settings.data_dir, batch_size=10), client_factory=counting)
    try:
        threads = [threading.Thread(target=sync.upload_pending) for _ in range(2)]
        threads.append(threading.Thread(target=sync.sync_now))
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        CountingClient.delay_s = 0.0
    assert sorted(CountingClient.posted) == sorted(s.id for s in subs)  # each id sent once
    assert store.backlog() == 0


def test_a_failed_batch_ends_the_run_with_nothing_more_sent(
    ids, store: LocalStore, settings: Settings
):
    """One request in flight at a time: the batch after a failed one is read, never sent;
    the batches answered before it are delivered, the rest stays pending."""
    subs = [submission_for(ids) for _ in range(7)]
    for i, sub in enumerate(subs):
        store.record_submission(sub, now=time.time() - 100 + i)
    posted: list[list[str]] = []

    class FailingSecond(ApiClient):
        def post_submissions(self, batch, **how):
            posted.append([s.id for s in batch])
            if len(posted) == 2:
                raise ServerUnreachableError("dropped")
            return super().post_submissions(batch, **how)

    def factory(enrollment: Enrollment) -> ApiClient:
        return FailingSecond(enrollment.server_url, enrollment.token, settings.http_timeout_s)

    sync = SyncService(store, Settings(settings.data_dir, batch_size=3), client_factory=factory)
    assert sync.upload_pending().sent == 0  # the run failed
    assert posted == [[s.id for s in subs[:3]], [s.id for s in subs[3:6]]]
    assert [store.get_submission(s.id).state for s in subs] == ["delivered"] * 3 + ["pending"] * 4
    assert not [t for t in threading.enumerate() if t.name == "kiosk-upload"]
    assert sync.upload_pending().accepted == 4  # the next run sends the rest
    assert store.backlog() == 0


def test_unreachable_server_backs_off_and_keeps_data(ids, live_server, store, settings):
    live_server.stop()
    store.record_submission(submission_for(ids))
    events: list[str] = []
    sync = SyncService(store, Settings(settings.data_dir, http_timeout_s=2), listener=events.append)
    assert sync.upload_pending().sent == 0
    assert store.backlog() == 1
    assert store.status() == "ok"
    assert "can't reach" in store.get_state("last_error")
    assert sync.backoff.failures == 1
    assert events == ["sync_failed"]


def test_scheduler_starts_and_stops(ids, store: LocalStore, settings: Settings):
    store.record_submission(submission_for(ids))
    sync = SyncService(store, Settings(settings.data_dir, sync_interval_s=60))
    sync.start()
    try:
        deadline = time.monotonic() + 10
        while store.backlog() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.backlog() == 0  # the first run goes at once
    finally:
        sync.stop()


def test_backoff_is_capped_full_jitter():
    backoff = Backoff(base_s=5, cap_s=300, rng=random.Random(7))
    delays = [backoff.failure(now=0) for _ in range(12)]
    assert all(0 <= d <= 300 for d in delays)
    assert max(delays) > 20  # it does grow
    assert not backoff.ready(now=backoff.next_attempt - 0.01)
    assert backoff.ready(now=backoff.next_attempt)
    backoff.success()
    assert backoff.failures == 0 and backoff.ready(now=0)


MALFORMED_CONFIGS = [
    b"not json at all",
    b'{"etag": "x"}',
    b"<html><body>Proxy error</body></html>",
    config_json(
        survey={
            "questions": [
                {"id": "q1", "kind": "smiley", "scale": 9, "text": {"en": "?", "pl": "?"}}
            ]
        }
    ).encode(),
    config_json(kiosk={"idle_reset_s": "soon"}).encode(),
    config_json()[:-40].encode(),  # cut off mid-body
]


class MisbehavingServer:
    """Answers GET /api/v1/config with whatever body the test sets (a real socket)."""

    def __init__(self) -> None:
        self.body = b""
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.serving = Serving(self.httpd)

    def close(self) -> None:
        self.serving.stop()


@pytest.mark.parametrize("body", MALFORMED_CONFIGS)
def test_a_malformed_config_never_replaces_the_last_good_one(store, settings, body) -> None:
    server = MisbehavingServer()
    try:
        store.set_enrollment(Enrollment(server.url, "dev_test", "token"))
        service = SyncService(store, settings)
        server.body = config_json(etag="good").encode()
        assert service.pull_config() is True
        good = store.get_config()
        server.body = body
        assert service.pull_config() is False  # refused and logged, nothing raised
        assert store.get_config() == good
        assert "config" in (store.get_state("last_error") or "")
    finally:
        server.close()


def test_heartbeat_reports_wrong_it_pins_to_the_server(ids, live_server, store, settings):
    from sqlalchemy import create_engine, select

    from kiosk.it_pin import PinGuard, set_pin
    from server.store.schema import devices

    set_pin(store, "246810")
    guard = PinGuard(store, max_failures=5, lockout_s=60)
    for _ in range(3):
        guard.attempt("111111", None)
    assert SyncService(store, settings).send_heartbeat() is True
    engine = create_engine(live_server.database_url)
    try:
        with engine.connect() as conn:
            reported = conn.execute(
                select(devices.c.it_pin_failures).where(devices.c.id == ids["device_id"])
            ).scalar_one()
    finally:
        engine.dispose()
    assert reported == 3


def test_a_kiosk_moved_with_a_backlog_files_old_taps_where_they_were_made(
    ids, live_server, store: LocalStore, settings: Settings
) -> None:
    """Taps carry the touchpoint of the config shown at the tap, not the one at upload."""
    where = {
        name: live_server.cli(
            "create-touchpoint", "--location", ids["location_id"], "--name", name
        )["id"]
        for name in ("Entrance", "Tills")
    }
    sync = SyncService(store, settings)
    assert store.get_config().touchpoint is None  # a server's first config: at none
    untouched = SurveySession(store.get_config(), store).answer(1)
    live_server.cli("move-device", ids["device_id"], "--touchpoint", where["Entrance"])
    assert sync.pull_config() is True
    assert store.get_config().touchpoint.name == "Entrance"
    at_entrance = SurveySession(store.get_config(), store).answer(2)
    live_server.cli("move-device", ids["device_id"], "--touchpoint", where["Tills"])
    assert sync.pull_config() is True
    at_tills = SurveySession(store.get_config(), store).answer(3)
    report = sync.upload_pending()  # the whole backlog goes up after the second move
    assert report.accepted == 3, report
    engine = create_engine(live_server.database_url)
    try:
        with engine.connect() as conn:
            filed = dict(conn.execute(text("SELECT id, touchpoint_id FROM submissions")).all())
    finally:
        engine.dispose()
    assert filed == {
        untouched.id: None,
        at_entrance.id: where["Entrance"],
        at_tills.id: where["Tills"],
    }


def test_scheduled_sync_drains_a_backlog_without_waiting_an_interval_per_run(
    ids, store: LocalStore, settings: Settings, monkeypatch
):
    # A backlog bigger than one run: the next run goes at once, not a sync interval later.
    monkeypatch.setattr("kiosk.sync.MAX_BATCHES_PER_RUN", 2)
    for _ in range(9):
        store.record_submission(submission_for(ids))
    sync = SyncService(store, Settings(settings.data_dir, sync_interval_s=3600, batch_size=2))
    sync.start()
    try:
        deadline = time.monotonic() + 20
        while store.backlog() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.backlog() == 0  # five runs of at most four taps, all within the first
    finally:
        sync.stop()
    assert store.count("delivered") == 9


def test_stop_can_wait_for_the_run_in_flight(ids, store: LocalStore, settings: Settings, counting):
    """`stop(wait_s)` returns once the scheduled runs have ended, an upload in flight
    included, so whoever stops the service next (a server, a test) cuts no request short."""
    store.record_submission(submission_for(ids))
    CountingClient.delay_s = 0.5
    try:
        sync = SyncService(store, settings, client_factory=counting)
        before = set(threading.enumerate())
        sync.start()
        deadline = time.monotonic() + 10
        while not CountingClient.posted and time.monotonic() < deadline:
            time.sleep(0.01)  # polls for the upload to begin
        assert CountingClient.posted
        sync.stop(wait_s=30)
        assert store.backlog() == 0  # the upload in flight finished and was marked
        assert not [t for t in set(threading.enumerate()) - before if t.name.startswith("kiosk-")]
    finally:
        CountingClient.delay_s = 0.0
