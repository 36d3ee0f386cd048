"""Chips: big rounded buttons for reasons, languages and staff names, laid out in a grid.

`ChipGrid` makes one `Chip` per entry of `options`: `(key, text)` pairs, or `(key, text,
font)` when a chip needs its own font (a language's name in its own script). With `multi` a press
toggles the chip in `chosen`; without, the press makes it the only chosen one. Either way it
fires `on_pick(key)`. With `hug` every chip is as wide as the widest one's words, never
shortened, and as many go in a row as fit in `max_width` (the rest wrap to the next rows).
"""

from __future__ import annotations

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

#: Room either side of a hugging chip's words (its outline and some air).
HUG_PADDING = 16


class Chip(ButtonBehavior, Label):
    """One pressable chip; `selected` draws it filled."""

    key = StringProperty("")
    selected = BooleanProperty(False)
    own_font = StringProperty("")
    hug = BooleanProperty(False)


class ChipGrid(GridLayout):
    """One chip per option; `chosen` holds the selected keys."""

    options = ListProperty([])
    chosen = ListProperty([])
    multi = BooleanProperty(False)
    chips = ListProperty([])
    hug = BooleanProperty(False)
    max_width = NumericProperty(0)

    __events__ = ("on_pick",)

    def __init__(self, **kwargs: object) -> None:
        self._fit_trigger = Clock.create_trigger(self._fit)
        super().__init__(**kwargs)
        self.bind(max_width=self._fit_trigger, spacing=self._fit_trigger)

    def on_options(self, _grid: ChipGrid, options: list[tuple[str, ...]]) -> None:
        self.clear_widgets()
        if self.hug:
            self.cols = max(1, len(options))  # one row until the words are measured
        chips = []
        for key, text, *font in options:
            chip = Chip(
                key=key,
                text=text,
                selected=key in self.chosen,
                own_font="".join(font),
                hug=self.hug,
                size_hint_x=None if self.hug else 1,
            )
            chip.bind(on_release=self._released)
            if self.hug:
                chip.bind(texture_size=self._fit_trigger)
            self.add_widget(chip)
            chips.append(chip)
        self.chips = chips
        self._fit_trigger()

    def _fit(self, _dt: float = 0) -> None:
        """Hugging chips: all as wide as the widest words, as many a row as fit."""
        if not self.hug or not self.chips:
            return
        widest = max(chip.texture_size[0] for chip in self.chips) + 2 * dp(HUG_PADDING)
        gap = self.spacing[0]
        per_row = int((self.max_width + gap) // (widest + gap)) if self.max_width else 0
        self.cols = max(1, min(len(self.chips), per_row or len(self.chips)))
        for chip in self.chips:
            chip.width = widest

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
