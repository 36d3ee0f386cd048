"""The kiosk's Kivy screens and widgets: layout in `.kv`, logic in the `.py` beside it."""

from __future__ import annotations

from pathlib import Path

UI_DIR = Path(__file__).parent

#: Loaded in this order: the shared style first, then widgets, then the screens using them.
KV_FILES = (
    "style.kv",
    "widgets/face.kv",
    "screens/setup.kv",
    "screens/waiting.kv",
    "screens/question.kv",
    "screens/thanks.kv",
)

_loaded = False


def load_kv() -> None:
    """Load every kv file once (Kivy would apply rules loaded twice twice)."""
    global _loaded
    if _loaded:
        return
    from kivy.lang import Builder

    # Import the classes the kv rules name, so the Factory knows them.
    from kiosk.ui.screens import question, setup, thanks, waiting  # noqa: F401
    from kiosk.ui.widgets import face  # noqa: F401

    for name in KV_FILES:
        Builder.load_file(str(UI_DIR / name))
    _loaded = True
