"""The follow-up screen: "what went wrong?" with the reasons as multi-select chips and Done."""

from __future__ import annotations

from kivy.properties import ListProperty, ObjectProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.ui.screens import KioskScreen


class FollowUpScreen(KioskScreen):
    """Fires `on_done(reason_ids)` when Done is pressed (none chosen is fine)."""

    prompt = StringProperty("")
    reasons = ListProperty([])  # (reason id, text) pairs
    chosen = ListProperty([])
    grid = ObjectProperty(None, allownone=True)
    done_button = ObjectProperty(None, allownone=True)

    __events__ = ("on_done",)

    def show(self, prompt: str, reasons: list[tuple[str, str]]) -> None:
        """A fresh follow-up: nothing chosen yet."""
        self.grid.chosen = []
        self.prompt = prompt
        self.reasons = reasons

    def done(self) -> None:
        self.dispatch("on_done", list(self.chosen))

    def on_done(self, reasons: list[str]) -> None:
        """Fired with the chosen reason ids."""

    def target_groups(self) -> dict[str, list[tuple[str, Widget]]]:
        chips = [(chip.key, chip) for chip in self.grid.chips]
        return {"reasons": [*chips, ("done", self.done_button)]}
