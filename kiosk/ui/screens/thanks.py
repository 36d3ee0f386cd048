"""The thank-you screen, shown for `thank_you_s` after the last answer."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.screens import KioskScreen


class ThanksScreen(KioskScreen):
    """Shows the survey's `thank_you` text."""

    message = StringProperty("Thank you!")
