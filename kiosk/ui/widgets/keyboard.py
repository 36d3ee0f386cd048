"""The on-screen keyboard, docked in a screen's layout, in the current language's letters.

A kiosk with only a touch screen has no other way to type: the comment screen and the setup
screen lay one out under their text fields. It fires Kivy's `VKeyboard` events
(`on_textinput(text)`, `on_key_down(keycode, ...)`); the screen decides what they edit.

There is no input method for Chinese: a zh-Hant customer gets the Latin QWERTY keyboard, and
the comment's hint says so (`types_own_script`; see docs/it-guide.md).
"""

from __future__ import annotations

from pathlib import Path

from kivy.clock import Clock
from kivy.properties import BooleanProperty
from kivy.uix.vkeyboard import VKeyboard
from kivy.uix.widget import Widget

#: On-screen keyboards with each language's letters (QWERTY frame; ЙЦУКЕН for Russian).
KEYBOARDS_DIR = Path(__file__).resolve().parents[1] / "keyboards"


def keyboard_layout(language: str) -> str:
    """The VKeyboard layout for a language: our JSON file, else Kivy's QWERTY."""
    path = KEYBOARDS_DIR / f"{language}.json"
    return str(path) if path.exists() else "qwerty"


def types_own_script(language: str) -> bool:
    """Whether the keyboard for `language` has its letters (English's are QWERTY's own)."""
    return language == "en" or (KEYBOARDS_DIR / f"{language}.json").exists()


class ScreenKeyboard(VKeyboard):
    """A `VKeyboard` that stays where the layout puts it, redraws when it is resized, and
    holds its keys only while its screen is shown."""

    #: Whether its screen is on the window. Hidden, it keeps no key widgets or textures: the
    #: two keyboards (setup, comment) cost ~7.5 MiB drawn, on screens customers rarely see.
    shown = BooleanProperty(False)

    def on_kv_post(self, base_widget: Widget) -> None:
        # The keyboard lays its keys out only when its layout loads, while its screen is
        # still off the window and unsized: draw it again whenever its size settles.
        redraw = Clock.create_trigger(self._redraw, 0.05)
        self.bind(size=redraw, pos=redraw, layout=redraw, shown=redraw)

    def draw_keys(self) -> None:
        if self.shown:
            super().draw_keys()
        else:
            self.clear_widgets()
            self.background_key_layer.clear()

    def _redraw(self, _dt: float) -> None:
        if self.layout in self.available_layouts:  # a new JSON layout loads first
            self.refresh(True)
