"""The Kivy app: a thin shell that shows screens and hands work to the plain-Python core.

Screens: `setup` (never enrolled), `waiting` (enrolled, nothing to ask yet, or revoked),
`question` and `thanks`. A tap is committed to the local store before the thank-you screen
shows. Sync runs in a background scheduler; its events reach the UI only through
`Clock.schedule_once`.

Logged at INFO for the end-to-end tests: `screen: <name>`, `targets <question_id>:
<value>@<x>,<y> ...` (window pixels, origin top-left), `tap recorded <id> value=<v>`.
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
from kiosk.settings import Settings
from kiosk.store import LocalStore
from kiosk.sync import SyncService
from kiosk.ui import load_kv, words
from kiosk.ui.screens.question import QuestionScreen
from kiosk.ui.screens.setup import SetupScreen
from kiosk.ui.screens.thanks import ThanksScreen
from kiosk.ui.screens.waiting import WaitingScreen
from kiosk.ui.widgets.face import KINDS

log = logging.getLogger("kiosk")

#: Seconds after a question appears before its target positions are logged (layout settles).
TARGETS_LOG_DELAY_S = 0.3

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
        self.store = store or LocalStore(settings.database_path)
        self.start_sync = start_sync
        self.sync = SyncService(self.store, settings, listener=self._on_sync_event)
        self.session: SurveySession | None = None
        self.manager: ScreenManager | None = None
        self.background: list[threading.Thread] = []
        self._thanks_event = None
        self._idle_event = None
        self._targets_event = None
        self._logged_targets: str | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def build(self) -> ScreenManager:
        manager = ScreenManager(transition=NoTransition())
        self.setup_screen = SetupScreen(name="setup")
        self.waiting_screen = WaitingScreen(name="waiting")
        self.question_screen = QuestionScreen(name="question")
        self.thanks_screen = ThanksScreen(name="thanks")
        for screen in (
            self.waiting_screen,
            self.setup_screen,
            self.question_screen,
            self.thanks_screen,
        ):
            manager.add_widget(screen)
        self.setup_screen.bind(on_enroll=self._on_enroll)
        self.question_screen.bind(on_answer=self._on_answer, targets=self._watch_targets)
        Window.bind(on_touch_down=self._on_any_touch)
        self.manager = manager
        self.store.finish_all()  # rows left open by a crash mid-survey can be sent now
        self.refresh()
        log.info("screen: %s", manager.current)
        manager.bind(current=self._on_screen_changed)
        return manager

    def on_start(self) -> None:
        if self.start_sync:
            self.sync.start()

    def on_stop(self) -> None:
        self.sync.stop()
        Window.unbind(on_touch_down=self._on_any_touch)
        for event in (self._thanks_event, self._idle_event, self._targets_event):
            if event is not None:
                event.cancel()
        if self.session is not None:
            self.session.finish()

    # --- what to show -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Pick the screen from the stored state: setup, waiting or the first question."""
        status = self.store.status()
        config = self.store.get_config()
        if status == "unenrolled":
            self._show("setup")
        elif status == "revoked":
            self.waiting_screen.message = words.OUT_OF_SERVICE
            self._show("waiting")
        elif config is None or config.survey is None:
            self.waiting_screen.message = words.SETTING_UP
            self._show("waiting")
        else:
            if self.session is not None:
                self.session.finish()
            self.session = SurveySession(config, self.store)
            self._show_question()

    def _show(self, name: str) -> None:
        assert self.manager is not None
        self.manager.current = name

    def _show_question(self) -> None:
        session = self.session
        assert session is not None
        question = session.question
        screen = self.question_screen
        kind = question.kind if question.kind in KINDS else "smiley"
        low, high = question.values.start, question.values.stop - 1
        captions = words.face_words(session.language, question.scale) if kind == "smiley" else None
        screen.question_id = question.id
        screen.question_text = session.text(question.text)
        screen.kind = kind
        screen.options = [
            {
                "value": value,
                "mood": (value - low) / (high - low),
                "word": captions[i] if captions else "",
            }
            for i, value in enumerate(question.values)
        ]
        self._show("question")
        self._logged_targets = None
        self._schedule_targets_log()
        self._restart_idle_timer()

    def _watch_targets(self, _screen: QuestionScreen, targets: list[object]) -> None:
        for target in targets:
            target.drawing.bind(pos=self._schedule_targets_log, size=self._schedule_targets_log)

    def _schedule_targets_log(self, *_args: object) -> None:
        """Log the targets once the layout has been still for `TARGETS_LOG_DELAY_S`."""
        if self._targets_event is not None:
            self._targets_event.cancel()
        self._targets_event = Clock.schedule_once(self._log_targets, TARGETS_LOG_DELAY_S)

    def _log_targets(self, _dt: float = 0) -> None:
        self._targets_event = None
        screen = self.question_screen
        if self.manager is None or self.manager.current != "question":
            return
        spots = " ".join(f"{v}@{x},{y}" for v, x, y in screen.target_centres())
        line = f"targets {screen.question_id}: {spots}"
        if line != self._logged_targets:  # the layout moved them (e.g. a window resize)
            self._logged_targets = line
            log.info("%s", line)

    def _on_screen_changed(self, _manager: ScreenManager, name: str) -> None:
        log.info("screen: %s", name)

    # --- answering ----------------------------------------------------------------------------

    def _on_answer(self, _screen: QuestionScreen, value: int) -> None:
        session = self.session
        if session is None or session.done or self.manager.current != "question":
            return
        try:
            submission = session.answer(value)  # committed to disk before anything else shows
        except (sqlite3.Error, OSError):
            # The customer still gets a thank-you; IT sees this in the log and the backlog.
            log.exception("tap NOT recorded (value=%s): the local store failed", value)
            self._show_thanks()
            return
        log.info("tap recorded %s value=%s", submission.id, value)
        if session.done:
            self._show_thanks()
        else:
            self._show_question()

    def _show_thanks(self) -> None:
        session = self.session
        assert session is not None
        session.finish()
        self.thanks_screen.message = session.text(session.survey.thank_you)
        self._show("thanks")
        self._cancel_idle_timer()
        self._thanks_event = Clock.schedule_once(
            self._after_thanks, session.config.kiosk.thank_you_s
        )

    def _after_thanks(self, _dt: float = 0) -> None:
        self._thanks_event = None
        self.refresh()

    # --- idle reset ---------------------------------------------------------------------------

    def _on_any_touch(self, *_args: object) -> None:
        if self.manager is not None and self.manager.current == "question":
            self._restart_idle_timer()

    def _restart_idle_timer(self) -> None:
        self._cancel_idle_timer()
        if self.session is not None:
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
        if self.session is not None and self.session.started:
            log.info("idle: reset to the first question")
            self.refresh()

    # --- setup --------------------------------------------------------------------------------

    def _on_enroll(self, screen: SetupScreen, server_url: str, code: str) -> None:
        self.run_in_background(partial(self._enroll, server_url, code))

    def _enroll(self, server_url: str, code: str) -> None:
        """Background thread: enroll, then hand the outcome to the UI thread."""
        try:
            enrollment.enroll(self.store, server_url, code, timeout=self.settings.http_timeout_s)
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
        revoked = event == "revoked"
        if revoked or (event == "config_changed" and self._nobody_answering()):
            self.refresh()

    def _nobody_answering(self) -> bool:
        """Never swap the survey under a customer's finger."""
        assert self.manager is not None
        if self.manager.current in ("waiting", "setup"):
            return True
        return (
            self.manager.current == "question"
            and self.session is not None
            and not self.session.started
        )
