"""Sending taps to the server and keeping the config current, off the UI thread.

`SyncService` does one thing per method — `upload_pending`, `pull_config`,
`send_heartbeat` — each under one lock, so a scheduled run and a manual one never overlap and
never send the same submission twice. `start` runs them on their intervals, each on a daemon
thread of its own (a loop waiting on an event: APScheduler held ~1.5 MiB of the kiosk's memory
for two fixed intervals); scheduled runs back off exponentially (full jitter, capped) while the
server is failing, manual runs go at once. A 401 marks the device `revoked`: nothing more is
sent and nothing is deleted.

The service knows nothing of Kivy: it tells the app about changes through `listener`, a
function taking one event name (`config_changed`, `revoked`, `synced`, `sync_failed`) that the
app wraps in `Clock.schedule_once`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol, TypeVar

from kiosk import it_pin
from kiosk.api_client import ApiClient, ApiError, UnauthorizedError, WireSubmission
from kiosk.settings import Settings
from kiosk.store import Enrollment, LocalStore
from shared import __version__
from shared.clock import to_rfc3339, utcnow
from shared.protocol import HeartbeatRequest, SubmissionsResponse

log = logging.getLogger(__name__)

APP_VERSION = __version__  # the package version (shared/__init__.py)

#: Stop one upload run after this many batches, so one run never holds the lock for long.
MAX_BATCHES_PER_RUN = 20

ClientFactory = Callable[[Enrollment], ApiClient]
Listener = Callable[[str], None]


class Send(Protocol):
    """`ApiClient.post_submissions` of a batch already encoded."""

    def __call__(self, batch: list[WireSubmission], *, encoded: bytes) -> SubmissionsResponse: ...


T = TypeVar("T")


@dataclass(frozen=True)
class UploadReport:
    """What one `upload_pending` run sent and what the server said."""

    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0

    def __add__(self, other: UploadReport) -> UploadReport:
        return UploadReport(
            sent=self.sent + other.sent,
            accepted=self.accepted + other.accepted,
            duplicate=self.duplicate + other.duplicate,
            rejected=self.rejected + other.rejected,
        )


class Backoff:
    """Exponential backoff with full jitter: wait a random time up to base·2ⁿ, capped."""

    def __init__(
        self, base_s: float = 5.0, cap_s: float = 300.0, rng: random.Random | None = None
    ) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0
        self.next_attempt = 0.0
        self._rng = rng or random.Random()

    def failure(self, now: float | None = None) -> float:
        """Count a failure; returns the delay before the next scheduled attempt."""
        now = time.monotonic() if now is None else now
        ceiling = min(self.cap_s, self.base_s * 2**self.failures)
        self.failures += 1
        delay = self._rng.uniform(0, ceiling)
        self.next_attempt = now + delay
        return delay

    def success(self) -> None:
        self.failures = 0
        self.next_attempt = 0.0

    def ready(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self.next_attempt


class _InFlight:
    """One upload request on a thread of its own, so the kiosk's side of a drain (reading the
    next batch, marking the last) overlaps the server's. Given the request `after` which it
    goes, it waits for that one's answer and is sent at once if it succeeded (no hop through
    the thread that reads and marks: the server is idle meanwhile), or never if it failed."""

    def __init__(
        self, send: Send, batch: list[WireSubmission], after: _InFlight | None = None
    ) -> None:
        self.batch = batch
        self._after = after
        self._response: SubmissionsResponse | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(send,), name="kiosk-upload", daemon=True
        )
        self._thread.start()

    def _run(self, send: Send) -> None:
        try:
            encoded = ApiClient.encode_submissions(self.batch)  # while the one before is away
            if self._after is not None and not self._after.succeeded():
                raise ApiError("not sent: the batch before it failed")
            self._response = send(self.batch, encoded=encoded)
        except BaseException as exc:  # handed to whoever waits for the answer
            self._error = exc

    def join(self) -> None:
        self._thread.join()

    def succeeded(self) -> bool:
        """Wait for the answer; whether there is one (the request raised nothing)."""
        self.join()
        return self._error is None

    def result(self) -> SubmissionsResponse:
        """The server's answer once it came; what the request raised, raised here."""
        if not self.succeeded():
            assert self._error is not None
            raise self._error
        assert self._response is not None
        return self._response


class SyncService:
    """Uploads pending taps, pulls config and sends heartbeats for one store."""

    def __init__(
        self,
        store: LocalStore,
        settings: Settings,
        client_factory: ClientFactory | None = None,
        listener: Listener | None = None,
        app_version: str = APP_VERSION,
    ) -> None:
        self.store = store
        self.settings = settings
        self.client_factory = client_factory or self._default_client
        self.listener = listener or (lambda event: None)
        self.app_version = app_version
        self.backoff = Backoff()
        self._lock = threading.Lock()
        #: Set to stop the scheduled runs; None while they are not running.
        self._stopping: threading.Event | None = None
        #: The scheduled runs' threads, while they run.
        self._threads: list[threading.Thread] = []
        #: The last upload run stopped at MAX_BATCHES_PER_RUN with taps still waiting.
        self._more_pending = False

    def _default_client(self, enrollment: Enrollment) -> ApiClient:
        return ApiClient(enrollment.server_url, enrollment.token, self.settings.http_timeout_s)

    # --- the three jobs -----------------------------------------------------------------------

    def upload_pending(self) -> UploadReport:
        """Send every pending submission, oldest first, in batches; record each result."""
        with self._lock:
            return self._guarded("upload", self._upload_locked) or UploadReport()

    def pull_config(self) -> bool:
        """Fetch the config if it changed (ETag); True when a new one was cached."""
        with self._lock:
            return bool(self._guarded("config", self._pull_config_locked))

    def send_heartbeat(self) -> bool:
        """Report health; pulls the config when the server's ETag differs. True on success."""
        with self._lock:
            return self._guarded("heartbeat", self._heartbeat_locked) is not None

    def sync_now(self) -> UploadReport:
        """Upload, then pull the config: what the scheduler does every interval."""
        with self._lock:
            report = self._guarded("upload", self._upload_locked)
            if report is not None:
                self._guarded("config", self._pull_config_locked)
            return report or UploadReport()

    # --- scheduling ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run sync and heartbeat on their intervals, the first runs at once."""
        if self._stopping is not None:
            return
        stopping = threading.Event()
        self._threads = []
        for name, job, interval_s in (
            ("sync", self._sync_until_drained, self.settings.sync_interval_s),
            ("heartbeat", self.send_heartbeat, self.settings.heartbeat_interval_s),
        ):
            thread = threading.Thread(
                target=self._every,
                args=(name, job, interval_s, stopping),
                name=f"kiosk-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        self._stopping = stopping

    def stop(self, wait_s: float = 0.0) -> None:
        """Stop scheduling; a run in flight finishes on its own (it is a daemon thread).
        With `wait_s`, wait up to that long for runs in flight to end."""
        if self._stopping is not None:
            self._stopping.set()
            self._stopping = None
        deadline = time.monotonic() + wait_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()) if wait_s else 0.0)

    def _every(
        self, name: str, job: Callable[[], object], interval_s: float, stopping: threading.Event
    ) -> None:
        """`job` now and then every `interval_s` from the start of the last run (one that
        overran is followed at once, never twice), skipped while backing off, until stopped."""
        while not stopping.is_set():
            started = time.monotonic()
            if self.backoff.ready():
                try:
                    job()
                except Exception:  # a bug in one run must not end the schedule
                    log.exception("sync: scheduled %s failed", name)
            stopping.wait(max(0.0, interval_s - (time.monotonic() - started)))

    def _sync_until_drained(self) -> None:
        """The scheduled sync: while a run stops at MAX_BATCHES_PER_RUN with taps still
        waiting (a backlog after an outage), the next run goes at once instead of a sync
        interval later; the lock is free between runs, so a heartbeat or a manual sync waits
        for one run at most."""
        self.sync_now()
        while self._more_pending and self._stopping is not None and self.backoff.ready():
            self.sync_now()

    # --- internals (called with the lock held) ------------------------------------------------

    def _guarded(self, what: str, work: Callable[[ApiClient], T]) -> T | None:
        """Run `work` with a client; turn API errors into state, backoff and an event."""
        if self.store.status() != "ok":
            return None
        enrollment = self.store.get_enrollment()
        assert enrollment is not None
        client = self.client_factory(enrollment)
        try:
            result = work(client)
        except UnauthorizedError as exc:
            log.warning("sync: %s refused (401): device revoked; keeping all data", what)
            self.store.set_state(status="revoked", last_error=f"{what}: {exc}")
            self.listener("revoked")
            return None
        except ApiError as exc:
            delay = self.backoff.failure()
            log.warning("sync: %s failed: %s (next try in %.0f s or later)", what, exc, delay)
            self.store.set_state(last_error=f"{what}: {exc}")
            self.listener("sync_failed")
            return None
        finally:
            client.close()
        self.backoff.success()
        return result

    def _upload_locked(self, client: ApiClient) -> UploadReport:
        """Send the pending batches oldest first, one request in flight at a time: while the
        server stores a batch, the next one is read (after the last one sent, so nothing goes
        twice) and waits on its own thread for that answer, and the one before is marked. A
        batch goes only once the one before it was answered, so a failure stops the run with
        nothing more sent; whatever was sent and not marked is still pending and goes again
        (the server answers `duplicate`)."""
        totals = UploadReport()
        self._more_pending = False
        size = self.settings.batch_size
        sent = 0
        batch, last = self.store.pending_batch(size)
        flying = _InFlight(client.post_submissions, batch) if batch else None
        try:
            while flying is not None:
                sent += 1
                following: list[WireSubmission] = []
                if sent < MAX_BATCHES_PER_RUN:
                    following, last = self.store.pending_batch(size, after=last)
                answered = flying
                flying = None
                if following:  # sent as soon as `answered` is answered, if it succeeded
                    flying = _InFlight(client.post_submissions, following, after=answered)
                response = answered.result()  # an ApiError ends the run here
                totals = totals + self._record(answered.batch, response)
        except BaseException:
            if flying is not None:
                flying.join()  # no request outlives the run (and its lock)
            raise
        self._more_pending = sent == MAX_BATCHES_PER_RUN
        pruned, forgotten = self.store.apply_retention(
            self.settings.retention_days, self.settings.comment_retention_days
        )
        if pruned or forgotten:
            log.info("sync: pruned %d delivered taps, removed %d comments", pruned, forgotten)
        self.store.set_state(
            last_sync_at=to_rfc3339(utcnow()),
            last_sync_result=json.dumps(asdict(totals)),
            last_error=None,
        )
        self.listener("synced")
        return totals

    def _record(self, batch: list[WireSubmission], response: SubmissionsResponse) -> UploadReport:
        """Mark a batch's results in the store and log them."""
        self.store.mark_results(response.results)
        statuses = [r.status for r in response.results]
        report = UploadReport(
            sent=len(batch),
            accepted=statuses.count("accepted"),
            duplicate=statuses.count("duplicate"),
            rejected=statuses.count("rejected"),
        )
        log.info(
            "sync: uploaded %d accepted %d duplicate %d rejected %d",
            report.sent,
            report.accepted,
            report.duplicate,
            report.rejected,
        )
        for result in response.results:
            if result.status == "rejected":
                log.warning("sync: %s rejected: %s %s", result.id, result.reason, result.field)
        return report

    def _pull_config_locked(self, client: ApiClient) -> bool:
        config = client.get_config(self.store.config_etag())
        if config is None:
            return False
        self.store.set_config(config)
        log.info("sync: new config %s", config.etag)
        self.listener("config_changed")
        return True

    def _heartbeat_locked(self, client: ApiClient) -> bool:
        oldest = self.store.oldest_pending_at()
        response = client.heartbeat(
            HeartbeatRequest(
                sent_at=utcnow(),
                app_version=self.app_version,
                backlog=self.store.backlog(),
                oldest_pending_at=oldest,
                rejected_count=self.store.rejected_count(),
                last_error=(self.store.get_state("last_error") or "")[:2000] or None,
                config_etag=self.store.config_etag(),
                it_pin_failures=it_pin.failures_in_a_row(self.store),
            )
        )
        # The skew IT sees on the status screen: server clock minus ours, ignoring latency.
        skew = (response.server_time - utcnow()).total_seconds()
        self.store.set_state(clock_skew_s=f"{skew:.1f}", clock_skew_at=to_rfc3339(utcnow()))
        if response.config_etag != self.store.config_etag():
            self._pull_config_locked(client)
        return True
