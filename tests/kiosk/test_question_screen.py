"""The question screen's answer rows: words under the faces, and under the two ends of a scale."""

from __future__ import annotations

import itertools

import pytest
from kivy.core.window import Window

from kiosk.i18n import translations
from kiosk.ui import words
from kiosk.ui.screens.question import answer_options
from shared.survey import Question
from tests.kiosk.conftest import make_config
from tests.kiosk.window import ARTIFACTS, FAST, frames, pump, snap

LANGUAGES = ["en", "pl", "ru", "ro", "zh-Hant"]
#: Each numbered kind with its largest scale, and the words under its ends (msgids).
SCALES = {
    "nps": (11, words.NPS_LOW, words.NPS_HIGH),
    "ces": (7, words.CES_LOW, words.CES_HIGH),
    "csat": (5, words.CSAT_LOW, words.CSAT_HIGH),
}
SIZES = [(800, 480), (1280, 800), (1920, 1080), (800, 1280)]
#: A frame or two of layout, however slow the machine: the idle reset must not come first.
HOLD = {**FAST, "idle_reset_s": 60}


def question(kind: str, scale: int) -> dict:
    text = {"en": "The store made it easy to find what I wanted", "pl": "Łatwo było znaleźć"}
    text |= {"ru": "Было легко найти", "ro": "A fost ușor", "zh-Hant": "很容易找到想要的商品"}
    return {"id": kind, "kind": kind, "scale": scale, "text": text}


def survey(kind: str, scale: int) -> dict:
    return {
        "languages": LANGUAGES,
        "questions": [question(kind, scale)],
        "thank_you": dict.fromkeys(LANGUAGES, "!"),
    }


@pytest.mark.parametrize("kind", SCALES)
@pytest.mark.parametrize("language", ["en", "pl", "zh-Hant"])
def test_a_numbered_scale_has_words_under_its_two_ends_only(kind, language):
    scale, low, high = SCALES[kind]
    if kind == "ces":
        scale = 5  # both CES scales take the same words
    options = answer_options(Question.model_validate(question(kind, scale)), language)
    catalog = translations(language)
    assert [o["word"] for o in options] == [catalog.gettext(low), *[""] * (len(options) - 2),
                                            catalog.gettext(high)]  # fmt: skip
    assert [o["align"] for o in options] == ["left", *["center"] * (len(options) - 2), "right"]
    if language != "en":
        assert catalog.gettext(low) != low and catalog.gettext(high) != high


def test_a_smiley_scale_has_a_word_under_every_face():
    smiley = Question.model_validate({**question("smiley", 4), "kind": "smiley"})
    options = answer_options(smiley, "pl")
    assert [o["word"] for o in options] == words.face_words("pl", 4)
    assert {o["align"] for o in options} == {"center"}
    assert [o["mood"] for o in options] == [0, 1 / 3, 2 / 3, 1]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("kind", SCALES)
def test_the_end_words_sit_right_under_the_first_and_last_key(make_kiosk, kind, size):
    """Not in a row far below: each word starts under its key, inside the window, apart."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Window.size = size
    frames()
    scale, low, high = SCALES[kind]
    kiosk = make_kiosk(make_config(kiosk=HOLD, survey=survey(kind, scale)))
    for language in ("en", "pl", "zh-Hant"):
        kiosk.app.question_screen.dispatch("on_pick_language", language)
        catalog = translations(language)
        first, *middle, last = kiosk.targets()

        def settled(first=first, last=last) -> bool:
            key = first.drawing
            caption = first.ids.caption
            return caption.texture_size[1] > 0 and abs(key.y - caption.top - 6) < 12

        pump(5, until=settled)
        frames()
        assert first.ids.caption.text == catalog.gettext(low)
        assert last.ids.caption.text == catalog.gettext(high)
        assert all(t.ids.caption.text == "" for t in middle)
        heights = {round(t.drawing.height) for t in (first, *middle, last)}
        assert len(heights) == 1  # every key the same height
        low_word, high_word = first.ids.caption, last.ids.caption
        for target, caption in ((first, low_word), (last, high_word)):
            # right under its key: no more than a finger's gap between key and word
            assert 0 <= target.drawing.y - caption.top < 20
            assert caption.texture_size[1] <= caption.height + 1
            left, bottom = caption.to_window(caption.x, caption.y)
            assert left >= 0 and left + caption.width <= Window.width and bottom >= 0
        assert abs(low_word.x - first.x) < 4  # starts where the first key starts
        assert abs(high_word.right - last.right) < 4  # ends where the last key ends
        assert low_word.right < high_word.x  # the two never touch
        snap(kiosk, f"scale-{kind}-{language}-{size[0]}x{size[1]}.png")


#: 12 mm at the Raspberry Pi 7" display's ~133 dpi (800×480): the smallest sure finger target.
MIN_KEY_PX = 63


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_nps_keys_are_12_mm_wide_at_every_size(make_kiosk, size):
    """Eleven keys side by side, each at least 12 mm on the 7" display, all inside the window
    and apart from each other (they were 54 px = 10 mm at 800×480)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Window.size = size
    frames()
    kiosk = make_kiosk(make_config(kiosk=HOLD, survey=survey("nps", 11)))
    targets = kiosk.targets()
    pump(5, until=lambda: targets[0].drawing.key_width > 0 and targets[-1].right > 0)
    frames()
    assert len(targets) == 11
    keys = []
    for target in targets:
        drawing = target.drawing
        assert drawing.key_width >= MIN_KEY_PX, (size, drawing.key_width)
        assert drawing.key_height >= MIN_KEY_PX, (size, drawing.key_height)
        left, _ = drawing.to_window(drawing.center_x - drawing.key_width / 2, drawing.y)
        keys.append((left, left + drawing.key_width))
    assert keys[0][0] >= 0 and keys[-1][1] <= Window.width
    assert all(a[1] + 4 <= b[0] for a, b in itertools.pairwise(keys))  # a gap between
    snap(kiosk, f"nps-keys-{size[0]}x{size[1]}.png")
