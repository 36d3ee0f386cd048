"""Smiletap's shared core: survey model, protocol messages, scoring and time helpers.

Pure Python (no Kivy, no Flask), imported by both the kiosk and the server.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    #: The one version string: the installed package's (pyproject.toml `version`).
    __version__ = version("smiletap")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
