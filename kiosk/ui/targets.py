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
    """Logs the current screen's `target_groups()` once its layout has been still.

    A line is logged when it is new or its targets moved (e.g. a window resize). Two looks
    `DELAY_S` apart must agree first, so a layout still settling (or a Clock that jumped
    ahead) never logs positions nobody can click.
    """

    DELAY_S = 0.3

    def __init__(self, manager: ScreenManager, logger: logging.Logger) -> None:
        self.manager = manager
        self.log = logger
        self._event: ClockEvent | None = None
        self._logged: set[str] = set()
        self._seen: list[str] = []

    def reset(self) -> None:
        """A new screen (or new content): log its targets afresh."""
        self._logged = set()
        self._seen = []
        self.schedule()

    def schedule(self, *_args: object) -> None:
        self.cancel()
        self._event = Clock.schedule_once(self._look, self.DELAY_S)

    def cancel(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def _look(self, _dt: float = 0) -> None:
        self._event = None
        screen = self.manager.current_screen
        groups = screen.target_groups() if hasattr(screen, "target_groups") else {}
        lines = [describe(group, targets) for group, targets in groups.items()]
        lines.append(layout_check.describe(screen.name, screen, Window.size))
        if lines != self._seen:
            self._seen = lines
            self.schedule()
            return
        for line in lines:
            if line not in self._logged:
                self._logged.add(line)
                self.log.info("%s", line)
