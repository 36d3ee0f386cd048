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


def face_words(language: str, scale: int) -> list[str]:
    """The captions for a smiley scale, unhappiest first (English when the language is new)."""
    catalog = translations(language)
    return [catalog.gettext(FACE_WORDS[i]) for i in _PICK[scale]]


def scale_ends(language: str, kind: str) -> tuple[str, str]:
    """The words under the lowest and the highest key of a numbered scale (`nps`, `ces`,
    `csat`), in `language`."""
    catalog = translations(language)
    low, high = SCALE_ENDS[kind]
    return catalog.gettext(low), catalog.gettext(high)


INVALID_CODE = "That code is not valid or has expired"
UNREACHABLE = "Can't reach the server"
INSECURE_URL = "Use an https:// address: http:// would send the device key unencrypted"
RATE_LIMITED = "Too many tries. Wait a minute, then try again"
SERVER_PROBLEM = "The server refused. Ask IT to check the server"
MISSING_INPUT = "Enter the server address and the code"
SETTING_UP = "Setting up…"
OUT_OF_SERVICE = "Out of service"
CLOSED = "Closed"
UNAVAILABLE = "Temporarily unavailable"
THANK_YOU = "Thank you!"
#: The comment's hint when the on-screen keyboard has no letters of the customer's script
#: (zh-Hant: there is no IME; the keyboard types Latin letters).
COMMENT_HINT = "Add a comment (optional)"
COMMENT_HINT_LATIN = "Add a comment in Latin letters (optional)"

# IT's screens: setup, the PIN pad and the status screen.
SERVER_ADDRESS = "Server address"
ENROLLMENT_CODE = "Enrollment code"
CANCEL = "Cancel"
IT_PIN = "IT PIN"
CLEAR = "Clear"
CONFIRM = "Confirm"
NO_PIN = "No IT PIN is set. Run: smiletap-kiosk enroll --pin NNNN"
WRONG_PIN = "Wrong PIN"
LOCKED = "Too many wrong PINs. Wait a minute."
SYNC_NOW = "Sync now"
SYNCING = "Syncing…"
REENROLL = "Re-enroll"
BACK = "Back"
QUIT = "Quit kiosk"
