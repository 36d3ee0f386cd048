"""IT's way in: a long press in the top-left corner, the PIN pad, the status screen.

The kiosk never exits on Escape or Android's back key; only the status screen's "Quit
kiosk" button stops it. Wrong PINs are counted: after `MAX_PIN_FAILURES` the pad refuses
everything for `PIN_LOCKOUT_S`. Both screens speak the kiosk's current language (the
survey's default, or the language the customer on screen had picked).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.metrics import dp

from kiosk.answering import local_now
from kiosk.it_pin import check_pin, pin_is_set
from kiosk.status import status_lines
from kiosk.sync import APP_VERSION
from kiosk.ui import words
from kiosk.ui.language import current as ui_language

if TYPE_CHECKING:
    from kiosk.app import SmiletapKioskApp

log = logging.getLogger("kiosk")

LONG_PRESS_S = 3.0
MAX_PIN_FAILURES = 5
PIN_LOCKOUT_S = 60.0
#: How often the status screen re-reads the store while it is shown.
STATUS_REFRESH_S = 5.0
#: Keys that would close an app: Escape and Android's back.
EXIT_KEYS = (27, 1001)

#: The PIN pad's messages (msgids: the pad shows them in the current language).
NO_PIN = words.NO_PIN
WRONG_PIN = words.WRONG_PIN
LOCKED = words.LOCKED


def corner_size() -> float:
    """The top-left square that starts a long press: big enough to find, small to hit."""
    return max(dp(60), min(Window.width, Window.height) * 0.12)


class ItAccess:
    """Wires the corner, the PIN pad and the status screen into `app`."""

    def __init__(self, app: SmiletapKioskApp) -> None:
        self.app = app
        self._press_event = None
        self._refresh_event = None
        self._failures = 0
        self._locked_until = 0.0
        app.pin_screen.bind(on_pin=self._on_pin, on_cancel=lambda _screen: app.refresh())
        app.status_screen.bind(on_action=self._on_action)
        Window.bind(
            on_touch_down=self._on_touch_down,
            on_touch_up=self._on_touch_up,
            on_keyboard=self._on_keyboard,
        )

    def stop(self) -> None:
        Window.unbind(
            on_touch_down=self._on_touch_down,
            on_touch_up=self._on_touch_up,
            on_keyboard=self._on_keyboard,
        )
        self._cancel_press()
        self.leave_status()

    # --- the corner ---------------------------------------------------------------------------

    def _on_touch_down(self, _window: object, touch: object) -> None:
        x, y = touch.pos
        size = corner_size()
        if x <= size and y >= Window.height - size:
            self._cancel_press()
            self._press_event = Clock.schedule_once(self._on_long_press, LONG_PRESS_S)

    def _on_touch_up(self, _window: object, _touch: object) -> None:
        self._cancel_press()

    def _cancel_press(self) -> None:
        if self._press_event is not None:
            self._press_event.cancel()
            self._press_event = None

    def _on_long_press(self, _dt: float = 0) -> None:
        self._press_event = None
        log.info("it: long press in the corner")
        self.open_pin_pad()

    def _on_keyboard(self, _window: object, key: int, *_args: object) -> bool:
        return key in EXIT_KEYS  # handled: never let Kivy close the kiosk

    # --- the PIN ------------------------------------------------------------------------------

    def open_pin_pad(self) -> None:
        pin_set = pin_is_set(self.app.store, self.app.settings.it_pin)
        self.app.pin_screen.reset("" if pin_set else NO_PIN)
        self.app.show("pin")

    def _on_pin(self, _screen: object, pin: str) -> None:
        screen = self.app.pin_screen
        if time.monotonic() < self._locked_until:
            screen.message = LOCKED
            return
        if check_pin(self.app.store, pin, self.app.settings.it_pin):
            self._failures = 0
            log.info("it: PIN accepted")
            self.show_status()
            return
        self._failures += 1
        log.warning("it: wrong PIN (%d in a row)", self._failures)
        if self._failures >= MAX_PIN_FAILURES:
            self._failures = 0
            self._locked_until = time.monotonic() + PIN_LOCKOUT_S
            screen.message = LOCKED
        else:
            screen.message = (
                WRONG_PIN if pin_is_set(self.app.store, self.app.settings.it_pin) else NO_PIN
            )

    # --- the status screen --------------------------------------------------------------------

    def show_status(self) -> None:
        self.update_status()
        self.app.show("status")
        if self._refresh_event is None:
            self._refresh_event = Clock.schedule_interval(self.update_status, STATUS_REFRESH_S)

    def leave_status(self) -> None:
        if self._refresh_event is not None:
            self._refresh_event.cancel()
            self._refresh_event = None

    def update_status(self, _dt: float = 0) -> None:
        """Re-read the store into the status text."""
        lines = status_lines(
            self.app.store, APP_VERSION, local_now(), self.app.write_problem, ui_language.gettext
        )
        self.app.status_screen.text = "\n".join(lines)

    def _on_action(self, _screen: object, action: str) -> None:
        log.info("it: %s", action)
        app = self.app
        if action == "sync":
            app.status_screen.busy = True
            app.run_in_background(self._sync_in_background)
        elif action == "reenroll":
            self.leave_status()
            app.show_setup_for_reenroll()
        elif action == "back":
            self.leave_status()
            app.refresh()
        elif action == "quit":
            self.leave_status()
            app.stop()

    def _sync_in_background(self) -> None:
        """Background thread: one manual sync; the result reaches the screen via the Clock."""
        try:
            self.app.sync.sync_now()
        finally:
            Clock.schedule_once(self._synced)

    def _synced(self, _dt: float = 0) -> None:
        self.app.status_screen.busy = False
        self.update_status()
