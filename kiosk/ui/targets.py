"""Where tappable things are, in window pixels with the origin top-left (as xdotool clicks).

The end-to-end tests read the `targets <group>: <key>@<x>,<y> ...` log lines to know where to
click, so every screen with something to tap reports its widgets through `describe`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kivy.clock import Clock, ClockEvent
from kivy.core.window import Window
from kivy.uix.screenmanager import ScreenManager
from kivy.uix.widget import Widget

from kiosk.ui import layout_check


def centre_top_left(widget: Widget) -> tuple[int, int]:
    """A widget's centre in window pixels, origin top-left."""
    x, y = widget.to_window(*widget.center)
    return round(x), round(Window.height - y)


def describe(group: str, targets: Iterable[tuple[str, Widget]]) -> str:
    """The log line for one group of targets."""
    spots = " ".join("{}@{},{}".format(key, *centre_top_left(widget)) for key, widget in targets)
    return f"targets {group}: {spots}"


class TargetLog:
    """Logs the current screen's `target_groups()` and layout verdict once its layout is still.

    A look runs `DELAY_S` after a screen shows, after its targets move (e.g. a window resize)
    and after a frame is drawn (a change within a screen: a chip picked, a message shown). A
    line is logged when it is new since the screen showed. Two looks at least `DELAY_S` and
    `MIN_FRAMES` frames apart must agree first, so a layout still settling (or a Clock that
    jumped ahead) never logs positions nobody can click, and a logged line has been drawn.
    """

    DELAY_S = 0.1
    MIN_FRAMES = 3

    def __init__(self, manager: ScreenManager, logger: logging.Logger) -> None:
        self.manager = manager
        self.log = logger
        self._event: ClockEvent | None = None
        self._logged: set[str] = set()
        self._seen: list[str] = []
        self._seen_frame = 0
        Window.bind(on_flip=self._drawn)

    def reset(self) -> None:
        """A new screen (or new content): log its targets afresh."""
        self._logged = set()
        self._seen = []
        self.schedule()

    def schedule(self, *_args: object) -> None:
        self.cancel()
        self._event = Clock.schedule_once(self._look, self.DELAY_S)

    def _drawn(self, *_args: object) -> None:
        """A frame was drawn: something may have changed within the screen; look soon."""
        if self._event is None:
            self._event = Clock.schedule_once(self._look, self.DELAY_S)

    def cancel(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def close(self) -> None:
        """The app stops: no more looks."""
        self.cancel()
        Window.unbind(on_flip=self._drawn)

    def _look(self, _dt: float = 0) -> None:
        self._event = None
        screen = self.manager.current_screen
        if screen is None:
            return
        groups = screen.target_groups() if hasattr(screen, "target_groups") else {}
        lines = [describe(group, targets) for group, targets in groups.items()]
        lines.append(layout_check.describe(screen.name, screen, Window.size))
        if lines != self._seen:
            self._seen, self._seen_frame = lines, Clock.frames
            self.schedule()
            return
        if Clock.frames - self._seen_frame < self.MIN_FRAMES:
            self.schedule()  # a slow machine: not enough frames yet to call it still
            return
        for line in lines:
            if line not in self._logged:
                self._logged.add(line)
                self.log.info("%s", line)
