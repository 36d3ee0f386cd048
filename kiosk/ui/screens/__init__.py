"""The kiosk's screens, one `.py` and one `.kv` each."""

from __future__ import annotations

from kivy.uix.screenmanager import Screen


class KioskScreen(Screen):
    """Base of every kiosk screen (its background is drawn by `style.kv`)."""
