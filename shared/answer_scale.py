"""What an answer scale shows around its values: the words under it and each value's mood.

The kiosk draws the scale (`kiosk/ui/screens/question.py`, `kiosk/ui/widgets/face.py`) and the
survey editor's live preview draws the same (`server/dashboard/survey_preview.py`); both take
the words and the faces from here, so the preview cannot say other words than the kiosk. The
words are gettext message ids (English): the kiosk translates them with its catalogs.
"""

from __future__ import annotations

import colorsys

#: Captions under the faces of a 5-face scale; 3 and 4 faces take a subset (`face_words`).
FACE_WORDS = ("Very bad", "Bad", "OK", "Good", "Very good")

#: Which of the five captions each smiley scale uses.
_FACE_PICK = {3: (1, 2, 3), 4: (0, 1, 3, 4), 5: (0, 1, 2, 3, 4)}

#: Under the two ends of an NPS scale.
NPS_LOW = "Not at all likely"
NPS_HIGH = "Extremely likely"
#: Under the two ends of a CES scale: an agreement scale ("The store made it easy to …").
CES_LOW = "Strongly disagree"
CES_HIGH = "Strongly agree"
#: Under the two ends of a CSAT scale.
CSAT_LOW = "Very dissatisfied"
CSAT_HIGH = "Very satisfied"

#: The words under the lowest and the highest key of each numbered scale.
SCALE_ENDS = {
    "nps": (NPS_LOW, NPS_HIGH),
    "ces": (CES_LOW, CES_HIGH),
    "csat": (CSAT_LOW, CSAT_HIGH),
}

#: Hues (degrees) of the unhappiest and the happiest face: red to green through amber.
UNHAPPY_HUE = 4.0
HAPPY_HUE = 122.0


def face_words(scale: int) -> tuple[str, ...]:
    """The message ids under the faces of a smiley scale (3, 4 or 5 faces), unhappiest first."""
    return tuple(FACE_WORDS[i] for i in _FACE_PICK[scale])


def mood(value: int, low: int, high: int) -> float:
    """Where a value sits on its scale: 0 at the unhappiest end, 1 at the happiest."""
    return (value - low) / (high - low)


def mood_colour(mood: float) -> tuple[float, float, float, float]:
    """A face's colour (RGBA, 0..1): red (0) through amber (0.5) to green (1), equally bright
    all the way."""
    mood = min(1.0, max(0.0, mood))
    hue = UNHAPPY_HUE + (HAPPY_HUE - UNHAPPY_HUE) * mood
    r, g, b = colorsys.hsv_to_rgb(hue / 360, 0.72, 0.90 - 0.18 * mood)
    return r, g, b, 1.0


def mood_hex(mood: float) -> str:
    """`mood_colour` as `#rrggbb`, for a web page."""
    r, g, b, _ = mood_colour(mood)
    return "#" + "".join(f"{round(channel * 255):02x}" for channel in (r, g, b))


__all__ = [
    "CES_HIGH",
    "CES_LOW",
    "CSAT_HIGH",
    "CSAT_LOW",
    "FACE_WORDS",
    "HAPPY_HUE",
    "NPS_HIGH",
    "NPS_LOW",
    "SCALE_ENDS",
    "UNHAPPY_HUE",
    "face_words",
    "mood",
    "mood_colour",
    "mood_hex",
]
