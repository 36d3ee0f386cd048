"""The kiosk app in an offscreen Kivy window: taps, screens, timers, setup errors, looks."""

from __future__ import annotations

import logging
import re
import sqlite3
from datetime import UTC, datetime

import pytest
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.button import Button
from kivy.uix.label import Label

from kiosk.i18n import translations
from kiosk.it_pin import set_pin
from kiosk.store import Enrollment
from kiosk.ui import words
from tests.kiosk.conftest import SURVEY_DEFINITION, make_config
from tests.kiosk.window import ARTIFACTS, FAST, Kiosk, press, pump, snap, tap_window

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
        pump(0.05)
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
    pump(3, until=lambda: kiosk.screen == "question")  # after thank_you_s


def test_targets_are_logged_in_top_left_window_pixels(make_kiosk, store, caplog):
    with caplog.at_level(logging.INFO, logger="kiosk"):
        kiosk = make_kiosk(make_config(kiosk=FAST))
        pump(1.0)
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
    pump(0.05)
    assert kiosk.screen == "thanks"
    assert store.pending(10)[0].answers[0].value == 4


def test_multi_question_survey_updates_one_row(make_kiosk, store):
    questions = [
        SURVEY_DEFINITION["questions"][0],
        {"id": "q2", "kind": "smiley", "scale": 3, "text": {"en": "And the staff?", "pl": "A?"}},
    ]
    kiosk = make_kiosk(make_config(kiosk=FAST, survey={"questions": questions}))
    press(kiosk.targets()[0].drawing)
    pump(0.05)
    assert kiosk.screen == "question"
    assert kiosk.app.question_screen.question_id == "q2"
    assert store.count() == 1
    assert store.pending(10) == []  # still answering: not uploaded yet
    press(kiosk.targets()[2].drawing)
    pump(0.05)
    assert kiosk.screen == "thanks"
    [submission] = store.pending(10)
    assert [(a.question_id, a.value) for a in submission.answers] == [("q1", 1), ("q2", 3)]


def test_idle_reset_returns_to_the_first_question(make_kiosk, store):
    questions = [
        SURVEY_DEFINITION["questions"][0],
        {"id": "q2", "kind": "smiley", "scale": 3, "text": {"en": "And the staff?", "pl": "A?"}},
    ]
    kiosk = make_kiosk(make_config(kiosk=FAST, survey={"questions": questions}))
    press(kiosk.targets()[3].drawing)
    pump(0.05)
    assert kiosk.app.question_screen.question_id == "q2"
    pump(4, until=lambda: kiosk.app.question_screen.question_id == "q1")
    [submission] = store.pending(10)  # the first answer is kept and released for upload
    assert [a.value for a in submission.answers] == [4]


def test_burst_taps_are_flagged(make_kiosk, store):
    kiosk = make_kiosk(make_config(kiosk={**FAST, "burst_max_taps": 2}))
    for _ in range(3):
        kiosk.app.question_screen.dispatch("on_answer", 3)
        kiosk.app._after_thanks()
    assert [s.flags for s in store.pending(10)] == [[], [], ["burst"]]


def test_a_store_refusing_writes_pauses_taps_calmly_until_it_recovers(make_kiosk, store, caplog):
    """The real full disk is in tests/e2e/test_fault_disk.py; here the store just refuses."""
    kiosk = make_kiosk(make_config(kiosk=FAST))
    working = store.record_submission

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    store.record_submission = full
    with caplog.at_level(logging.INFO, logger="kiosk"):
        press(kiosk.targets()[0].drawing)
        pump(0.05)
        assert kiosk.screen == "waiting"  # no thank-you for a tap that was not kept
        assert kiosk.app.waiting_screen.message == "Temporarily unavailable"
        assert any("NOT recorded" in m and "disk is full" in m for m in caplog.messages)
        kiosk.app.refresh()  # an idle or thanks timer can't bring the question back early
        assert kiosk.screen == "waiting"
        store.record_submission = working
        kiosk.app._probe_store()
        assert kiosk.screen == "question" and kiosk.app.write_problem is None
    press(kiosk.targets()[0].drawing)
    pump(0.05)
    assert kiosk.screen == "thanks"
    assert len(store.pending(10)) == 1


def test_nps_question_shows_eleven_numbered_targets(make_kiosk, store):
    nps = {"id": "q1", "kind": "nps", "scale": 11, "text": {"en": "Recommend us?", "pl": "?"}}
    kiosk = make_kiosk(make_config(kiosk=FAST, survey={"questions": [nps]}))
    pump(0.3)
    assert [int(t.value) for t in kiosk.targets()] == list(range(11))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    snap(kiosk, "question-nps-800x480.png")
    press(kiosk.targets()[10].drawing)
    pump(0.05)
    assert store.pending(10)[0].answers[0].value == 10


def test_enrolled_without_config_shows_setting_up(make_kiosk):
    kiosk = make_kiosk(config=None)
    assert kiosk.screen == "waiting"
    assert kiosk.app.waiting_screen.message == words.SETTING_UP


def test_config_without_survey_shows_setting_up(make_kiosk):
    kiosk = make_kiosk(make_config().model_copy(update={"survey": None}))
    assert kiosk.screen == "waiting"


def test_revoked_device_is_out_of_service(make_kiosk, store):
    store.set_enrollment(Enrollment("http://127.0.0.1:9", "dev_test", "token"))
    store.set_config(make_config())
    store.set_state(status="revoked")
    kiosk = make_kiosk(enrolled=False)
    assert kiosk.screen == "waiting"
    assert kiosk.app.waiting_screen.message == words.OUT_OF_SERVICE


def enroll_button(kiosk: Kiosk) -> Button:
    return next(w for w in kiosk.app.setup_screen.walk() if isinstance(w, Button))


def test_setup_shows_a_plain_error_for_a_bad_code(make_kiosk, live_server):
    kiosk = make_kiosk(enrolled=False)
    assert kiosk.screen == "setup"
    kiosk.app.setup_screen.server_url = live_server.url
    kiosk.app.setup_screen.code = "NOPE-NOPE"
    press(enroll_button(kiosk))
    pump(10, until=lambda: not kiosk.app.setup_screen.busy)
    assert kiosk.app.setup_screen.error == "That code is not valid or has expired"
    assert kiosk.screen == "setup"


def test_setup_says_when_the_server_is_unreachable(make_kiosk):
    kiosk = make_kiosk(enrolled=False)
    kiosk.app.setup_screen.server_url = "http://127.0.0.1:9"
    kiosk.app.setup_screen.code = "ABCD-EFGH"
    press(enroll_button(kiosk))
    pump(10, until=lambda: not kiosk.app.setup_screen.busy)
    assert kiosk.app.setup_screen.error == "Can't reach the server"


def test_setup_refuses_a_plain_http_address_to_another_machine(make_kiosk):
    kiosk = make_kiosk(enrolled=False)
    kiosk.app.setup_screen.server_url = "http://192.0.2.1:9"  # no request is ever made
    kiosk.app.setup_screen.code = "ABCD-EFGH"
    press(enroll_button(kiosk))
    pump(10, until=lambda: not kiosk.app.setup_screen.busy)
    assert kiosk.app.setup_screen.error == words.INSECURE_URL
    assert kiosk.app.store.get_enrollment() is None


def test_setup_enrolls_and_shows_the_survey(make_kiosk, live_server, tmp_path, store):
    ids = live_server.setup_location(tmp_path)
    kiosk = make_kiosk(enrolled=False)
    kiosk.app.setup_screen.server_url = live_server.url
    kiosk.app.setup_screen.code = ids["code"]
    press(enroll_button(kiosk))
    pump(10, until=lambda: kiosk.screen == "question")
    assert store.get_enrollment().device_id == ids["device_id"]


@pytest.mark.parametrize("size", [(800, 480), (1280, 800), (800, 1280)])
def test_screenshots(make_kiosk, store, size):
    """Exports PNGs of each screen to artifacts/kiosk/ for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Window.size = size
    pump(0.1)
    kiosk = make_kiosk(make_config(kiosk=FAST))
    tag = f"{size[0]}x{size[1]}"
    pump(0.3)
    for target in kiosk.targets():  # big targets, all on screen
        drawing = target.drawing
        assert drawing.radius * 2 >= min(size) * 0.2
        x, y = drawing.to_window(*drawing.center)
        assert 0 < x < size[0] and 0 < y < size[1]
    snap(kiosk, f"question-{tag}.png")
    press(kiosk.targets()[3].drawing)
    pump(0.3)
    snap(kiosk, f"thanks-{tag}.png")
    kiosk.app.refresh()
    kiosk.root.current = "setup"
    kiosk.app.setup_screen.error = words.INVALID_CODE
    pump(0.3)
    snap(kiosk, f"setup-{tag}.png")
    kiosk.root.current = "waiting"
    pump(0.3)
    snap(kiosk, f"waiting-{tag}.png")


# --- opening hours ---------------------------------------------------------------------------

WEEKDAY_HOURS = {str(day): ["08:00", "20:00"] for day in range(1, 6)}
LOCATION = {"id": "loc_test", "name": "Test store", "timezone": "Europe/Warsaw"}
MONDAY_0759 = datetime(2026, 11, 23, 6, 59, tzinfo=UTC)  # Warsaw is UTC+1 in November


@pytest.fixture
def clock(monkeypatch):
    """The kiosk's wall clock, set by the test: `clock.now = ...`."""

    class Wall:
        now = MONDAY_0759

    monkeypatch.setattr("kiosk.app.utcnow", lambda: Wall.now)
    return Wall


def hours_config(**overrides):
    location = {**LOCATION, "opening_hours": WEEKDAY_HOURS}
    return make_config(kiosk=FAST, location=location, **overrides)


def test_outside_opening_hours_a_dim_closed_screen_takes_no_taps(make_kiosk, store, clock, caplog):
    with caplog.at_level(logging.INFO, logger="kiosk"):
        kiosk = make_kiosk(hours_config())
    assert kiosk.screen == "closed"
    assert "screen: closed" in caplog.messages
    assert kiosk.app.closed_screen.dim and kiosk.app.closed_screen.message == words.CLOSED
    assert kiosk.app.session is None
    for x, y in ((Window.width / 2, Window.height / 2), (Window.width * 0.3, Window.height * 0.6)):
        tap_window(x, y)
        pump(0.05)
    kiosk.app.question_screen.dispatch("on_answer", 3)  # a stray event from the hidden screen
    assert kiosk.screen == "closed"
    assert store.count() == 0
    snap(kiosk, "closed.png")


def test_the_closed_screen_speaks_the_survey_default_language(make_kiosk, clock):
    kiosk = make_kiosk(hours_config(survey={"default_language": "pl"}))
    assert kiosk.screen == "closed"
    label = next(w for w in kiosk.app.closed_screen.walk() if getattr(w, "text", ""))
    assert label.text == "Zamknięte"


def test_the_kiosk_opens_at_opening_time_and_closes_at_closing_time(make_kiosk, clock, caplog):
    kiosk = make_kiosk(hours_config())
    assert kiosk.app._hours_event.timeout == 60  # checked every minute by Clock
    assert kiosk.screen == "closed"
    with caplog.at_level(logging.INFO, logger="kiosk"):
        clock.now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 in Warsaw
        kiosk.app._check_opening_hours()
    assert kiosk.screen == "question"
    assert "screen: question" in caplog.messages
    clock.now = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # 20:00
    kiosk.app._check_opening_hours()
    assert kiosk.screen == "closed"


def test_closing_time_never_cuts_off_a_customer(make_kiosk, store, clock):
    questions = [
        SURVEY_DEFINITION["questions"][0],
        {"id": "q2", "kind": "smiley", "scale": 3, "text": {"en": "And the staff?", "pl": "A?"}},
    ]
    clock.now = datetime(2026, 11, 23, 18, 59, tzinfo=UTC)  # 19:59
    kiosk = make_kiosk(hours_config(survey={"questions": questions}))
    press(kiosk.targets()[0].drawing)
    pump(0.05)
    clock.now = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # 20:00
    kiosk.app._check_opening_hours()
    assert kiosk.screen == "question" and kiosk.app.question_screen.question_id == "q2"
    press(kiosk.targets()[0].drawing)
    pump(0.05)
    assert kiosk.screen == "thanks"
    kiosk.app._after_thanks()
    assert kiosk.screen == "closed"
    assert len(store.pending(10)) == 1


def test_no_opening_hours_means_always_open(make_kiosk, clock):
    clock.now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # Sunday night
    assert make_kiosk(make_config(kiosk=FAST)).screen == "question"


def test_the_it_corner_still_works_when_closed(make_kiosk, store, clock):
    set_pin(store, "2468")
    kiosk = make_kiosk(hours_config())
    assert kiosk.screen == "closed"
    touch = UnitTestTouch(10, Window.height - 10)
    touch.touch_down()
    pump(3.3)
    touch.touch_up()
    assert kiosk.screen == "pin"
    kiosk.app.pin_screen.dispatch("on_cancel")
    assert kiosk.screen == "closed"


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
    pump(0.1)
    survey = five_languages()
    kiosk = make_kiosk(make_config(kiosk=FAST, survey=survey))
    kiosk.app.question_screen.dispatch("on_pick_language", "pl")
    pump(0.5)
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
    pump(0.1)
    survey = five_languages()
    kiosk = make_kiosk(make_config(kiosk=FAST, survey=survey))
    pump(0.5)
    chips = kiosk.app.question_screen.language_grid.chips
    assert len({c.y for c in chips}) == 2
    for chip in chips:
        assert chip.texture_size[0] + 16 <= chip.width, chip.text
        x, _ = chip.to_window(chip.x, chip.y)
        assert x >= 0 and x + chip.width <= 480


def test_targets_are_big_enough_for_a_finger_on_the_pi_display(make_kiosk):
    survey = five_languages()
    kiosk = make_kiosk(make_config(kiosk=FAST, survey=survey))  # 800×480, the Pi's 7"
    pump(0.5)
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
    pump(0.1)
    kiosk = make_kiosk(enrolled=False)
    screen = kiosk.app.setup_screen
    pump(0.5)
    keyboard = screen.keyboard
    assert keyboard.height >= 4 * MIN_TARGET_PX  # four rows of finger-sized keys, at least
    for letter in "ab":
        tap_window(*key_spot(keyboard, letter))
    assert screen.server_url == "ab"  # the first field takes the keys before any tap
    press(screen.code_input)
    pump(0.1)
    for key in ("x", "y", "backspace", "z"):
        tap_window(*key_spot(keyboard, key))
    assert (screen.server_url, screen.code) == ("ab", "xz")
    press(screen.url_input)
    pump(0.1)
    tap_window(*key_spot(keyboard, "c"))
    assert screen.server_url == "abc" and screen.code == "xz"
    snap(kiosk, f"setup-typing-{size[0]}x{size[1]}.png")
    kiosk.root.current = "waiting"  # leaving lets go of the focus (and the window's keyboard)
    pump(0.1)
    assert not (screen.url_input.focus or screen.code_input.focus)


@pytest.mark.parametrize("size", [(800, 480), (1280, 800), (1920, 1080), (800, 1280)])
def test_setup_fields_have_labels_and_plain_errors_in_the_current_language(make_kiosk, size):
    """Re-enrolling from the status screen keeps the language the kiosk was in."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Window.size = size
    pump(0.1)
    kiosk = make_kiosk(enrolled=False)
    screen = kiosk.app.setup_screen
    for language in ("en", "pl", "ru", "ro", "zh-Hant"):
        kiosk.app.use_language(language)
        _ = translations(language).gettext
        screen.error = ""
        pump(0.3)
        assert screen.keyboard.height >= 4 * MIN_TARGET_PX  # the labels take no keyboard room
        for error in (words.INVALID_CODE, words.UNREACHABLE, words.INSECURE_URL):
            screen.error = error
            pump(0.3)
            texts = {w.text: w for w in screen.walk() if isinstance(w, Label) and w.text}
            for msgid in (words.SERVER_ADDRESS, words.ENROLLMENT_CODE, error, "Enroll"):
                assert _(msgid) in texts, (language, msgid)
                assert language == "en" or _(msgid) != msgid, (language, msgid)
            for msgid in (words.SERVER_ADDRESS, words.ENROLLMENT_CODE):
                label = texts[_(msgid)]
                assert label.texture_size[0] <= label.width + 1  # beside its field, whole
        snap(kiosk, f"setup-{language}-{size[0]}x{size[1]}.png")
