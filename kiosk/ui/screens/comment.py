"""The comment screen: an optional comment typed on a docked on-screen keyboard."""

from __future__ import annotations

from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.ui.screens import KioskScreen

#: The protocol's limit on a comment's length.
MAX_COMMENT = 2000


class CommentScreen(KioskScreen):
    """Fires `on_comment(text)` on Send, `on_comment(None)` on Skip."""

    text = StringProperty("")
    skip_button = ObjectProperty(None, allownone=True)
    send_button = ObjectProperty(None, allownone=True)
    keyboard = ObjectProperty(None, allownone=True)

    __events__ = ("on_comment",)

    def show(self) -> None:
        """A fresh comment: nothing typed yet."""
        self.text = ""

    def type_text(self, text: str) -> None:
        """A character from the on-screen keyboard."""
        self.text = (self.text + text)[:MAX_COMMENT]

    def key_down(self, keycode: str | None) -> None:
        """A special key from the on-screen keyboard (only backspace edits)."""
        if keycode == "backspace":
            self.text = self.text[:-1]

    def send(self) -> None:
        self.dispatch("on_comment", self.text.strip() or None)

    def skip(self) -> None:
        self.dispatch("on_comment", None)

    def on_comment(self, text: str | None) -> None:
        """Fired with the comment, or None when skipped."""

    def target_groups(self) -> dict[str, list[tuple[str, Widget]]]:
        return {"comment": [("skip", self.skip_button), ("send", self.send_button)]}
