"""The Kivy app: a thin adapter between the window and `kiosk.controller.KioskController`.

It builds one screen per `Screen`, binds each screen's events to the controller, fills and
switches screens when the controller says (it is the controller's `KioskView`), and owns the
Kivy `Clock`: one event wakes the controller when its next timer is due, and work from other
threads (sync events, enrollment, a manual sync) reaches the controller only through
`Clock.schedule_once`. What shows when, and why, is the controller's.

Logged at INFO for the end-to-end tests (besides the controller's lines): `targets
<question_id>: <value>@<x>,<y> ...` (window pixels, origin top-left), and for the other
tappable things `targets languages|reasons|comment|staff|pin|status|setup: <key>@<x>,<y> ...`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from kivy.app import App
from kivy.clock import Clock, ClockEvent
from kivy.core.window import Window
from kivy.metrics import dp
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.answering import SurveySession
from kiosk.controller import KioskController
from kiosk.recovery import open_store
from kiosk.settings import Settings
from kiosk.store import LocalStore
from kiosk.sync import SyncService
from kiosk.ui import words
from kiosk.ui.kv import load_kv
from kiosk.ui.language import current as ui_language
from kiosk.ui.language import font_name_for
from kiosk.ui.screens import KioskScreen
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
from kiosk.view import KioskClock, Screen

log = logging.getLogger("kiosk")

T = TypeVar("T")

#: Keys that would close an app: Escape and Android's back.
EXIT_KEYS = (27, 1001)

load_kv()

ScreenT = TypeVar("ScreenT", bound=KioskScreen)

#: How each screen is built (`SmiletapKioskApp._make_screen`, when first needed).
_SCREENS: dict[Screen, Callable[[], KioskScreen]] = {
    Screen.SETUP: lambda: SetupScreen(name=Screen.SETUP),
    Screen.WAITING: lambda: WaitingScreen(name=Screen.WAITING),
    Screen.CLOSED: lambda: WaitingScreen(name=Screen.CLOSED, message=words.CLOSED, dim=True),
    Screen.QUESTION: lambda: QuestionScreen(name=Screen.QUESTION),
    Screen.FOLLOWUP: lambda: FollowUpScreen(name=Screen.FOLLOWUP),
    Screen.COMMENT: lambda: CommentScreen(name=Screen.COMMENT),
    Screen.STAFF: lambda: StaffScreen(name=Screen.STAFF),
    Screen.THANKS: lambda: ThanksScreen(name=Screen.THANKS),
    Screen.PIN: lambda: PinScreen(name=Screen.PIN),
    Screen.STATUS: lambda: StatusScreen(name=Screen.STATUS),
}


def corner_size() -> float:
    """The top-left square that starts a long press: big enough to find, small to hit."""
    return float(max(dp(60), min(Window.width, Window.height) * 0.12))


class SmiletapKioskApp(App):
    """The kiosk. `store` defaults to the database under `settings.data_dir`."""

    title = "Smiletap"

    def __init__(
        self,
        settings: Settings,
        store: LocalStore | None = None,
        *,
        start_sync: bool = True,
        clock: KioskClock | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.store = store or open_store(settings.database_path)
        self.sync = SyncService(self.store, settings, listener=self._on_sync_event)
        self.controller = KioskController(
            settings, self.store, self.sync, self, clock=clock, start_sync=start_sync
        )
        self.manager: ScreenManager | None = None
        self.screens: dict[Screen, KioskScreen] = {}
        self.background: list[threading.Thread] = []
        self.target_log: TargetLog | None = None
        self._wake_event: ClockEvent | None = None

    # --- the screens, one per `Screen` --------------------------------------------------------

    @property
    def setup_screen(self) -> SetupScreen:
        return self._screen(Screen.SETUP, SetupScreen)

    @property
    def waiting_screen(self) -> WaitingScreen:
        return self._screen(Screen.WAITING, WaitingScreen)

    @property
    def closed_screen(self) -> WaitingScreen:
        return self._screen(Screen.CLOSED, WaitingScreen)

    @property
    def question_screen(self) -> QuestionScreen:
        return self._screen(Screen.QUESTION, QuestionScreen)

    @property
    def followup_screen(self) -> FollowUpScreen:
        return self._screen(Screen.FOLLOWUP, FollowUpScreen)

    @property
    def comment_screen(self) -> CommentScreen:
        return self._screen(Screen.COMMENT, CommentScreen)

    @property
    def staff_screen(self) -> StaffScreen:
        return self._screen(Screen.STAFF, StaffScreen)

    @property
    def thanks_screen(self) -> ThanksScreen:
        return self._screen(Screen.THANKS, ThanksScreen)

    @property
    def pin_screen(self) -> PinScreen:
        return self._screen(Screen.PIN, PinScreen)

    @property
    def status_screen(self) -> StatusScreen:
        return self._screen(Screen.STATUS, StatusScreen)

    def _screen(self, name: Screen, kind: type[ScreenT]) -> ScreenT:
        screen = self.screens.get(name)
        if screen is None:
            screen = self._make_screen(name)
        assert isinstance(screen, kind)
        return screen

    @property
    def session(self) -> SurveySession | None:
        """The answers of the customer at the kiosk now (None when nobody can answer)."""
        return self.controller.session

    # --- life cycle ---------------------------------------------------------------------------

    def build(self) -> ScreenManager:
        self.manager = ScreenManager(transition=NoTransition())
        self.target_log = TargetLog(self.manager, log)
        self._bind_window()
        self.controller.start()
        return self.manager

    def _make_screen(self, name: Screen) -> KioskScreen:
        """The screen for `name`, built, added and bound the first time it is needed: most
        kiosks never show most screens (setup, PIN pad, status), and each costs memory."""
        screen = _SCREENS[name]()
        assert self.manager is not None
        self.manager.add_widget(screen)
        self.screens[name] = screen
        self._bind_screen(name, screen)
        return screen

    def _bind_screen(self, name: Screen, screen: KioskScreen) -> None:
        """The screen's events go to the controller."""
        control = self.controller
        if name is Screen.SETUP:
            screen.bind(
                on_enroll=lambda _screen, url, code: control.enroll(url, code),
                on_cancel=lambda _screen: control.cancel(),
            )
        elif name is Screen.QUESTION:
            screen.bind(
                on_answer=lambda _screen, value: control.answer(value),
                on_pick_language=lambda _screen, code: control.pick_language(code),
                targets=self._watch_targets,
            )
        elif name is Screen.FOLLOWUP:
            screen.bind(on_done=lambda _screen, reasons: control.pick_reasons(reasons))
        elif name is Screen.COMMENT:
            screen.bind(on_comment=lambda _screen, text: control.give_comment(text))
        elif name is Screen.STAFF:
            screen.bind(on_pick_staff=lambda _screen, staff: control.pick_staff(staff))
        elif name is Screen.PIN:
            screen.bind(
                on_pin=lambda _screen, pin: control.enter_pin(pin),
                on_cancel=lambda _screen: control.cancel(),
            )
        elif name is Screen.STATUS:
            screen.bind(on_action=lambda _screen, action: control.status_action(action))

    def _bind_window(self) -> None:
        """The window's touches and keys go to the controller."""
        Window.bind(
            on_touch_down=self._on_touch_down,
            on_touch_up=self._on_touch_up,
            on_keyboard=self._on_keyboard,
            on_resize=self._targets_moved,
        )

    def on_stop(self) -> None:
        Window.unbind(
            on_touch_down=self._on_touch_down,
            on_touch_up=self._on_touch_up,
            on_keyboard=self._on_keyboard,
            on_resize=self._targets_moved,
        )
        if self.target_log is not None:
            self.target_log.close()
        self.controller.stop()

    # --- the window's touches and keys --------------------------------------------------------

    def _on_touch_down(self, _window: object, touch: Any) -> None:
        x, y = touch.pos
        size = corner_size()
        self.controller.touched(in_corner=x <= size and y >= Window.height - size)

    def _on_touch_up(self, _window: object, _touch: object) -> None:
        self.controller.released()

    def _on_keyboard(self, _window: object, key: int, *_args: object) -> bool:
        return key in EXIT_KEYS  # handled: never let Kivy close the kiosk

    def _watch_targets(self, _screen: QuestionScreen, targets: list[Any]) -> None:
        for target in targets:
            target.drawing.bind(pos=self._targets_moved, size=self._targets_moved)

    def _targets_moved(self, *_args: object) -> None:
        if self.target_log is not None:
            self.target_log.schedule()

    # --- KioskView: what the controller asks for -----------------------------------------------

    def show(self, screen: Screen) -> None:
        assert self.manager is not None
        self._screen(screen, KioskScreen)
        self.manager.current = screen
        assert self.target_log is not None
        self.target_log.reset()  # its targets are logged afresh

    def use_language(self, code: str) -> None:
        ui_language.use(code, font_name_for(code, self.settings.data_dir))

    def gettext(self, message: str) -> str:
        return ui_language.gettext(message)

    def fill_waiting(self, message: str) -> None:
        self.waiting_screen.message = message

    def fill_setup(self, *, can_cancel: bool, server_url: str | None) -> None:
        self.setup_screen.show(can_cancel=can_cancel, server_url=server_url)

    def fill_setup_result(self, error: str) -> None:
        self.setup_screen.show_result(error)

    def fill_question(self, session: SurveySession) -> None:
        self.question_screen.show(session, self.settings.data_dir)

    def fill_followup(self, prompt: str, reasons: list[tuple[str, str]]) -> None:
        self.followup_screen.show(prompt, reasons)

    def fill_comment(self) -> None:
        self.comment_screen.show()

    def fill_staff(self, staff: list[tuple[str, str]]) -> None:
        self.staff_screen.show(staff)

    def fill_thanks(self, message: str) -> None:
        self.thanks_screen.message = message

    def fill_pin(self, message: str, *, clear: bool) -> None:
        if clear:
            self.pin_screen.reset(message)
        else:
            self.pin_screen.message = message

    def fill_status(self, text: str, *, busy: bool, state: str = "", headline: str = "") -> None:
        started_or_ended = busy != self.status_screen.busy
        self.status_screen.show(text, busy=busy, state=state, headline=headline)
        if started_or_ended and self.target_log is not None:
            self.target_log.reset()  # a manual sync's start and outcome are logged afresh

    def wake_in(self, seconds: float | None) -> None:
        if self._wake_event is not None:
            self._wake_event.cancel()
            self._wake_event = None
        if seconds is not None:
            self._wake_event = Clock.schedule_once(self._wake, seconds)

    def _wake(self, _dt: float) -> None:
        self._wake_event = None
        self.controller.tick()

    def run_in_background(self, work: Callable[[], T], then: Callable[[T], None]) -> None:
        """Run blocking work (network) off the UI thread; its result comes back via the Clock."""

        def run() -> None:
            result = work()
            Clock.schedule_once(lambda _dt: then(result))

        thread = threading.Thread(target=run, name="kiosk-background", daemon=True)
        self.background.append(thread)
        thread.start()

    def quit(self) -> None:
        self.stop()

    # --- sync events (arrive on the sync thread) ----------------------------------------------

    def _on_sync_event(self, event: str) -> None:
        Clock.schedule_once(partial(self._handle_sync_event, event))

    def _handle_sync_event(self, event: str, _dt: float = 0) -> None:
        if self.manager is not None:
            self.controller.sync_event(event)
