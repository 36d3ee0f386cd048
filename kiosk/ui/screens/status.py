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
    buttons = DictProperty({})

    __events__ = ("on_action",)

    def on_kv_post(self, base_widget: Widget) -> None:
        self.buttons = {name: self.ids[name] for name in ACTIONS}

    def show(self, text: str, *, busy: bool) -> None:
        """The status lines, and whether a manual sync is running."""
        self.text = text
        self.busy = busy

    def on_action(self, name: str) -> None:
        """Fired with the button's action."""

    def target_groups(self) -> dict[str, list[tuple[str, Widget]]]:
        return {"status": list(self.buttons.items())}
