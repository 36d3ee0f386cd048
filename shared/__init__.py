"""Smiletap's shared core: survey model, protocol messages, scoring and time helpers.

Pure Python (no Kivy, no Flask), imported by both the kiosk and the server.
"""

__version__ = "0.1.0"
