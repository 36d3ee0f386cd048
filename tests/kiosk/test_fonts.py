"""Copying a face out of a font collection: clear errors, never a half-written file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.fonts import (
    FACE_FOR_LANGUAGE,
    ROBOTO,
    FontMissingError,
    chip_font_for,
    extract_face,
    font_for,
)

REGULAR_TTC = FACE_FOR_LANGUAGE["zh-Hant"][2][0]


def test_a_missing_collection_is_named(tmp_path: Path) -> None:
    with pytest.raises(FontMissingError, match=r"nowhere\.ttc is not installed"):
        extract_face(tmp_path / "nowhere.ttc", "Noto Sans CJK TC", tmp_path / "out.otf")


def test_a_file_that_is_not_a_font_fails_cleanly(tmp_path: Path) -> None:
    junk = tmp_path / "junk.ttc"
    junk.write_bytes(b"this is not a font collection")
    with pytest.raises(FontMissingError):
        extract_face(junk, "Noto Sans CJK TC", tmp_path / "out.otf")
    assert list(tmp_path.iterdir()) == [junk]  # no partial output left behind


@pytest.mark.skipif(not REGULAR_TTC.exists(), reason="fonts-noto-cjk is not installed")
def test_an_unknown_face_is_named(tmp_path: Path) -> None:
    with pytest.raises(FontMissingError, match="has no face 'No Such Face'"):
        extract_face(REGULAR_TTC, "No Such Face", tmp_path / "out.otf")
    assert not (tmp_path / "out.otf").exists()


@pytest.mark.skipif(not REGULAR_TTC.exists(), reason="fonts-noto-cjk is not installed")
def test_a_chip_font_holds_only_its_words_glyphs(tmp_path: Path) -> None:
    from fontTools.ttLib import TTFont

    whole = font_for("zh-Hant", tmp_path)
    chip = chip_font_for("zh-Hant", "繁體中文", tmp_path)
    assert chip.name != whole.name and Path(chip.regular).exists()
    assert Path(chip.regular).stat().st_size * 100 < Path(whole.regular).stat().st_size
    with TTFont(chip.regular) as font:
        mapped = set(font.getBestCmap())
    assert {ord(c) for c in "繁體中文"} <= mapped and ord("好") not in mapped
    assert chip_font_for("zh-Hant", "中文繁體", tmp_path) == chip  # same glyphs, same file
    assert chip_font_for("en", "English", tmp_path) is ROBOTO
