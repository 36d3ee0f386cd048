"""Words the kiosk shows that do not come from the survey, as gettext msgids (English).

The words around an answer scale (faces' captions, scale ends) come from
`shared.answer_scale`, which the survey editor's preview uses too.

They are translated through `kiosk.i18n.translations` (catalogs in `kiosk/locale`); a kv rule
or the app calls `gettext` on them in the current language.
"""

from __future__ import annotations

from kiosk.i18n import translations

# The words around an answer scale are shared with the survey editor's preview: one source,
# re-exported here beside the kiosk's other words.
from shared import answer_scale
from shared.answer_scale import CES_HIGH as CES_HIGH
from shared.answer_scale import CES_LOW as CES_LOW
from shared.answer_scale import CSAT_HIGH as CSAT_HIGH
from shared.answer_scale import CSAT_LOW as CSAT_LOW
from shared.answer_scale import FACE_WORDS as FACE_WORDS
from shared.answer_scale import NPS_HIGH as NPS_HIGH
from shared.answer_scale import NPS_LOW as NPS_LOW
from shared.answer_scale import SCALE_ENDS as SCALE_ENDS


def face_words(language: str, scale: int) -> list[str]:
    """The captions for a smiley scale, unhappiest first (English when the language is new)."""
    catalog = translations(language)
    return [catalog.gettext(word) for word in answer_scale.face_words(scale)]


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
#: Small print under "Out of service": what IT does next (a customer can ignore it).
REVOKED_HINT = (
    "For IT: hold the top-left corner to open the IT screen, enter the IT PIN and choose "
    "Re-enroll with a new code from the dashboard."
)
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
