"""The setup screen: first start without enrollment — server address and one-time code."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui import words
from kiosk.ui.screens import KioskScreen


class SetupScreen(KioskScreen):
    """Asks IT for the server URL and code; fires `on_enroll(server_url, code)`."""

    server_url = StringProperty("")
    code = StringProperty("")
    error = StringProperty("")
    busy = BooleanProperty(False)

    __events__ = ("on_enroll",)

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
