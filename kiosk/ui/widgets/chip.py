"""Chips: big rounded buttons for reasons, languages and staff names, laid out in a grid.

`ChipGrid` makes one `Chip` per entry of `options`: `(key, text)` pairs, or `(key, text,
font)` when a chip needs its own font (a language's name in its own script). With `multi` a press
toggles the chip in `chosen`; without, the press makes it the only chosen one. Either way it
fires `on_pick(key)`.
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label


class Chip(ButtonBehavior, Label):
    """One pressable chip; `selected` draws it filled."""

    key = StringProperty("")
    selected = BooleanProperty(False)
    own_font = StringProperty("")


class ChipGrid(GridLayout):
    """One chip per option; `chosen` holds the selected keys."""

    options = ListProperty([])
    chosen = ListProperty([])
    multi = BooleanProperty(False)
    chips = ListProperty([])

    __events__ = ("on_pick",)

    def on_options(self, _grid: ChipGrid, options: list[tuple[str, ...]]) -> None:
        self.clear_widgets()
        chips = []
        for key, text, *font in options:
            chip = Chip(key=key, text=text, selected=key in self.chosen, own_font="".join(font))
            chip.bind(on_release=self._released)
            self.add_widget(chip)
            chips.append(chip)
        self.chips = chips

    def on_chosen(self, _grid: ChipGrid, chosen: list[str]) -> None:
        for chip in self.chips:
            chip.selected = chip.key in chosen

    def _released(self, chip: Chip) -> None:
        if not self.multi:
            self.chosen = [chip.key]
        elif chip.key in self.chosen:
            self.chosen = [key for key in self.chosen if key != chip.key]
        else:
            self.chosen = [*self.chosen, chip.key]
        self.dispatch("on_pick", chip.key)

    def on_pick(self, key: str) -> None:
        """Fired with the key of the chip pressed."""
