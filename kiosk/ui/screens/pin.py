"""The PIN screen: a big keypad IT uses to open the status screen."""

from __future__ import annotations

from kivy.factory import Factory
from kivy.properties import DictProperty, ObjectProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.ui import words
from kiosk.ui.screens import KioskScreen

#: Keypad keys in reading order (3 columns).
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "ok")
#: The keys that show a word (a msgid, in the current language) rather than their digit.
LABELS = {"clear": words.CLEAR, "ok": words.CONFIRM}
MAX_DIGITS = 8


class PinScreen(KioskScreen):
    """Fires `on_pin(pin)` on OK and `on_cancel()` on Cancel."""

    entered = StringProperty("")
    message = StringProperty("")
    keys = DictProperty({})
    pad = ObjectProperty(None, allownone=True)
    cancel_button = ObjectProperty(None, allownone=True)

    __events__ = ("on_pin", "on_cancel")

    def on_kv_post(self, base_widget: Widget) -> None:
        keys = {}
        for key in KEYS:
            cls = Factory.PinConfirmKey if key == "ok" else Factory.PinKey
            button = cls()
            button.msgid = LABELS.get(key, key)  # (a kv-declared property: set once built)
            button.bind(on_release=lambda _button, key=key: self.press_key(key))
            self.pad.add_widget(button)
            keys[key] = button
        self.keys = keys

    def reset(self, message: str = "") -> None:
        self.entered = ""
        self.message = message

    def press_key(self, key: str) -> None:
        """A keypad key: a digit, `clear` or `ok`."""
        if key == "clear":
            self.entered = ""
        elif key == "ok":
            pin, self.entered = self.entered, ""
            self.dispatch("on_pin", pin)
        elif len(self.entered) < MAX_DIGITS:
            self.entered += key

    def on_pin(self, pin: str) -> None:
        """Fired with the digits entered."""

    def on_cancel(self) -> None:
        """Fired when IT leaves without a PIN."""

    def target_groups(self) -> dict[str, list[tuple[str, Widget]]]:
        return {"pin": [*self.keys.items(), ("cancel", self.cancel_button)]}
