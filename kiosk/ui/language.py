"""The language the screen speaks right now, as Kivy properties every kv rule binds to.

One `UiLanguage` (`current`) for the whole app: kv imports it and binds `font_name` and
`catalog`, so switching language redraws every word at once. The customer's choice lives in
the `SurveySession`; the app copies it here.
"""

from __future__ import annotations

import gettext
from pathlib import Path

from kivy.core.text import LabelBase
from kivy.event import EventDispatcher
from kivy.properties import ObjectProperty, StringProperty

from kiosk.fonts import DEFAULT_FONT, ROBOTO, FontFamily, chip_font_for, font_for
from kiosk.i18n import translations


def font_name_for(language: str, data_dir: Path) -> str:
    """The registered Kivy font name for `language` (its faces extracted on first use)."""
    return _registered(font_for(language, data_dir))


def chip_font_name_for(language: str, text: str, data_dir: Path) -> str:
    """The registered Kivy font name for `text` in `language` alone (a language chip)."""
    return _registered(chip_font_for(language, text, data_dir))


def _registered(family: FontFamily) -> str:
    if family is not ROBOTO:
        LabelBase.register(family.name, family.regular, fn_bold=family.bold)
    return family.name


class UiLanguage(EventDispatcher):
    """The current language code, its gettext catalog and the font that has its glyphs."""

    code = StringProperty("en")
    font_name = StringProperty(DEFAULT_FONT)
    # rebind: kv reads `lang.catalog.gettext(...)`, so a new catalog must re-run the rules.
    catalog = ObjectProperty(gettext.NullTranslations(), rebind=True)

    def use(self, code: str, font_name: str = DEFAULT_FONT) -> None:
        """Switch words and font to `code`."""
        self.catalog = translations(code)
        self.font_name = font_name
        self.code = code

    def gettext(self, message: str) -> str:
        """`message` in the current language."""
        text: str = self.catalog.gettext(message)
        return text


current = UiLanguage()
