"""The question screen: the question text above one big target per answer value."""

from __future__ import annotations

from kivy.core.window import Window
from kivy.properties import ListProperty, OptionProperty, StringProperty

from kiosk.ui.screens import KioskScreen


class QuestionScreen(KioskScreen):
    """Shows one question; fires `on_answer(value)` when a target is pressed."""

    question_id = StringProperty("")
    question_text = StringProperty("")
    kind = OptionProperty("smiley", options=("smiley", "nps", "ces", "csat"))
    options = ListProperty([])
    targets = ListProperty([])

    __events__ = ("on_answer",)

    def on_answer(self, value: int) -> None:
        """Fired with the value the customer pressed."""

    def target_centres(self) -> list[tuple[int, int, int]]:
        """(value, x, y) of each target's face centre in window pixels, origin top-left."""
        centres = []
        for target in self.targets:
            drawing = target.drawing
            x, y = drawing.to_window(*drawing.center)
            centres.append((int(target.value), round(x), round(Window.height - y)))
        return centres
