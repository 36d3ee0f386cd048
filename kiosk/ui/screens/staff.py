"""The staff screen: "who served you today?" with each name as a big button, and Skip."""

from __future__ import annotations

from kivy.properties import ListProperty, ObjectProperty
from kivy.uix.widget import Widget

from kiosk.ui.screens import KioskScreen


class StaffScreen(KioskScreen):
    """Fires `on_pick_staff(staff_id)` for a name, `on_pick_staff(None)` for Skip."""

    staff = ListProperty([])  # (staff id, display name) pairs
    grid = ObjectProperty(None, allownone=True)
    skip_button = ObjectProperty(None, allownone=True)

    __events__ = ("on_pick_staff",)

    def show(self, staff: list[tuple[str, str]]) -> None:
        """A fresh roster: nobody chosen yet."""
        self.grid.chosen = []
        self.staff = staff

    def on_pick_staff(self, staff_id: str | None) -> None:
        """Fired with the chosen staff id, or None."""

    def target_groups(self) -> dict[str, list[tuple[str, Widget]]]:
        names = [(chip.key, chip) for chip in self.grid.chips]
        return {"staff": [*names, ("skip", self.skip_button)]}
