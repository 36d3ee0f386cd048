"""The status screen behind the IT PIN: the kiosk's health and IT's buttons."""

from __future__ import annotations

from kivy.properties import BooleanProperty, DictProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.ui.screens import KioskScreen

#: What each button asks the app to do.
ACTIONS = ("sync", "reenroll", "back", "quit")


class StatusScreen(KioskScreen):
    """Shows `text`; fires `on_action(name)` with one of `ACTIONS`."""

    text = StringProperty("")
    busy = BooleanProperty(False)
    #: The sync state (`kiosk.status.STATES`) and its translated word, shown in its colour.
    state = StringProperty("")
    headline = StringProperty("")
    #: `text` split for the layout: its first line (the last sync) beside the state, the rest.
    first_line = StringProperty("")
    details = StringProperty("")
    buttons = DictProperty({})

    __events__ = ("on_action",)

    def on_kv_post(self, base_widget: Widget) -> None:
        self.buttons = {name: self.ids[name] for name in ACTIONS}

    def show(self, text: str, *, busy: bool, state: str = "", headline: str = "") -> None:
        """The status lines, whether a manual sync is running, and the sync state."""
        self.text = text
        self.first_line, _, self.details = text.partition("\n")
        self.busy = busy
        self.state = state
        self.headline = headline

    def on_action(self, name: str) -> None:
        """Fired with the button's action."""

    def target_groups(self) -> dict[str, list[tuple[str, Widget]]]:
        return {"status": list(self.buttons.items())}
