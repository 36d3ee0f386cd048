"""The steps after a tap in the offscreen window: reason chips, comment, staff, languages."""

from __future__ import annotations

import logging
import re

import pytest
from kivy.clock import Clock
from kivy.uix.textinput import TextInput

from kiosk.i18n import LANGUAGE_NAMES, translations
from kiosk.ui import words
from kiosk.ui.widgets.keyboard import keyboard_layout
from tests.kiosk.conftest import make_config
from tests.kiosk.window import ARTIFACTS, FAST, frames, press, snap, tap_window, wait_until

#: For tests that walk a customer through the steps: slow frames (a busy CI machine, a first
#: font extraction) must not add up to FAST's 2 s idle reset half-way (back to the question,
#: in English), nor let the thank-you timer return to the question before the assertion.
HOLD = {**FAST, "thank_you_s": 60, "idle_reset_s": 60}

LANGUAGES = ["en", "pl", "ru", "ro", "zh-Hant"]


def texts(en: str, pl: str, ru: str, ro: str, zh: str) -> dict[str, str]:
    return dict(zip(LANGUAGES, (en, pl, ru, ro, zh), strict=True))


QUESTION = {
    "id": "q1",
    "kind": "smiley",
    "scale": 5,
    "text": texts(
        "How was your visit today?",
        "Jak oceniasz dzisiejszą wizytę?",
        "Как прошёл ваш визит?",
        "Cum a fost vizita de azi?",
        "您今天的體驗如何？",
    ),
    "follow_up": {
        "when_at_most": 2,
        "text": texts(
            "What went wrong?",
            "Co poszło nie tak?",
            "Что пошло не так?",
            "Ce nu a mers?",
            "哪裡不好？",
        ),
        "reasons": [
            {
                "id": "wait",
                "text": texts(
                    "Waiting time", "Czas oczekiwania", "Ожидание", "Așteptare", "等候時間"
                ),
            },
            {"id": "staff", "text": texts("Staff", "Obsługa", "Персонал", "Personal", "服務人員")},
            {
                "id": "stock",
                "text": texts(
                    "Product not available", "Brak produktu", "Нет товара", "Produs lipsă", "缺貨"
                ),
            },
            {
                "id": "clean",
                "text": texts("Cleanliness", "Czystość", "Чистота", "Curățenie", "清潔"),
            },
        ],
    },
    "comment": False,
}
STAFF = [{"id": "stf_anna", "display_name": "Anna"}, {"id": "stf_olek", "display_name": "Olek"}]


def survey(**overrides):
    return {
        "languages": LANGUAGES,
        "default_language": "en",
        "questions": [{**QUESTION, **overrides}],
        "thank_you": texts("Thank you!", "Dziękujemy!", "Спасибо!", "Mulțumim!", "謝謝！"),
    }


def spots(caplog, group: str) -> dict[str, tuple[int, int]]:
    """The last logged targets of a group: key → (x, y) from the top-left."""

    def logged() -> list[str]:
        return [m for m in caplog.messages if m.startswith(f"targets {group}: ")]

    wait_until(lambda: bool(logged()))
    lines = logged()
    found = re.findall(r"(\S+)@(\d+),(\d+)", lines[-1].split(": ", 1)[1])
    return {key: (int(x), int(y)) for key, x, y in found}


def test_reason_chips_show_at_or_below_the_threshold_and_update_the_same_row(
    make_kiosk, store, caplog
):
    kiosk = make_kiosk(make_config(kiosk=HOLD, survey=survey()))
    with caplog.at_level(logging.INFO, logger="kiosk"):
        press(kiosk.targets()[1].drawing)  # value 2 == when_at_most
        frames()
        assert kiosk.screen == "followup"
        [first] = store.pending(10, now=0) or [None]  # not yet due: still being answered
        assert first is None and store.count() == 1
        chips = spots(caplog, "reasons")
        assert list(chips) == ["wait", "staff", "stock", "clean", "done"]
        tap_window(*chips["wait"])
        tap_window(*chips["clean"])
        tap_window(*chips["done"])
        frames()
    assert kiosk.screen == "thanks"
    [submission] = store.pending(10)
    assert submission.answers[0].value == 2
    assert submission.answers[0].reasons == ["wait", "clean"]
    assert f"reasons recorded {submission.id} reasons=wait,clean" in caplog.messages
    assert store.count() == 1


def test_a_change_within_a_screen_is_logged_once_drawn(make_kiosk, caplog):
    """A picked chip logs no new targets, but a new layout line once it has been drawn: the
    end-to-end walk waits for it before a screenshot instead of sleeping."""
    kiosk = make_kiosk(make_config(kiosk=HOLD, survey=survey()))

    def layouts() -> list[str]:
        return [m for m in caplog.messages if m.startswith("layout followup ")]

    with caplog.at_level(logging.INFO, logger="kiosk"):
        press(kiosk.targets()[1].drawing)
        chips = spots(caplog, "reasons")
        wait_until(lambda: len(layouts()) == 1)
        drawn = Clock.frames_displayed
        tap_window(*chips["wait"])
        wait_until(lambda: len(layouts()) == 2)
    assert Clock.frames_displayed > drawn  # the picked chip was drawn before its line
    assert kiosk.screen == "followup"
    first, picked = layouts()
    assert first.split(":")[1:] == picked.split(":")[1:]  # the same widgets, still fitting
    assert first.split(":")[0] != picked.split(":")[0]  # a new digest: the chip is filled
    # its targets did not move: logged once
    assert sum(m.startswith("targets reasons: ") for m in caplog.messages) == 1


def test_no_chips_above_the_threshold(make_kiosk, store):
    kiosk = make_kiosk(make_config(kiosk=HOLD, survey=survey()))
    press(kiosk.targets()[2].drawing)  # value 3
    frames()
    assert kiosk.screen == "thanks"
    assert store.pending(10)[0].answers[0].reasons == []


def test_done_with_nothing_chosen_is_fine(make_kiosk, store):
    kiosk = make_kiosk(make_config(kiosk=HOLD, survey=survey()))
    press(kiosk.targets()[0].drawing)
    frames()
    press(kiosk.app.followup_screen.done_button)
    frames()
    assert kiosk.screen == "thanks"
    assert store.pending(10)[0].answers[0].reasons == []


def test_comment_typed_on_the_screen_keyboard_is_stored(make_kiosk, store):
    kiosk = make_kiosk(make_config(kiosk=HOLD, survey=survey(follow_up=None, comment=True)))
    press(kiosk.targets()[4].drawing)
    frames()
    assert kiosk.screen == "comment"
    screen = kiosk.app.comment_screen
    for char in "Nicex":
        screen.type_text(char)
    screen.key_down("backspace")
    press(screen.send_button)
    frames()
    assert kiosk.screen == "thanks"
    assert store.pending(10)[0].answers[0].comment == "Nice"


def test_the_comment_keyboard_holds_its_keys_only_while_shown(make_kiosk):
    kiosk = make_kiosk(make_config(kiosk=HOLD, survey=survey(follow_up=None, comment=True)))
    keyboard = kiosk.app.comment_screen.keyboard
    assert keyboard.children == []  # not drawn while the question is up
    press(kiosk.targets()[4].drawing)
    assert kiosk.screen == "comment"
    wait_until(lambda: bool(keyboard.children))  # drawn a moment after the screen shows
    assert {key.text for key in keyboard.children} >= set("qwerty")
    press(kiosk.app.comment_screen.send_button)
    assert kiosk.screen == "thanks"
    wait_until(lambda: keyboard.children == [])


def test_staff_picker_records_the_name_pressed(make_kiosk, store, caplog):
    config = make_config(kiosk=HOLD, survey={**survey(), "staff_prompt": "ask"}, staff=STAFF)
    kiosk = make_kiosk(config)
    with caplog.at_level(logging.INFO, logger="kiosk"):
        press(kiosk.targets()[4].drawing)
        frames()
        assert kiosk.screen == "staff"
        names = spots(caplog, "staff")
        assert list(names) == ["stf_anna", "stf_olek", "skip"]
        tap_window(*names["stf_olek"])
        frames()
    assert kiosk.screen == "thanks"
    assert store.pending(10)[0].staff_id == "stf_olek"


def test_staff_skip_records_none(make_kiosk, store):
    config = make_config(kiosk=FAST, survey={**survey(), "staff_prompt": "ask"}, staff=STAFF)
    kiosk = make_kiosk(config)
    press(kiosk.targets()[4].drawing)
    frames()
    press(kiosk.app.staff_screen.skip_button)
    frames()
    assert store.pending(10)[0].staff_id is None


def test_language_chip_applies_to_this_customer_only(make_kiosk, store, caplog):
    # No idle reset (it resets the language too) however slow a loaded machine's frames are.
    kiosk = make_kiosk(make_config(kiosk={**FAST, "idle_reset_s": 60}, survey=survey()))
    with caplog.at_level(logging.INFO, logger="kiosk"):
        frames()
        chips = spots(caplog, "languages")
        assert list(chips) == LANGUAGES
        tap_window(*chips["ru"])
        frames()
    screen = kiosk.app.question_screen
    assert screen.question_text == "Как прошёл ваш визит?"
    assert [t.word for t in kiosk.targets()][-1] == "Отлично"
    press(kiosk.targets()[4].drawing)
    frames()
    assert kiosk.app.thanks_screen.message == "Спасибо!"
    assert store.pending(10)[0].language == "ru"
    wait_until(lambda: kiosk.screen == "question")  # the next customer starts in English
    assert screen.language == "en" and screen.question_text == "How was your visit today?"


@pytest.mark.parametrize("language", LANGUAGES)
def test_screenshots_per_language(make_kiosk, store, language):
    """PNGs of the customer's screens in each language, for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    config = make_config(
        kiosk=HOLD, survey={**survey(comment=True), "staff_prompt": "ask"}, staff=STAFF
    )
    kiosk = make_kiosk(config)
    kiosk.app.question_screen.dispatch("on_pick_language", language)
    frames()
    assert kiosk.app.question_screen.languages[-1][:2] == ("zh-Hant", LANGUAGE_NAMES["zh-Hant"])
    snap(kiosk, f"question-{language}.png")
    press(kiosk.targets()[0].drawing)
    frames()
    snap(kiosk, f"followup-{language}.png")
    press(kiosk.app.followup_screen.grid.chips[0])
    frames()
    snap(kiosk, f"followup-chosen-{language}.png")
    press(kiosk.app.followup_screen.done_button)
    frames()
    assert kiosk.screen == "comment"
    keyboard = kiosk.app.comment_screen.keyboard
    assert keyboard.layout == keyboard_layout(language)
    wait_until(lambda: bool(keyboard.children))
    frames()
    snap(kiosk, f"comment-{language}.png")
    press(kiosk.app.comment_screen.skip_button)
    frames()
    snap(kiosk, f"staff-{language}.png")
    press(kiosk.app.staff_screen.skip_button)
    frames()
    snap(kiosk, f"thanks-{language}.png")
    [submission] = store.pending(10)
    assert submission.language == language and submission.answers[0].reasons == ["wait"]


@pytest.mark.parametrize(
    ("language", "hint", "layout"),
    [("zh-Hant", words.COMMENT_HINT_LATIN, "qwerty"), ("pl", words.COMMENT_HINT, "pl.json")],
)
def test_the_comment_hint_says_when_the_keyboard_types_latin_letters_only(
    make_kiosk, store, language, hint, layout
):
    """No IME: a zh-Hant customer keeps the comment, typed on the Latin keyboard, and is told."""
    kiosk = make_kiosk(make_config(kiosk=HOLD, survey=survey(follow_up=None, comment=True)))
    kiosk.app.question_screen.dispatch("on_pick_language", language)
    frames()
    press(kiosk.targets()[4].drawing)
    frames()
    assert kiosk.screen == "comment"
    screen = kiosk.app.comment_screen
    field = next(w for w in screen.walk() if isinstance(w, TextInput))
    assert field.hint_text == translations(language).gettext(hint) != hint
    assert screen.keyboard.layout.endswith(layout)
    for char in "ok":
        screen.type_text(char)
    press(screen.send_button)
    frames()
    assert store.pending(10)[0].answers[0].comment == "ok"
