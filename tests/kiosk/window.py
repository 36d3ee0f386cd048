"""A kiosk app in the offscreen Kivy window, for the app's tests: pumping, tapping, PNGs."""

from __future__ import annotations

import time
from pathlib import Path

from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch

from kiosk.app import SmiletapKioskApp
from kiosk.settings import Settings
from kiosk.store import LocalStore

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "kiosk"

FAST = {"idle_reset_s": 2, "thank_you_s": 1, "burst_max_taps": 5, "burst_window_s": 10}


def pump(seconds: float = 0.0, until=None) -> None:
    """Run Kivy's loop (clock and drawing) for a while, or until `until()` is true."""
    deadline = time.monotonic() + seconds
    while True:
        EventLoop.idle()
        if until is not None and until():
            return
        if time.monotonic() >= deadline:
            if until is None:
                return
            raise AssertionError("timed out waiting for the UI")


def frames(count: int = 3) -> None:
    """Run a few frames of Kivy's loop: pending layout and drawing catch up (no fixed time)."""
    for _ in range(count):
        EventLoop.idle()


def wait_until(condition, timeout: float = 5.0) -> None:
    """Run Kivy's loop until `condition()` is true (fails after `timeout` seconds)."""
    pump(timeout, until=condition)


def tap_window(x: float, y_top: float) -> None:
    """A real touch at window pixels with the origin top-left (as xdotool clicks)."""
    # One frame first, so timers the touch starts count from now, as in a running app
    # (where touches arrive inside a frame), not from a frame long past.
    EventLoop.idle()
    touch = UnitTestTouch(x, Window.height - y_top)
    touch.touch_down()
    touch.touch_up()


def press(widget) -> None:
    """Touch the centre of a widget."""
    x, y = widget.to_window(*widget.center)
    tap_window(x, Window.height - y)


class Kiosk:
    """A running app, built into the offscreen window."""

    def __init__(self, settings: Settings, store: LocalStore, clock=None) -> None:
        self.store = store
        self.app = SmiletapKioskApp(settings, store=store, start_sync=False, clock=clock)
        self.root = self.app.build()
        self.app.root = self.root
        Window.add_widget(self.root)
        frames()

    @property
    def screen(self) -> str:
        return self.root.current

    @property
    def controller(self):
        return self.app.controller

    def targets(self) -> list:
        return self.app.question_screen.targets

    def close(self) -> None:
        self.app.dispatch("on_stop")
        Window.remove_widget(self.root)
        for thread in self.app.background:
            thread.join(10)


def reviewed(size: tuple[int, int], language: str) -> bool:
    """The per-language snapshots people look at, as the end-to-end walk's screenshots: every
    language on the smallest display (where words are tightest), English on the others. The
    tests check every language at every size all the same."""
    return tuple(size) == (800, 480) or language == "en"


def snap(kiosk: Kiosk, name: str) -> None:
    """Render the whole root into an image (an offscreen window cannot grow its framebuffer)."""
    kiosk.root.export_to_png(str(ARTIFACTS / name))
    assert (ARTIFACTS / name).stat().st_size > 1000
