"""Catalogs and fonts: every language has every word, and its font has every glyph."""

from __future__ import annotations

import ast
import gettext
import io
import json
import re
from pathlib import Path

import kivy
import pytest
from fontTools.ttLib import TTFont

from kiosk import status
from kiosk.catalogs import mo_bytes, parse_po, po_files
from kiosk.fonts import ROBOTO, TC_FAMILY, font_for
from kiosk.i18n import CATALOG_LANGUAGES, LANGUAGE_NAMES, catalog_name, translations
from kiosk.ui import words

DEMO_SURVEY = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "demo-survey.json"
KIVY_FONTS = Path(kivy.__file__).parent / "data" / "fonts"


def catalog(language: str) -> dict[str, str]:
    path = next(p for p in po_files() if p.parts[-3] == catalog_name(language))
    return {k: v for k, v in parse_po(path.read_text(encoding="utf-8")).items() if k}


def test_every_language_has_a_complete_catalog():
    english = set(catalog("en"))
    assert set(words.FACE_WORDS) | {words.NPS_LOW, words.NPS_HIGH, words.SETTING_UP} <= english
    for language in CATALOG_LANGUAGES:
        assert set(catalog(language)) == english, language


def status_msgids() -> set[str]:
    """The msgids `kiosk/status.py` passes to its `_` (the status screen's words)."""
    tree = ast.parse(Path(status.__file__).read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_" and node.args
    }


def test_every_word_the_kiosk_shows_is_in_the_catalogs():
    english = set(catalog("en"))
    constants = {v for k, v in vars(words).items() if k.isupper() and isinstance(v, str)}
    ends = {word for pair in words.SCALE_ENDS.values() for word in pair}
    assert len(status_msgids()) > 15
    assert constants | ends | status_msgids() <= english


def fields(text: str) -> list[str]:
    return sorted(re.findall(r"\{(\w+)\}", text))


def test_status_words_keep_their_fields_in_every_language():
    for language in CATALOG_LANGUAGES:
        for msgid in status_msgids():
            assert fields(translations(language).gettext(msgid)) == fields(msgid), msgid


def _messages(mo: bytes) -> dict[object, str]:
    """What a compiled catalog translates, without its header (which names the compiler)."""
    found = dict(gettext.GNUTranslations(io.BytesIO(mo))._catalog)  # type: ignore[attr-defined]
    found.pop("", None)
    return found


def test_shipped_mo_files_match_their_po_files():
    for po in po_files():
        fresh = mo_bytes(parse_po(po.read_text("utf-8")))
        assert _messages(po.with_suffix(".mo").read_bytes()) == _messages(fresh), po


def test_translations_are_loaded_from_the_mo_files():
    assert isinstance(translations("zh-Hant"), gettext.GNUTranslations)
    assert translations("pl").gettext("Done") == "Gotowe"
    assert translations("zh-Hant").gettext("Very good") == "非常滿意"
    assert translations("de").gettext("Done") == "Done"  # no catalog: English


def demo_texts(language: str) -> list[str]:
    """Every text the demo survey has in this language."""
    survey = json.loads(DEMO_SURVEY.read_text(encoding="utf-8"))
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if language in node and isinstance(node[language], str):
                found.append(node[language])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(survey)
    return found


def font_files(language: str, data_dir: Path) -> list[Path]:
    """The font files Kivy draws this language with (regular and bold for Roboto)."""
    family = font_for(language, data_dir)
    if family is ROBOTO:
        return [KIVY_FONTS / "Roboto-Regular.ttf", KIVY_FONTS / "Roboto-Bold.ttf"]
    assert family.bold is not None
    return [Path(family.regular), Path(family.bold)]


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_the_font_of_each_language_has_every_glyph_it_needs(language, tmp_path):
    needed = [*catalog(language).values(), *demo_texts(language), LANGUAGE_NAMES[language]]
    chars = {c for text in needed for c in text if not c.isspace()}
    for path in font_files(language, tmp_path):
        with TTFont(str(path), lazy=True) as font:
            cmap = font.getBestCmap()
            missing = sorted(c for c in chars if ord(c) not in cmap)
        assert not missing, f"{path.name} lacks {missing} for {language}"


def test_zh_hant_uses_the_traditional_chinese_face(tmp_path):
    regular, bold = font_files("zh-Hant", tmp_path)
    for path, name in ((regular, "Noto Sans CJK TC"), (bold, "Noto Sans CJK TC Bold")):
        with TTFont(str(path), lazy=True) as font:
            assert font["name"].getDebugName(4) == name
    modified = regular.stat().st_mtime_ns
    assert font_for("zh-Hant", tmp_path).name == TC_FAMILY
    assert regular.stat().st_mtime_ns == modified  # extracted once, then reused
