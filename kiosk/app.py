"""The Kivy app: a thin shell that shows screens and hands work to the plain-Python core.

Screens: `setup` (never enrolled), `waiting` (enrolled, nothing to ask yet, or revoked),
`closed` (outside the location's opening hours: the waiting screen, dimmed), `question`,
then the steps the session asks for (`followup` reason chips, `comment`, `staff`) and
`thanks` — that customer flow lives in `kiosk.ui.customer_flow`; IT's corner, PIN pad and
status screen in `kiosk.ui.it_access`. The app picks the screen from the stored state, owns
the timers (thank-you, idle reset, opening hours, store probe) and runs enrollment. Sync runs
in a background scheduler; its events reach the UI only through `Clock.schedule_once`.

Logged at INFO for the end-to-end tests: `screen: <name>`, `targets <question_id>:
<value>@<x>,<y> ...` (window pixels, origin top-left), and for the other tappable things
`targets languages|reasons|comment|staff|pin|status|setup: <key>@<x>,<y> ...`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from functools import partial

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk import enrollment
from kiosk.answering import SurveySession
from kiosk.api_client import InvalidCode, ProtocolError, ServerUnreachable
from kiosk.recovery import open_store
from kiosk.settings import Settings
from kiosk.store import LocalStore
from kiosk.sync import SyncService
from kiosk.ui import load_kv, words
from kiosk.ui.customer_flow import CustomerFlow
from kiosk.ui.it_access import ItAccess
from kiosk.ui.language import current as ui_language
from kiosk.ui.language import font_name_for
from kiosk.ui.screens.comment import CommentScreen
from kiosk.ui.screens.followup import FollowUpScreen
from kiosk.ui.screens.pin import PinScreen
from kiosk.ui.screens.question import QuestionScreen
from kiosk.ui.screens.setup import SetupScreen
from kiosk.ui.screens.staff import StaffScreen
from kiosk.ui.screens.status import StatusScreen
from kiosk.ui.screens.thanks import ThanksScreen
from kiosk.ui.screens.waiting import WaitingScreen
from kiosk.ui.targets import TargetLog
from shared.clock import to_rfc3339, utcnow
from shared.opening_hours import is_open
from shared.protocol import ConfigResponse

log = logging.getLogger("kiosk")

#: Screens a customer is in the middle of: a touch there restarts the idle timer.
CUSTOMER_SCREENS = ("question", "followup", "comment", "staff")
#: IT's screens (and setup when re-enrolling) go back to the customer after this long idle.
IT_SCREENS = ("pin", "status", "setup")
IT_IDLE_S = 120
#: While the store refuses writes (a full disk), try one small write this often.
STORE_PROBE_S = 5
#: How often the kiosk checks whether the store just opened or closed.
OPENING_HOURS_CHECK_S = 60

load_kv()


class SmiletapKioskApp(App):
    """The kiosk. `store` defaults to the database under `settings.data_dir`."""

    title = "Smiletap"

    def __init__(
        self,
        settings: Settings,
        store: LocalStore | None = None,
        *,
        start_sync: bool = True,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.store = store or open_store(settings.database_path)
        self.start_sync = start_sync
        self.sync = SyncService(self.store, settings, listener=self._on_sync_event)
        self.flow: CustomerFlow | None = None
        self.manager: ScreenManager | None = None
        self.background: list[threading.Thread] = []
        self._thanks_event = None
        self._idle_event = None
        self._probe_event = None
        self._hours_event = None
        #: Why the store refused the last write, while it still does; taps pause meanwhile.
        self.write_problem: str | None = None
        self.target_log: TargetLog | None = None

    @property
    def session(self) -> SurveySession | None:
        """The answers of the customer at the kiosk now (None when nobody can answer)."""
        return self.flow.session if self.flow is not None else None

    # --- life cycle ---------------------------------------------------------------------------

    def build(self) -> ScreenManager:
        manager = ScreenManager(transition=NoTransition())
        self.target_log = TargetLog(manager, log)
        self.setup_screen = SetupScreen(name="setup")
        self.waiting_screen = WaitingScreen(name="waiting")
        self.closed_screen = WaitingScreen(name="closed", message=words.CLOSED, dim=True)
        self.question_screen = QuestionScreen(name="question")
        self.followup_screen = FollowUpScreen(name="followup")
        self.comment_screen = CommentScreen(name="comment")
        self.staff_screen = StaffScreen(name="staff")
        self.thanks_screen = ThanksScreen(name="thanks")
        self.pin_screen = PinScreen(name="pin")
        self.status_screen = StatusScreen(name="status")
        for screen in (
            self.waiting_screen,
            self.closed_screen,
            self.setup_screen,
            self.question_screen,
            self.followup_screen,
            self.comment_screen,
            self.staff_screen,
            self.thanks_screen,
            self.pin_screen,
            self.status_screen,
        ):
            manager.add_widget(screen)
        self.setup_screen.bind(on_enroll=self._on_enroll, on_cancel=lambda _screen: self.refresh())
        self.question_screen.bind(targets=self._watch_targets)
        self.flow = CustomerFlow(self)
        Window.bind(on_touch_down=self._on_any_touch, on_resize=self._targets_moved)
        self.it = ItAccess(self)
        self.manager = manager
        self.store.finish_all()  # rows left open by a crash mid-survey can be sent now
        pruned = self.store.prune_delivered(self.settings.retention_days)
        if pruned:
            log.info("store: pruned %d delivered taps past retention", pruned)
        self.refresh()
        log.info("screen: %s", manager.current)
        manager.bind(current=self._on_screen_changed)
        self._hours_event = Clock.schedule_interval(
            self._check_opening_hours, OPENING_HOURS_CHECK_S
        )
        return manager

    def on_start(self) -> None:
        if self.start_sync:
            self.sync.start()

    def on_stop(self) -> None:
        self.sync.stop()
        Window.unbind(on_touch_down=self._on_any_touch, on_resize=self._targets_moved)
        if self.manager is not None:
            self.it.stop()
        if self.target_log is not None:
            self.target_log.cancel()
        for event in (self._thanks_event, self._idle_event, self._probe_event, self._hours_event):
            if event is not None:
                event.cancel()
        if self.flow is not None:
            self.flow.end()

    # --- what to show -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Pick the screen from the stored state: setup, waiting, closed or the first question."""
        status = self.store.status()
        config = self.store.get_config()
        assert self.flow is not None
        self.use_language("en")  # the kiosk's own language until a survey says otherwise
        if self.write_problem:
            self.waiting_screen.message = words.UNAVAILABLE
            self.show("waiting")
        elif status == "unenrolled":
            self.setup_screen.can_cancel = False  # nothing to go back to
            self.show("setup")
        elif status == "revoked":
            self.waiting_screen.message = words.OUT_OF_SERVICE
            self.show("waiting")
        elif config is None or config.survey is None:
            self.waiting_screen.message = words.SETTING_UP
            self.show("waiting")
        elif not self._open_now(config):
            self.flow.end()  # no customer until opening time
            self.use_language(config.survey.default_language)
            self.show("closed")
        else:
            self.flow.start(config)

    def _open_now(self, config: ConfigResponse) -> bool:
        """Whether the location is open now, by its own clock (always, without hours)."""
        location = config.location
        return is_open(location.opening_hours, utcnow(), location.timezone)

    def _check_opening_hours(self, _dt: float = 0) -> None:
        """Every minute: close when the store closes, open at opening time.

        Never under a customer's finger: one mid-survey closes at the next reset instead.
        """
        assert self.manager is not None
        current = self.manager.current
        config = self.store.get_config()
        if config is None or current not in ("closed", "question") or not self._nobody_answering():
            return  # waiting and setup have their own reasons; a customer is never cut off
        if (current == "closed") == self._open_now(config):
            self.refresh()

    def show(self, name: str) -> None:
        """Switch to a screen; its targets are logged afresh and the idle timer follows."""
        assert self.manager is not None
        self.manager.current = name
        assert self.target_log is not None
        self.target_log.reset()
        if name in CUSTOMER_SCREENS or name in IT_SCREENS:
            self._restart_idle_timer()
        else:
            self._cancel_idle_timer()

    def show_setup_for_reenroll(self) -> None:
        """The setup screen, prefilled with the current server; all data is kept."""
        enrollment = self.store.get_enrollment()
        self.setup_screen.server_url = enrollment.server_url if enrollment else ""
        self.setup_screen.code = ""
        self.setup_screen.error = ""
        self.setup_screen.busy = False
        self.setup_screen.can_cancel = True
        self.show("setup")

    def use_language(self, code: str) -> None:
        """Words and font of every screen in `code` from now on."""
        ui_language.use(code, font_name_for(code, self.settings.data_dir))

    def _watch_targets(self, _screen: QuestionScreen, targets: list[object]) -> None:
        for target in targets:
            target.drawing.bind(pos=self._targets_moved, size=self._targets_moved)

    def _targets_moved(self, *_args: object) -> None:
        if self.target_log is not None:
            self.target_log.schedule()

    def _on_screen_changed(self, _manager: ScreenManager, name: str) -> None:
        log.info("screen: %s", name)

    # --- a store that refuses writes ------------------------------------------------------------

    def store_refused(self, what: str, exc: Exception) -> None:
        """The store can't take writes (a full disk): no thank-you for a tap that isn't kept.

        The kiosk shows a calm "temporarily unavailable" and takes no taps until a small
        probe write succeeds again; what was stored before stays as it was.
        """
        log.error("%s NOT recorded: the local store refused the write: %s; taps paused", what, exc)
        self.write_problem = f"{type(exc).__name__}: {exc}"
        assert self.flow is not None
        self.flow.drop()  # its unsaved step is gone; its stored part will still be sent
        self.waiting_screen.message = words.UNAVAILABLE
        self.show("waiting")
        if self._probe_event is None:
            self._probe_event = Clock.schedule_interval(self._probe_store, STORE_PROBE_S)

    def _probe_store(self, _dt: float = 0) -> None:
        try:
            self.store.set_state(write_probe_at=to_rfc3339(utcnow()))
        except (sqlite3.Error, OSError):
            return  # still refused: try again at the next interval
        log.info("store: writes work again; taps resume")
        self.write_problem = None
        if self._probe_event is not None:
            self._probe_event.cancel()
            self._probe_event = None
        self.store.finish_all()  # the interrupted customer's first tap can go out now
        self.refresh()

    # --- thank-you --------------------------------------------------------------------------

    def show_thanks(self, message: str, seconds: float) -> None:
        """The thank-you screen, then the next customer's first question after `seconds`."""
        self.thanks_screen.message = message
        self.show("thanks")
        self._cancel_idle_timer()
        if self._thanks_event is not None:  # never two timers: on_stop cancels only one
            self._thanks_event.cancel()
        self._thanks_event = Clock.schedule_once(self._after_thanks, seconds)

    def _after_thanks(self, _dt: float = 0) -> None:
        if self._thanks_event is not None:  # called early (a test, a touch): once is enough
            self._thanks_event.cancel()
        self._thanks_event = None
        self.refresh()

    # --- idle reset ---------------------------------------------------------------------------

    def _on_any_touch(self, *_args: object) -> None:
        if self.manager is not None and (
            self.manager.current in CUSTOMER_SCREENS or self.manager.current in IT_SCREENS
        ):
            self._restart_idle_timer()

    def _restart_idle_timer(self) -> None:
        self._cancel_idle_timer()
        assert self.manager is not None
        if self.manager.current in IT_SCREENS:
            self._idle_event = Clock.schedule_once(self._on_idle, IT_IDLE_S)
        elif self.session is not None:
            self._idle_event = Clock.schedule_once(
                self._on_idle, self.session.config.kiosk.idle_reset_s
            )

    def _cancel_idle_timer(self) -> None:
        if self._idle_event is not None:
            self._idle_event.cancel()
            self._idle_event = None

    def _on_idle(self, _dt: float = 0) -> None:
        """Nobody touched the screen for `idle_reset_s`: back to the first question."""
        self._idle_event = None
        assert self.manager is not None
        if self.manager.current in IT_SCREENS and self.store.status() != "unenrolled":
            log.info("idle: leaving %s", self.manager.current)
            self.it.leave_status()
            self.refresh()
            return
        session = self.session
        # A picked language is this customer's only: it resets too, even without a tap.
        if session is not None and (
            session.started or session.language != session.survey.default_language
        ):
            log.info("idle: reset to the first question")
            self.refresh()

    # --- setup --------------------------------------------------------------------------------

    def _on_enroll(self, screen: SetupScreen, server_url: str, code: str) -> None:
        self.run_in_background(partial(self._enroll, server_url, code))

    def _enroll(self, server_url: str, code: str) -> None:
        """Background thread: enroll, then hand the outcome to the UI thread."""
        try:
            enrollment.enroll(
                self.store,
                server_url,
                code,
                timeout=self.settings.http_timeout_s,
                allow_http=self.settings.allow_http,
            )
        except enrollment.InsecureServerUrl:
            message = words.INSECURE_URL
        except InvalidCode:
            message = words.INVALID_CODE
        except ServerUnreachable:
            message = words.UNREACHABLE
        except ProtocolError as exc:
            message = words.RATE_LIMITED if exc.status == 429 else words.SERVER_PROBLEM
            log.warning("enrollment refused: %s", exc)
        else:
            message = ""
        Clock.schedule_once(partial(self._enrolled, message))

    def _enrolled(self, error: str, _dt: float = 0) -> None:
        self.setup_screen.busy = False
        self.setup_screen.error = error
        if error:
            log.info("enrollment failed: %s", error)
            return
        self.refresh()
        if self.start_sync:
            self.sync.start()

    def run_in_background(self, work: Callable[[], None]) -> threading.Thread:
        """Run blocking work (network) off the UI thread."""
        thread = threading.Thread(target=work, name="kiosk-background", daemon=True)
        self.background.append(thread)
        thread.start()
        return thread

    # --- sync events (arrive on the sync thread) ----------------------------------------------

    def _on_sync_event(self, event: str) -> None:
        Clock.schedule_once(partial(self._handle_sync_event, event))

    def _handle_sync_event(self, event: str, _dt: float = 0) -> None:
        if self.manager is None:
            return
        if self.manager.current in IT_SCREENS and self.store.status() != "unenrolled":
            self.it.update_status()  # never pull IT out of its screens (a re-enroll's setup too)
            return
        revoked = event == "revoked"
        if revoked or (event == "config_changed" and self._nobody_answering()):
            self.refresh()

    def _nobody_answering(self) -> bool:
        """Never swap the survey under a customer's finger."""
        assert self.manager is not None
        if self.manager.current in ("waiting", "closed", "setup"):
            return True
        return (
            self.manager.current == "question"
            and self.session is not None
            and not self.session.started
        )
