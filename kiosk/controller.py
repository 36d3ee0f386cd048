"""The kiosk's behaviour as a plain-Python state machine: which screen shows, and when.

`KioskController` owns every decision the kiosk makes: the screen (`Screen`) picked from the
stored state (enrolled, revoked, configured, open by the location's opening hours, the store
taking writes), the customer's steps (question → follow-up → comment → staff → thanks, as the
`SurveySession` queues them), the timers (thank-you, idle reset, IT idle, the corner's long
press, the opening-hours check, the store probe, the status refresh), sync events, the PIN
pad (through `kiosk.it_pin.PinGuard`) and IT's status actions. It knows nothing of Kivy: the
time comes from an injected `KioskClock` and everything it shows goes through `KioskView`
(both in `kiosk.view`).

Timers are deadlines on the clock's monotonic time. Whenever the earliest one changes the
controller asks the view to `wake_in` that many seconds; the view then calls `tick()`, which
fires whatever is due. A test advances a fake clock and calls `tick()`.

Logged at INFO for the end-to-end tests: `screen: <name>`, `tap recorded <id> value=<v>`,
`reasons recorded <id> reasons=<a,b>`, `comment recorded <id>`, `staff recorded <id>
staff=<staff id or ->`, `language: <code>`, `idle: ...`, `it: ...`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from kiosk import enrollment
from kiosk.answering import Step, SurveySession
from kiosk.api_client import InvalidCodeError, ProtocolError, ServerUnreachableError
from kiosk.it_pin import PinGuard, PinVerdict, pin_is_set
from kiosk.settings import Settings
from kiosk.status import status_report
from kiosk.store import LocalStore
from kiosk.sync import APP_VERSION, SyncService
from kiosk.ui import words
from kiosk.view import KioskClock, KioskView, Screen, SystemClock
from shared.clock import to_rfc3339
from shared.opening_hours import is_open
from shared.protocol import ConfigResponse, Submission

log = logging.getLogger("kiosk")

#: While the store refuses writes (a full disk), try one small write this often.
STORE_PROBE_S = 5.0
#: How often the kiosk checks whether the store just opened or closed.
OPENING_HOURS_CHECK_S = 60.0
#: How often the status screen re-reads the store while it is shown.
STATUS_REFRESH_S = 5.0

#: Screens a customer is in the middle of: a touch there restarts the idle timer.
CUSTOMER_SCREENS = frozenset({Screen.QUESTION, Screen.FOLLOWUP, Screen.COMMENT, Screen.STAFF})
#: IT's screens (and setup when re-enrolling) go back to the customer after `it_idle_s`.
IT_SCREENS = frozenset({Screen.PIN, Screen.STATUS, Screen.SETUP})
#: Where nobody is answering: a new config or the opening hours may change the screen.
IDLE_SCREENS = frozenset({Screen.WAITING, Screen.CLOSED, Screen.SETUP})


class Timer(StrEnum):
    """The controller's timers (at most one of each runs)."""

    THANKS = "thanks"
    IDLE = "idle"
    LONG_PRESS = "long_press"
    OPENING_HOURS = "opening_hours"
    STORE_PROBE = "store_probe"
    STATUS_REFRESH = "status_refresh"


class KioskController:
    """The kiosk's state machine (see the module docstring); `view` shows what it decides."""

    def __init__(
        self,
        settings: Settings,
        store: LocalStore,
        sync: SyncService,
        view: KioskView,
        *,
        clock: KioskClock | None = None,
        start_sync: bool = True,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sync = sync
        self.view = view
        self.clock: KioskClock = clock or SystemClock()
        self.start_sync = start_sync
        self.pin_guard = PinGuard(
            store,
            max_failures=settings.pin_max_failures,
            lockout_s=settings.pin_lockout_s,
            clock=lambda: self.clock.utcnow().timestamp(),  # wall time: the lock outlives a restart
        )
        self.screen: Screen | None = None
        #: The answers of the customer at the kiosk now (None when nobody can answer).
        self.session: SurveySession | None = None
        #: Why the store refused the last write, while it still does; taps pause meanwhile.
        self.write_problem: str | None = None
        #: Running timers: when each is due, on the clock's monotonic time.
        self.timers: dict[Timer, float] = {}
        self.status_busy = False

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """The kiosk starts: tidy the store, show the first screen, check the hours."""
        self.store.finish_all()  # rows left open by a crash mid-survey can be sent now
        pruned, forgotten = self.store.apply_retention(
            self.settings.retention_days, self.settings.comment_retention_days
        )
        if pruned or forgotten:
            log.info("store: pruned %d delivered taps, removed %d comments", pruned, forgotten)
        self.refresh()
        self._set_timer(Timer.OPENING_HOURS, OPENING_HOURS_CHECK_S)
        if self.start_sync:
            self.sync.start()

    def stop(self) -> None:
        """The kiosk stops: no timer fires any more; the customer's answers can go out."""
        self.sync.stop()
        self.timers.clear()
        self.view.wake_in(None)
        self.end_session()

    # --- timers -------------------------------------------------------------------------------

    def tick(self) -> None:
        """Fire every timer that is due (the view calls this when `wake_in` says)."""
        now = self.clock.monotonic()
        for timer, due in sorted(self.timers.items(), key=lambda item: item[1]):
            if due <= now and self.timers.get(timer) == due:
                del self.timers[timer]
                self._fire(timer)
        self._wake()

    def next_wake_s(self) -> float | None:
        """Seconds until the earliest timer is due (None: no timer is running)."""
        if not self.timers:
            return None
        return max(0.0, min(self.timers.values()) - self.clock.monotonic())

    def _fire(self, timer: Timer) -> None:
        if timer is Timer.THANKS:
            self.refresh()
        elif timer is Timer.IDLE:
            self._on_idle()
        elif timer is Timer.LONG_PRESS:
            log.info("it: long press in the corner")
            self.open_pin_pad()
        elif timer is Timer.OPENING_HOURS:
            self._set_timer(Timer.OPENING_HOURS, OPENING_HOURS_CHECK_S)
            self._check_opening_hours()
        elif timer is Timer.STORE_PROBE:
            self._probe_store()
        elif timer is Timer.STATUS_REFRESH:
            self._set_timer(Timer.STATUS_REFRESH, STATUS_REFRESH_S)
            self._update_status()

    def _set_timer(self, timer: Timer, seconds: float) -> None:
        self.timers[timer] = self.clock.monotonic() + seconds
        self._wake()

    def _cancel_timer(self, timer: Timer) -> None:
        if self.timers.pop(timer, None) is not None:
            self._wake()

    def _wake(self) -> None:
        self.view.wake_in(self.next_wake_s())

    # --- what to show -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Pick the screen from the stored state: setup, waiting, closed or the first question."""
        status = self.store.status()
        config = self.store.get_config()
        self.view.use_language("en")  # the kiosk's own language until a survey says otherwise
        if self.write_problem:
            self._show_waiting(words.UNAVAILABLE)
        elif status == "unenrolled":
            self.view.fill_setup(can_cancel=False, server_url=None)  # nothing to go back to
            self._show(Screen.SETUP)
        elif status == "revoked":
            self._show_waiting(words.OUT_OF_SERVICE)
        elif config is None or config.survey is None:
            self._show_waiting(words.SETTING_UP)
        elif not self.open_now(config):
            self.end_session()  # no customer until opening time
            self.view.use_language(config.survey.default_language)
            self._show(Screen.CLOSED)
        else:
            self._start_session(config)

    def open_now(self, config: ConfigResponse) -> bool:
        """Whether the location is open now, by its own clock (always, without hours)."""
        location = config.location
        return is_open(location.opening_hours, self.clock.utcnow(), location.timezone)

    def _show(self, screen: Screen) -> None:
        """Switch screens; the idle timer follows (customer and IT screens only)."""
        if screen != self.screen:
            log.info("screen: %s", screen)
        self.screen = screen
        self.view.show(screen)
        if screen != Screen.THANKS:
            self._cancel_timer(Timer.THANKS)  # its timer is its own (IT may leave it early)
        if screen in CUSTOMER_SCREENS or screen in IT_SCREENS:
            self._restart_idle_timer()
        else:
            self._cancel_timer(Timer.IDLE)

    def _show_waiting(self, message: str) -> None:
        self.view.fill_waiting(message)
        self._show(Screen.WAITING)

    def _check_opening_hours(self) -> None:
        """Every minute: close when the store closes, open at opening time.

        Never under a customer's finger: one mid-survey closes at the next reset instead.
        """
        config = self.store.get_config()
        if config is None or self.screen not in (Screen.CLOSED, Screen.QUESTION):
            return  # waiting and setup have their own reasons
        if not self.nobody_answering():
            return  # a customer is never cut off
        if (self.screen == Screen.CLOSED) == self.open_now(config):
            self.refresh()

    def nobody_answering(self) -> bool:
        """Never swap the survey under a customer's finger."""
        if self.screen in IDLE_SCREENS:
            return True
        return (
            self.screen == Screen.QUESTION and self.session is not None and not self.session.started
        )

    # --- the customer -------------------------------------------------------------------------

    def _start_session(self, config: ConfigResponse) -> None:
        """A new customer: the previous one's answers go out, the first question shows."""
        self.end_session()
        self.session = SurveySession(config, self.store, clock=self._local_now)
        self.view.use_language(self.session.language)  # each customer starts in the default
        self._show_question()

    def end_session(self) -> None:
        """Nobody is answering any more: what the customer gave can be uploaded."""
        if self.session is not None:
            self.session.finish()
        self.session = None

    def _local_now(self) -> datetime:
        """The clock's time with the machine's UTC offset (a tap's `tapped_at`)."""
        return self.clock.utcnow().astimezone()

    def _show_question(self) -> None:
        assert self.session is not None
        self.view.fill_question(self.session)
        self._show(Screen.QUESTION)

    def _show_step(self) -> None:
        """Show what the session asks for next."""
        session = self.session
        assert session is not None
        step = session.step
        if step is Step.QUESTION:
            self._show_question()
        elif step is Step.FOLLOWUP:
            follow_up = session.answered_question.follow_up
            assert follow_up is not None
            reasons = [(r.id, session.text(r.text)) for r in follow_up.reasons]
            self.view.fill_followup(session.text(follow_up.text), reasons)
            self._show(Screen.FOLLOWUP)
        elif step is Step.COMMENT:
            self.view.fill_comment()
            self._show(Screen.COMMENT)
        elif step is Step.STAFF:
            self.view.fill_staff([(s.id, s.display_name) for s in session.config.staff])
            self._show(Screen.STAFF)
        else:
            self._show_thanks(session)

    def _show_thanks(self, session: SurveySession) -> None:
        """The thank-you screen, then the next customer's first question after `thank_you_s`."""
        session.finish()
        message = session.text(session.survey.thank_you) or self.view.gettext(words.THANK_YOU)
        self.view.fill_thanks(message)
        self._show(Screen.THANKS)
        self._set_timer(Timer.THANKS, session.config.kiosk.thank_you_s)

    def answer(self, value: int) -> None:
        """The customer pressed `value` on the question screen."""
        session = self.session
        if session is None or session.done or self.screen != Screen.QUESTION:
            return  # a stray event from a screen not showing (closed, thanks, ...)
        try:
            submission = session.answer(value)  # committed to disk before anything else shows
        except (sqlite3.Error, OSError) as exc:
            self._store_refused(f"tap (value={value})", exc)
            return
        log.info("tap recorded %s value=%s", submission.id, value)
        self._show_step()

    def pick_language(self, code: str) -> None:
        """The customer picked a language chip: this customer's only."""
        session = self.session
        if session is None or code == session.language:
            return
        session.set_language(code)
        self.view.use_language(code)
        log.info("language: %s", code)
        self._show_question()

    def pick_reasons(self, reasons: list[str]) -> None:
        """Done on the follow-up screen, with the chosen reason ids (maybe none)."""
        submission = self._record_step(Step.FOLLOWUP, lambda s: s.add_reasons(reasons))
        if submission is not None:
            log.info("reasons recorded %s reasons=%s", submission.id, ",".join(reasons))
            self._show_step()

    def give_comment(self, comment: str | None) -> None:
        """Send (the text) or Skip (None) on the comment screen."""
        submission = self._record_step(Step.COMMENT, lambda s: s.add_comment(comment))
        if submission is not None:
            log.info("comment recorded %s", submission.id)
            self._show_step()

    def pick_staff(self, staff_id: str | None) -> None:
        """A name (its staff id) or Skip (None) on the staff screen."""
        submission = self._record_step(Step.STAFF, lambda s: s.choose_staff(staff_id))
        if submission is not None:
            log.info("staff recorded %s staff=%s", submission.id, staff_id or "-")
            self._show_step()

    def _record_step(
        self, step: Step, record: Callable[[SurveySession], Submission]
    ) -> Submission | None:
        """Store one step's choice on the same submission (None: nothing was stored)."""
        session = self.session
        if session is None or session.step != step:
            return None  # a second press on a screen already left
        try:
            return record(session)
        except (sqlite3.Error, OSError) as exc:
            self._store_refused(step, exc)
            return None

    # --- touches and idle reset ---------------------------------------------------------------

    def touched(self, *, in_corner: bool = False) -> None:
        """A finger went down somewhere (`in_corner`: IT's top-left corner)."""
        if self.screen in CUSTOMER_SCREENS or self.screen in IT_SCREENS:
            self._restart_idle_timer()
        if in_corner:
            self._set_timer(Timer.LONG_PRESS, self.settings.long_press_s)

    def released(self) -> None:
        """The finger went up: a long press in progress is over."""
        self._cancel_timer(Timer.LONG_PRESS)

    def _restart_idle_timer(self) -> None:
        if self.screen in IT_SCREENS:
            self._set_timer(Timer.IDLE, self.settings.it_idle_s)
        elif self.session is not None:
            self._set_timer(Timer.IDLE, self.session.config.kiosk.idle_reset_s)
        else:
            self._cancel_timer(Timer.IDLE)

    def _on_idle(self) -> None:
        """Nobody touched the screen for a while: back to the first question (or the customer)."""
        if self.screen in IT_SCREENS and self.store.status() != "unenrolled":
            log.info("idle: leaving %s", self.screen)
            self._leave_status()
            self.refresh()
            return
        session = self.session
        # A picked language is this customer's only: it resets too, even without a tap.
        if session is not None and (
            session.started or session.language != session.survey.default_language
        ):
            log.info("idle: reset to the first question")
            self.refresh()

    # --- a store that refuses writes ------------------------------------------------------------

    def _store_refused(self, what: str, exc: Exception) -> None:
        """The store can't take writes (a full disk): no thank-you for a tap that isn't kept.

        The kiosk shows a calm "temporarily unavailable" and takes no taps until a small
        probe write succeeds again; what was stored before stays as it was.
        """
        log.error("%s NOT recorded: the local store refused the write: %s; taps paused", what, exc)
        self.write_problem = f"{type(exc).__name__}: {exc}"
        self.session = None  # its unsaved step is gone; its stored part will still be sent
        self._show_waiting(words.UNAVAILABLE)
        if Timer.STORE_PROBE not in self.timers:
            self._set_timer(Timer.STORE_PROBE, STORE_PROBE_S)

    def _probe_store(self) -> None:
        try:
            self.store.set_state(write_probe_at=to_rfc3339(self.clock.utcnow()))
        except (sqlite3.Error, OSError):
            self._set_timer(Timer.STORE_PROBE, STORE_PROBE_S)  # still refused: try again later
            return
        log.info("store: writes work again; taps resume")
        self.write_problem = None
        self.store.finish_all()  # the interrupted customer's first tap can go out now
        self.refresh()

    # --- sync ---------------------------------------------------------------------------------

    def sync_event(self, event: str) -> None:
        """The sync service reported `event` (`revoked`, `config_changed`, `synced`, ...)."""
        if self.screen in IT_SCREENS and self.store.status() != "unenrolled":
            self._update_status()  # never pull IT out of its screens (a re-enroll's setup too)
            return
        if event == "revoked" or (event == "config_changed" and self.nobody_answering()):
            self.refresh()

    # --- setup --------------------------------------------------------------------------------

    def enroll(self, server_url: str, code: str) -> None:
        """IT pressed Enroll: enroll off the UI thread, then show the outcome."""
        self.view.run_in_background(lambda: self._enroll_blocking(server_url, code), self._enrolled)

    def _enroll_blocking(self, server_url: str, code: str) -> str:
        """Background thread: enroll; the error to show (a msgid), or ""."""
        try:
            enrollment.enroll(
                self.store,
                server_url,
                code,
                timeout=self.settings.http_timeout_s,
                allow_http=self.settings.allow_http,
            )
        except enrollment.InsecureServerUrlError:
            return words.INSECURE_URL
        except InvalidCodeError:
            return words.INVALID_CODE
        except ServerUnreachableError:
            return words.UNREACHABLE
        except ProtocolError as exc:
            log.warning("enrollment refused: %s", exc)
            return words.RATE_LIMITED if exc.status == 429 else words.SERVER_PROBLEM
        return ""

    def _enrolled(self, error: str) -> None:
        self.view.fill_setup_result(error)
        if error:
            log.info("enrollment failed: %s", error)
            return
        self.refresh()
        if self.start_sync:
            self.sync.start()

    def cancel(self) -> None:
        """Cancel on the PIN pad or a re-enroll: back to what the kiosk shows by itself."""
        self.refresh()

    # --- IT: the PIN pad and the status screen --------------------------------------------------

    def open_pin_pad(self) -> None:
        pin_set = pin_is_set(self.store, self.settings.it_pin)
        self.view.fill_pin("" if pin_set else words.NO_PIN, clear=True)
        self._show(Screen.PIN)

    def enter_pin(self, pin: str) -> None:
        """OK on the PIN pad; the guard decides, counting wrong ones toward a lockout."""
        if self.screen != Screen.PIN:
            return
        locked_before = self.pin_guard.locked()
        verdict = self.pin_guard.attempt(pin, self.settings.it_pin)
        if verdict is PinVerdict.ACCEPTED:
            log.info("it: PIN accepted")
            self.show_status()
            return
        if not locked_before:
            log.warning("it: wrong PIN (%s)", verdict)
        messages = {
            PinVerdict.WRONG: words.WRONG_PIN,
            PinVerdict.NO_PIN: words.NO_PIN,
            PinVerdict.LOCKED: words.LOCKED,
        }
        self.view.fill_pin(messages[verdict], clear=False)

    def show_status(self) -> None:
        self._update_status()
        self._show(Screen.STATUS)
        if Timer.STATUS_REFRESH not in self.timers:
            self._set_timer(Timer.STATUS_REFRESH, STATUS_REFRESH_S)

    def _leave_status(self) -> None:
        self._cancel_timer(Timer.STATUS_REFRESH)

    def _update_status(self) -> None:
        """Re-read the store into the status text."""
        report = status_report(
            self.store, APP_VERSION, self._local_now(), self.write_problem, self.view.gettext
        )
        self.view.fill_status(
            "\n".join(report.lines),
            busy=self.status_busy,
            state=report.state,
            headline=report.headline,
        )

    def status_action(self, action: str) -> None:
        """A button on the status screen: `sync`, `reenroll`, `back` or `quit`."""
        log.info("it: %s", action)
        if action == "sync":
            self.status_busy = True
            self._update_status()
            self.view.run_in_background(self._sync_blocking, self._synced)
            return
        self._leave_status()
        if action == "reenroll":
            current = self.store.get_enrollment()
            self.view.fill_setup(
                can_cancel=True, server_url=current.server_url if current else ""
            )  # all data is kept
            self._show(Screen.SETUP)
        elif action == "back":
            self.refresh()
        elif action == "quit":
            self.view.quit()

    def _sync_blocking(self) -> None:
        """Background thread: one manual sync (its outcome is in the store's sync state)."""
        try:
            self.sync.sync_now()
        except Exception:  # the status screen must never stay "Syncing…" for good
            log.exception("it: manual sync failed")

    def _synced(self, _result: None) -> None:
        log.info("it: sync finished")
        self.status_busy = False
        self._update_status()
