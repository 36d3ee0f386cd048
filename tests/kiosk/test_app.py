"""The kiosk app in an offscreen Kivy window: taps, screens, timers, setup errors, looks."""

from __future__ import annotations

import inspect
import logging
import re
import time

import pytest
from kivy.core.window import Window
from kivy.metrics import sp
from kivy.uix.button import Button
from kivy.uix.label import Label

from kiosk.app import SmiletapKioskApp
from kiosk.i18n import translations
from kiosk.store import Enrollment
from kiosk.ui import words
from kiosk.view import KioskView, Screen
from tests.kiosk.conftest import SURVEY_DEFINITION, FakeClock, make_config
from tests.kiosk.window import (
    ARTIFACTS,
    FAST,
    Kiosk,
    frames,
    press,
    reviewed,
    snap,
    tap_window,
    wait_until,
)

TARGETS_LINE = re.compile(r"^targets (\S+): ((?:\d+@\d+,\d+ ?)+)$")


def test_a_tap_is_stored_before_the_thank_you_screen(make_kiosk, store, caplog):
    kiosk = make_kiosk(make_config(kiosk=FAST))
    assert kiosk.screen == "question"
    assert kiosk.app.question_screen.question_text == "How was your visit today?"
    assert [int(t.value) for t in kiosk.targets()] == [1, 2, 3, 4]
    screens_at_commit: list[str] = []
    real_record = store.record_submission

    def record(*args, **kwargs):
        stored = real_record(*args, **kwargs)
        screens_at_commit.append(kiosk.screen)
        return stored

    store.record_submission = record
    with caplog.at_level(logging.INFO, logger="kiosk"):
        press(kiosk.targets()[1].drawing)  # "Bad", value 2
        wait_until(lambda: kiosk.screen == "thanks")
    assert screens_at_commit == ["question"]
    assert kiosk.screen == "thanks"
    assert kiosk.app.thanks_screen.message == "Thank you!"
    [submission] = store.pending(10)
    assert [(a.question_id, a.value, a.reasons, a.comment) for a in submission.answers] == [
        ("q1", 2, [], None)
    ]
    assert (submission.survey_id, submission.survey_version) == ("srv_test", 1)
    assert (submission.location_id, submission.language) == ("loc_test", "en")
    assert submission.tapped_at.utcoffset() is not None
    assert f"tap recorded {submission.id} value=2" in caplog.messages
    assert "screen: thanks" in caplog.messages
    wait_until(lambda: kiosk.screen == "question")  # after thank_you_s


def test_the_app_is_the_controllers_view_with_a_screen_per_state(make_kiosk):
    """Every `KioskView` method, with the protocol's parameters; one screen per `Screen`."""
    for name, method in vars(KioskView).items():
        if callable(method) and not name.startswith("_"):
            implemented = getattr(SmiletapKioskApp, name)
            assert list(inspect.signature(implemented).parameters) == list(
                inspect.signature(method).parameters
            ), name
    kiosk = make_kiosk(make_config(kiosk=FAST))
    # Screens are built when first needed: the question screen is, the PIN pad not yet.
    assert "question" in kiosk.root.screen_names and "pin" not in kiosk.root.screen_names
    for screen in Screen:
        kiosk.app.show(screen)
    assert sorted(kiosk.root.screen_names) == sorted(screen.value for screen in Screen)
    assert kiosk.app.controller.view is kiosk.app


def test_targets_are_logged_in_top_left_window_pixels(make_kiosk, store, caplog):
    with caplog.at_level(logging.INFO, logger="kiosk"):
        kiosk = make_kiosk(make_config(kiosk=FAST))
        wait_until(lambda: any(m.startswith("targets q1:") for m in caplog.messages))
    lines = [m for m in caplog.messages if m.startswith("targets q1:")]
    assert lines, caplog.messages
    match = TARGETS_LINE.match(lines[-1])
    assert match and match.group(1) == "q1"
    spots = {
        int(v): (int(x), int(y)) for v, x, y in re.findall(r"(\d+)@(\d+),(\d+)", match.group(2))
    }
    assert sorted(spots) == [1, 2, 3, 4]
    xs = [spots[v][0] for v in (1, 2, 3, 4)]
    assert xs == sorted(xs) and all(0 < x < Window.width for x in xs)
    assert all(0 < y < Window.height for _, y in spots.values())
    tap_window(*spots[4])  # where xdotool would click
    wait_until(lambda: kiosk.screen == "thanks")
    assert store.pending(10)[0].answers[0].value == 4


def test_nps_question_shows_eleven_numbered_targets(make_kiosk, store):
    nps = {"id": "q1", "kind": "nps", "scale": 11, "text": {"en": "Recommend us?", "pl": "?"}}
    kiosk = make_kiosk(make_config(kiosk=FAST, survey={"questions": [nps]}))
    frames()
    assert [int(t.value) for t in kiosk.targets()] == list(range(11))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    snap(kiosk, "question-nps-800x480.png")
    press(kiosk.targets()[10].drawing)
    wait_until(lambda: kiosk.screen == "thanks")
    assert store.pending(10)[0].answers[0].value == 10


def test_revoked_device_is_out_of_service(make_kiosk, store):
    store.set_enrollment(Enrollment("http://127.0.0.1:9", "dev_test", "token"))
    store.set_config(make_config())
    store.set_state(status="revoked")
    kiosk = make_kiosk(enrolled=False)
    assert kiosk.screen == "waiting"
    assert kiosk.app.waiting_screen.message == words.OUT_OF_SERVICE


@pytest.mark.parametrize(
    "size", [(800, 480), (1280, 800), (1920, 1080), (800, 1280)], ids=lambda s: f"{s[0]}x{s[1]}"
)
def test_revoked_screen_tells_it_what_to_do_next(make_kiosk, store, size):
    """Small print under "Out of service": the corner long press and re-enrolling."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Window.size = size
    frames()
    store.set_enrollment(Enrollment("http://127.0.0.1:9", "dev_test", "token"))
    store.set_config(make_config())
    store.set_state(status="revoked")
    kiosk = make_kiosk(enrolled=False)
    screen = kiosk.app.waiting_screen
    for language in ("en", "pl", "ru", "ro", "zh-Hant"):
        kiosk.app.use_language(language)
        frames(3)
        hint = screen.ids.hint
        assert hint.text == translations(language).gettext(words.REVOKED_HINT)
        assert language == "en" or hint.text != words.REVOKED_HINT
        assert hint.font_size < 0.6 * max(sp(20), Window.height * 0.06)  # small print
        assert hint.texture_size[0] <= hint.width + 1 and hint.y >= 0  # wrapped, on the screen
        if reviewed(size, language):
            snap(kiosk, f"revoked-{language}-{size[0]}x{size[1]}.png")
    store.set_state(status="enrolled")
    screen.message = words.SETTING_UP
    frames()
    assert screen.ids.hint.text == ""  # only when revoked


def enroll_button(kiosk: Kiosk) -> Button:
    return next(w for w in kiosk.app.setup_screen.walk() if isinstance(w, Button))


def test_setup_shows_a_plain_error_for_a_bad_code(make_kiosk, live_server):
    kiosk = make_kiosk(enrolled=False)
    assert kiosk.screen == "setup"
    kiosk.app.setup_screen.server_url = live_server.url
    kiosk.app.setup_screen.code = "NOPE-NOPE"
    press(enroll_button(kiosk))
    wait_until(lambda: not kiosk.app.setup_screen.busy, timeout=10)
    assert kiosk.app.setup_screen.error == "That code is not valid or has expired"
    assert kiosk.screen == "setup"


@pytest.mark.parametrize("size", [(800, 480), (1280, 800), (800, 1280)])
def test_screenshots(make_kiosk, store, size):
    """Exports PNGs of each screen to artifacts/kiosk/ for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Window.size = size
    frames()
    kiosk = make_kiosk(make_config(kiosk=FAST))
    tag = f"{size[0]}x{size[1]}"
    frames()
    for target in kiosk.targets():  # big targets, all on screen
        drawing = target.drawing
        assert drawing.radius * 2 >= min(size) * 0.2
        x, y = drawing.to_window(*drawing.center)
        assert 0 < x < size[0] and 0 < y < size[1]
    snap(kiosk, f"question-{tag}.png")
    press(kiosk.targets()[3].drawing)
    wait_until(lambda: kiosk.screen == "thanks")
    frames()
    snap(kiosk, f"thanks-{tag}.png")
    kiosk.controller.status_action("reenroll")
    kiosk.app.setup_screen.error = words.INVALID_CODE
    frames()
    snap(kiosk, f"setup-{tag}.png")
    kiosk.app.fill_waiting(words.SETTING_UP)  # the view alone: what it shows, nothing decided
    kiosk.app.show(Screen.WAITING)
    frames()
    snap(kiosk, f"waiting-{tag}.png")


# --- opening hours (the rules are in test_controller.py; here what the closed screen shows) ---

WEEKDAY_HOURS = {str(day): ["08:00", "20:00"] for day in range(1, 6)}
LOCATION = {"id": "loc_test", "name": "Test store", "timezone": "Europe/Warsaw"}


class WallClock(FakeClock):
    """The test's wall time (Monday 07:59 in Warsaw), with real monotonic timers."""

    def monotonic(self) -> float:
        return time.monotonic()


def hours_config(**overrides):
    location = {**LOCATION, "opening_hours": WEEKDAY_HOURS}
    return make_config(**{"kiosk": FAST, "location": location, **overrides})


def test_outside_opening_hours_a_dim_closed_screen_takes_no_taps(make_kiosk, store, caplog):
    with caplog.at_level(logging.INFO, logger="kiosk"):
        kiosk = make_kiosk(hours_config(), clock=WallClock())
    assert kiosk.screen == "closed"
    assert "screen: closed" in caplog.messages
    assert kiosk.app.closed_screen.dim and kiosk.app.closed_screen.message == words.CLOSED
    assert kiosk.app.session is None
    for x, y in ((Window.width / 2, Window.height / 2), (Window.width * 0.3, Window.height * 0.6)):
        tap_window(x, y)
        frames()
    kiosk.app.question_screen.dispatch("on_answer", 3)  # a stray event from the hidden screen
    assert kiosk.screen == "closed"
    assert store.count() == 0
    snap(kiosk, "closed.png")


def test_the_closed_screen_speaks_the_survey_default_language(make_kiosk):
    kiosk = make_kiosk(hours_config(survey={"default_language": "pl"}), clock=WallClock())
    assert kiosk.screen == "closed"
    label = next(w for w in kiosk.app.closed_screen.walk() if getattr(w, "text", ""))
    assert label.text == "Zamknięte"


def five_languages() -> dict:
    """The test survey in the demo's five languages (the same words in each will do)."""
    codes = ["en", "pl", "ru", "ro", "zh-Hant"]
    question = {**SURVEY_DEFINITION["questions"][0], "scale": 5}
    question["text"] = dict.fromkeys(codes, "How was your visit today?")
    return {"languages": codes, "questions": [question], "thank_you": dict.fromkeys(codes, "!")}


#: 12 mm at the Raspberry Pi 7" display's ~133 dpi: the smallest target a finger hits surely.
MIN_TARGET_PX = 63


def test_question_screen_uses_a_portrait_window(make_kiosk):
    """800×1280: language names whole, big faces, readable captions (they were `E…h`)."""
    Window.size = (800, 1280)
    frames()
    survey = five_languages()
    kiosk = make_kiosk(make_config(kiosk=FAST, survey=survey))
    kiosk.app.question_screen.dispatch("on_pick_language", "pl")
    frames(5)
    chips = kiosk.app.question_screen.language_grid.chips
    assert [c.key for c in chips] == ["en", "pl", "ru", "ro", "zh-Hant"]
    for chip in chips:
        assert chip.texture_size[0] + 16 <= chip.width, chip.text  # the whole name, with air
        assert chip.height >= MIN_TARGET_PX
        x, _ = chip.to_window(chip.x, chip.y)
        assert x >= 0 and x + chip.width <= 800
    assert len({c.y for c in chips}) == 1  # five names fit one row at 800 px
    for target in kiosk.targets():
        assert target.drawing.radius * 2 >= 130
        caption = target.ids.caption
        assert caption.font_size >= 22
        # the caption sits right under its face, not at the bottom of the row
        assert target.drawing.y - caption.top < 20
    snap(kiosk, "question-pl-800x1280.png")


def test_language_chips_wrap_rather_than_shorten_in_a_narrow_window(make_kiosk):
    Window.size = (480, 800)
    frames()
    survey = five_languages()
    kiosk = make_kiosk(make_config(kiosk=FAST, survey=survey))
    frames(5)
    chips = kiosk.app.question_screen.language_grid.chips
    assert len({c.y for c in chips}) == 2
    for chip in chips:
        assert chip.texture_size[0] + 16 <= chip.width, chip.text
        x, _ = chip.to_window(chip.x, chip.y)
        assert x >= 0 and x + chip.width <= 480


def test_targets_are_big_enough_for_a_finger_on_the_pi_display(make_kiosk):
    survey = five_languages()
    kiosk = make_kiosk(make_config(kiosk=FAST, survey=survey))  # 800×480, the Pi's 7"
    frames(5)
    screen = kiosk.app.question_screen
    for chip in screen.language_grid.chips:
        assert chip.width >= MIN_TARGET_PX and chip.height >= MIN_TARGET_PX
        assert chip.texture_size[0] + 16 <= chip.width, chip.text
    for target in kiosk.targets():
        assert target.drawing.radius * 2 >= MIN_TARGET_PX * 1.5
    assert enroll_button(kiosk).height >= MIN_TARGET_PX


def key_spot(keyboard, key: str) -> tuple[float, float]:
    """Window pixels (top-left origin) of the on-screen key typing `key` (or named `key`)."""
    layout = keyboard.available_layouts[keyboard.layout]
    for line in range(1, layout["rows"] + 1):
        keys = layout[f"{keyboard.layout_mode}_{line}"]
        for (_, typed, name, _width), (pos, size) in zip(
            keys, keyboard.layout_geometry[f"LINE_{line}"], strict=True
        ):
            if key in (typed, name):
                x, y = keyboard.to_window(pos[0] + size[0] / 2, pos[1] + size[1] / 2, initial=False)
                return x, Window.height - y
    raise AssertionError(f"no key {key!r}")


@pytest.mark.parametrize("size", [(800, 480), (800, 1280)])
def test_setup_fields_are_typed_on_the_screen_keyboard(make_kiosk, size):
    """A Pi with only a touch screen: tap a field, then tap keys."""
    Window.size = size
    frames()
    kiosk = make_kiosk(enrolled=False)
    screen = kiosk.app.setup_screen
    keyboard = screen.keyboard
    wait_until(lambda: bool(keyboard.children))  # the keys are drawn a moment after
    assert keyboard.height >= 4 * MIN_TARGET_PX  # four rows of finger-sized keys, at least
    for letter in "ab":
        tap_window(*key_spot(keyboard, letter))
    assert screen.server_url == "ab"  # the first field takes the keys before any tap
    press(screen.code_input)
    frames()
    for key in ("x", "y", "backspace", "z"):
        tap_window(*key_spot(keyboard, key))
    assert (screen.server_url, screen.code) == ("ab", "xz")
    press(screen.url_input)
    frames()
    tap_window(*key_spot(keyboard, "c"))
    assert screen.server_url == "abc" and screen.code == "xz"
    snap(kiosk, f"setup-typing-{size[0]}x{size[1]}.png")
    kiosk.app.show(Screen.WAITING)  # leaving lets go of the focus (and the window's keyboard)
    frames()
    assert not (screen.url_input.focus or screen.code_input.focus)


@pytest.mark.parametrize("size", [(800, 480), (1280, 800), (1920, 1080), (800, 1280)])
def test_setup_fields_have_labels_and_plain_errors_in_the_current_language(make_kiosk, size):
    """Re-enrolling from the status screen keeps the language the kiosk was in."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Window.size = size
    frames()
    kiosk = make_kiosk(enrolled=False)
    screen = kiosk.app.setup_screen
    keyboard = screen.keyboard
    for language in ("en", "pl", "ru", "ro", "zh-Hant"):
        # A new language and each error resize the keyboard, which then rebuilds every key
        # (~0.1-0.3 s each): the labels are what is checked, so its keys are drawn once a
        # language, for the snapshot.
        keyboard.shown = False
        kiosk.app.use_language(language)
        _ = translations(language).gettext
        screen.error = ""
        frames()
        assert screen.keyboard.height >= 4 * MIN_TARGET_PX  # the labels take no keyboard room
        for error in (words.INVALID_CODE, words.UNREACHABLE, words.INSECURE_URL):
            screen.error = error
            frames()
            texts = {w.text: w for w in screen.walk() if isinstance(w, Label) and w.text}
            for msgid in (words.SERVER_ADDRESS, words.ENROLLMENT_CODE, error, "Enroll"):
                assert _(msgid) in texts, (language, msgid)
                assert language == "en" or _(msgid) != msgid, (language, msgid)
            for msgid in (words.SERVER_ADDRESS, words.ENROLLMENT_CODE):
                label = texts[_(msgid)]
                assert label.texture_size[0] <= label.width + 1  # beside its field, whole
        if reviewed(size, language):
            wait_until(lambda: not keyboard.children)  # no keys left from an earlier size
            keyboard.shown = True
            wait_until(lambda: bool(keyboard.children))  # drawn at the size it has now
            snap(kiosk, f"setup-{language}-{size[0]}x{size[1]}.png")
