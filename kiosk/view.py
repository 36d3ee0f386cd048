"""The contract between the kiosk's controller and whatever shows it: the screens, the view
protocol a UI implements (`kiosk.app` with Kivy, a fake in the tests) and the clock.

No Kivy here: `kiosk.controller` decides, a `KioskView` shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from kiosk.answering import SurveySession

T = TypeVar("T")


class Screen(StrEnum):
    """Every screen the kiosk can show (the value is the name logged as `screen: <name>`)."""

    SETUP = "setup"
    WAITING = "waiting"
    CLOSED = "closed"
    QUESTION = "question"
    FOLLOWUP = "followup"
    COMMENT = "comment"
    STAFF = "staff"
    THANKS = "thanks"
    PIN = "pin"
    STATUS = "status"


class KioskClock(Protocol):
    """Wall time for opening hours and timestamps; monotonic time for timers."""

    def utcnow(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The machine's clocks."""

    def utcnow(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class KioskView(Protocol):
    """What the controller asks of the UI: fill a screen, switch to it, wake me, run work."""

    def show(self, screen: Screen) -> None:
        """Switch to `screen` (filled beforehand by one of the `fill_*` calls)."""

    def use_language(self, code: str) -> None:
        """Words and font of every screen in `code` from now on."""

    def gettext(self, message: str) -> str:
        """`message` (a msgid) in the current language."""

    def fill_waiting(self, message: str) -> None: ...

    def fill_setup(self, *, can_cancel: bool, server_url: str | None) -> None:
        """A fresh setup form (`server_url` prefilled when re-enrolling)."""

    def fill_setup_result(self, error: str) -> None:
        """Enrollment finished: not busy any more, with `error` (a msgid) or none."""

    def fill_question(self, session: SurveySession) -> None: ...

    def fill_followup(self, prompt: str, reasons: list[tuple[str, str]]) -> None: ...

    def fill_comment(self) -> None: ...

    def fill_staff(self, staff: list[tuple[str, str]]) -> None: ...

    def fill_thanks(self, message: str) -> None: ...

    def fill_pin(self, message: str, *, clear: bool) -> None:
        """The pad's message (a msgid); `clear` empties the digits typed so far."""

    def fill_status(self, text: str, *, busy: bool, state: str = "", headline: str = "") -> None:
        """The status lines, whether a manual sync runs, and the sync state (`kiosk.status`)."""

    def wake_in(self, seconds: float | None) -> None:
        """Call `tick()` after `seconds` (None: no timer is running)."""

    def run_in_background(self, work: Callable[[], T], then: Callable[[T], None]) -> None:
        """Run blocking `work` off the UI thread, then `then(result)` back on it."""

    def quit(self) -> None:
        """Stop the kiosk (IT's "Quit kiosk")."""
