"""The question screen: the question text above one big target per answer value."""

from __future__ import annotations

from kivy.properties import ListProperty, ObjectProperty, OptionProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.ui.screens import KioskScreen


class QuestionScreen(KioskScreen):
    """Shows one question; fires `on_answer(value)` when a target is pressed and
    `on_pick_language(code)` when the customer picks a language chip."""

    question_id = StringProperty("")
    question_text = StringProperty("")
    kind = OptionProperty("smiley", options=("smiley", "nps", "ces", "csat"))
    options = ListProperty([])
    targets = ListProperty([])
    languages = ListProperty([])  # (code, own name, font) triples; chips when > 1
    language = StringProperty("")
    language_grid = ObjectProperty(None, allownone=True)

    __events__ = ("on_answer", "on_pick_language")

    def on_answer(self, value: int) -> None:
        """Fired with the value the customer pressed."""

    def on_pick_language(self, code: str) -> None:
        """Fired with the language the customer picked."""

    def target_groups(self) -> dict[str, list[tuple[str, Widget]]]:
        """The answer targets (by value, at the face's centre), then the language chips."""
        groups = {self.question_id: [(str(int(t.value)), t.drawing) for t in self.targets]}
        if len(self.languages) > 1:
            groups["languages"] = [(chip.key, chip) for chip in self.language_grid.chips]
        return groups
