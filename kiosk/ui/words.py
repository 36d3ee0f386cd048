"""Words the kiosk shows that do not come from the survey: face captions and setup messages."""

from __future__ import annotations

#: Captions under the faces of a 5-face scale, per language; 3 and 4 faces take a subset.
FACE_WORDS: dict[str, tuple[str, str, str, str, str]] = {
    "en": ("Very bad", "Bad", "OK", "Good", "Very good"),
    "pl": ("Bardzo źle", "Źle", "Tak sobie", "Dobrze", "Bardzo dobrze"),
    "ru": ("Очень плохо", "Плохо", "Нормально", "Хорошо", "Отлично"),
    "ro": ("Foarte rău", "Rău", "Așa și așa", "Bine", "Foarte bine"),
    "zh-Hant": ("非常不滿意", "不滿意", "普通", "滿意", "非常滿意"),
}

#: Which of the five captions each scale uses.
_PICK = {3: (1, 2, 3), 4: (0, 1, 3, 4), 5: (0, 1, 2, 3, 4)}


def face_words(language: str, scale: int) -> list[str]:
    """The captions for a smiley scale, unhappiest first (English when the language is new)."""
    words = FACE_WORDS.get(language) or FACE_WORDS["en"]
    return [words[i] for i in _PICK[scale]]


INVALID_CODE = "That code is not valid or has expired"
UNREACHABLE = "Can't reach the server"
RATE_LIMITED = "Too many tries. Wait a minute, then try again"
SERVER_PROBLEM = "The server refused. Ask IT to check the server"
MISSING_INPUT = "Enter the server address and the code"
SETTING_UP = "Setting up…"
OUT_OF_SERVICE = "Out of service"
