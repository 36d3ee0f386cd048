"""Words the kiosk shows that do not come from the survey, as gettext msgids (English).

They are translated through `kiosk.i18n.translations` (catalogs in `kiosk/locale`); a kv rule
or the app calls `gettext` on them in the current language.
"""

from __future__ import annotations

from kiosk.i18n import translations

#: Captions under the faces of a 5-face scale; 3 and 4 faces take a subset.
FACE_WORDS = ("Very bad", "Bad", "OK", "Good", "Very good")

#: Which of the five captions each scale uses.
_PICK = {3: (1, 2, 3), 4: (0, 1, 3, 4), 5: (0, 1, 2, 3, 4)}

#: Under the two ends of an NPS scale.
NPS_LOW = "Not at all likely"
NPS_HIGH = "Extremely likely"


def face_words(language: str, scale: int) -> list[str]:
    """The captions for a smiley scale, unhappiest first (English when the language is new)."""
    catalog = translations(language)
    return [catalog.gettext(FACE_WORDS[i]) for i in _PICK[scale]]


INVALID_CODE = "That code is not valid or has expired"
UNREACHABLE = "Can't reach the server"
RATE_LIMITED = "Too many tries. Wait a minute, then try again"
SERVER_PROBLEM = "The server refused. Ask IT to check the server"
MISSING_INPUT = "Enter the server address and the code"
SETTING_UP = "Setting up…"
OUT_OF_SERVICE = "Out of service"
CLOSED = "Closed"
UNAVAILABLE = "Temporarily unavailable"
THANK_YOU = "Thank you!"
