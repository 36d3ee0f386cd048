"""Loading the kiosk's kv files (layout in `.kv`, logic in the `.py` beside each).

Kept apart from the `kiosk.ui` package itself so that a screen importing `kiosk.ui.words`
never imports the module that imports every screen.
"""

from __future__ import annotations

from pathlib import Path

UI_DIR = Path(__file__).parent

#: Loaded in this order: the shared style first, then widgets, then the screens using them.
KV_FILES = (
    "style.kv",
    "widgets/face.kv",
    "widgets/chip.kv",
    "widgets/keyboard.kv",
    "screens/setup.kv",
    "screens/waiting.kv",
    "screens/question.kv",
    "screens/followup.kv",
    "screens/comment.kv",
    "screens/staff.kv",
    "screens/thanks.kv",
    "screens/pin.kv",
    "screens/status.kv",
)

_loaded = False


def load_kv() -> None:
    """Load every kv file once (Kivy would apply rules loaded twice twice)."""
    global _loaded
    if _loaded:
        return
    from kivy.lang import Builder

    # Import the classes the kv rules name, so the Factory knows them.
    from kiosk.ui.screens import (  # noqa: F401
        comment,
        followup,
        pin,
        question,
        setup,
        staff,
        status,
        thanks,
        waiting,
    )
    from kiosk.ui.widgets import chip, face, keyboard  # noqa: F401

    for name in KV_FILES:
        Builder.load_file(str(UI_DIR / name))
    _loaded = True
