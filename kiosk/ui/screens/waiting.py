"""The waiting screen: enrolled, but no survey to show yet (never a customer-facing error)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui import words
from kiosk.ui.screens import KioskScreen


class WaitingScreen(KioskScreen):
    """A calm message while the kiosk has nothing to ask."""

    message = StringProperty(words.SETTING_UP)
