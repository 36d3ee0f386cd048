"""The waiting screen: enrolled, but no survey to show yet (never a customer-facing error).

The same screen, dimmed, is the `closed` screen shown outside the store's opening hours.
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui import words
from kiosk.ui.screens import KioskScreen


class WaitingScreen(KioskScreen):
    """A calm message while the kiosk has nothing to ask; it takes no taps."""

    message = StringProperty(words.SETTING_UP)
    #: Dark and quiet: the store is closed.
    dim = BooleanProperty(False)
