"""Languages the kiosk speaks: names in their own script and gettext catalogs (no Kivy).

Survey texts come from the survey; the kiosk's own words (face captions, buttons, setup and
waiting messages) come from the `smiletap` catalogs in `kiosk/locale`. A survey language
`zh-Hant` lives in the catalog directory `zh_Hant` (gettext's spelling).
"""

from __future__ import annotations

import gettext
from functools import cache

from kiosk.catalogs import DOMAIN, LOCALE_DIR

#: Each language's name in its own script, as its chip shows it.
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "pl": "Polski",
    "ru": "Русский",
    "ro": "Română",
    "zh-Hant": "繁體中文",
}

#: Languages with a catalog (English is the msgids themselves).
CATALOG_LANGUAGES = ("en", "pl", "ru", "ro", "zh-Hant")


def language_name(code: str) -> str:
    """The chip label for a language (its code when we have no name for it)."""
    return LANGUAGE_NAMES.get(code, code)


def catalog_name(code: str) -> str:
    """gettext's directory name for a survey language code (`zh-Hant` → `zh_Hant`)."""
    return code.replace("-", "_")


@cache
def translations(code: str) -> gettext.NullTranslations:
    """The catalog for a language; untranslated (English) words when there is none."""
    return gettext.translation(DOMAIN, LOCALE_DIR, [catalog_name(code)], fallback=True)
