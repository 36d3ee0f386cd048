"""The setup screen: first start without enrollment — server address and one-time code.

IT's re-enroll (from the status screen) shows it too, with a Cancel that goes back.
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

from kiosk.ui import words
from kiosk.ui.screens import KioskScreen


class SetupScreen(KioskScreen):
    """Asks IT for the server URL and code, typed on the on-screen keyboard (a Pi may have
    nothing else) or a real one; fires `on_enroll(server_url, code)`, and `on_cancel()` when
    IT leaves a re-enroll without enrolling."""

    server_url = StringProperty("")
    code = StringProperty("")
    error = StringProperty("")
    busy = BooleanProperty(False)
    #: Re-enrolling a kiosk that has an enrollment: IT may go back without a new one.
    can_cancel = BooleanProperty(False)
    url_input = ObjectProperty(None, allownone=True)
    code_input = ObjectProperty(None, allownone=True)
    keyboard = ObjectProperty(None, allownone=True)
    enroll_button = ObjectProperty(None, allownone=True)
    cancel_button = ObjectProperty(None, allownone=True)
    #: The field the on-screen keyboard types into: the one focused last.
    typing_into = ObjectProperty(None, allownone=True)

    __events__ = ("on_enroll", "on_cancel")

    def show(self, *, can_cancel: bool, server_url: str | None) -> None:
        """A fresh form (prefilled with `server_url` for a re-enroll; None keeps the fields)."""
        self.can_cancel = can_cancel
        if server_url is not None:
            self.server_url = server_url
            self.code = ""
            self.error = ""
            self.busy = False

    def show_result(self, error: str) -> None:
        """Enrollment finished, with `error` (a msgid) or without one."""
        self.busy = False
        self.error = error

    def on_enter(self, *_args: object) -> None:
        # The keyboard types into the first field still to fill until IT taps the other one.
        # (Not focused here: a field left focused keeps the window's keyboard from others.)
        empty_code = self.server_url and not self.code
        self.typing_into = self.code_input if empty_code else self.url_input

    def on_leave(self, *_args: object) -> None:
        for field in (self.url_input, self.code_input):
            field.focus = False

    def type_into(self, field: TextInput) -> None:
        """A field got focus: the on-screen keyboard types into it from now on."""
        self.typing_into = field

    def type_text(self, text: str) -> None:
        """A character from the on-screen keyboard, at the cursor of the field typed into."""
        if not self.busy:  # (a disabled VKeyboard can't draw: Kivy 2.3 lacks its textures)
            (self.typing_into or self.url_input).insert_text(text)

    def key_down(self, keycode: str | None) -> None:
        """A special key from the on-screen keyboard: backspace edits, enter moves on."""
        field = self.typing_into or self.url_input
        if self.busy:
            return
        if keycode == "backspace":
            field.do_backspace()
        elif keycode == "enter":
            field.dispatch("on_text_validate")

    def submit(self) -> None:
        """The Enroll button: check the inputs are there, then ask the app to enroll."""
        server_url, code = self.server_url.strip(), self.code.strip()
        if not server_url or not code:
            self.error = words.MISSING_INPUT
            return
        self.error = ""
        self.busy = True
        self.dispatch("on_enroll", server_url, code)

    def on_enroll(self, server_url: str, code: str) -> None:
        """Fired when IT presses Enroll with both fields filled."""

    def on_cancel(self) -> None:
        """Fired when IT presses Cancel (only offered when re-enrolling)."""

    def target_groups(self) -> dict[str, list[tuple[str, Widget]]]:
        buttons = [("enroll", self.enroll_button)]
        if self.can_cancel:
            buttons.append(("cancel", self.cancel_button))
        return {"setup": buttons}
