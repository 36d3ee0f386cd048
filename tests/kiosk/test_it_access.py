"""IT's way in, in the window: the corner long press, the PIN pad's keys, the status screen's
buttons and languages, no exit on Escape. (The lockout, the status text, re-enroll and IT idle
are decided by the controller: tests/kiosk/test_controller.py.)"""

from __future__ import annotations

import logging
import re

import pytest
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.label import Label

from kiosk.controller import Timer
from kiosk.i18n import translations
from kiosk.it_pin import set_pin
from kiosk.ui import words
from shared.protocol import SubmissionResult
from tests.kiosk.conftest import make_config, make_submission
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

PIN = "246810"
#: A long press short enough for a test to wait for, long enough to tell from a tap.
LONG_PRESS_S = 0.3


@pytest.fixture
def it_kiosk(make_kiosk, store):
    set_pin(store, PIN)
    return make_kiosk(make_config(kiosk=FAST), long_press_s=LONG_PRESS_S)


def enter(kiosk: Kiosk, digits: str) -> None:
    for digit in [*digits, "ok"]:
        kiosk.app.pin_screen.press_key(digit)


def test_a_long_press_in_the_corner_opens_the_pin_pad(it_kiosk):
    elsewhere = UnitTestTouch(Window.width - 10, Window.height - 10)
    elsewhere.touch_down()
    assert Timer.LONG_PRESS not in it_kiosk.controller.timers  # the wrong corner
    elsewhere.touch_up()
    corner = UnitTestTouch(10, Window.height - 10)
    corner.touch_down()
    assert Timer.LONG_PRESS in it_kiosk.controller.timers
    corner.touch_up()
    assert Timer.LONG_PRESS not in it_kiosk.controller.timers  # let go too soon
    corner.touch_down()
    wait_until(lambda: it_kiosk.screen == "pin")
    corner.touch_up()


def test_the_pad_logs_its_keys_for_clicking(it_kiosk, caplog):
    with caplog.at_level(logging.INFO, logger="kiosk"):
        it_kiosk.controller.open_pin_pad()
        wait_until(lambda: any(m.startswith("targets pin:") for m in caplog.messages))
    line = next(m for m in caplog.messages if m.startswith("targets pin:"))
    keys = dict(re.findall(r"(\S+)@(\d+,\d+)", line))
    assert set(keys) == {*"0123456789", "clear", "ok", "cancel"}
    for key in PIN:
        tap_window(*map(int, keys[key].split(",")))
    tap_window(*map(int, keys["ok"].split(",")))
    wait_until(lambda: it_kiosk.screen == "status")


def test_sync_now_runs_off_the_ui_thread(it_kiosk, store):
    store.record_submission(make_submission())
    it_kiosk.controller.show_status()
    frames()
    press(it_kiosk.app.status_screen.buttons["sync"])
    assert it_kiosk.app.status_screen.busy
    wait_until(lambda: not it_kiosk.app.status_screen.busy, timeout=15)
    assert "Last error: upload:" in it_kiosk.app.status_screen.text  # nobody at 127.0.0.1:9
    assert store.backlog() == 1


def test_escape_never_exits_only_quit_does(it_kiosk, monkeypatch):
    stopped = []
    monkeypatch.setattr(it_kiosk.app, "stop", lambda *args: stopped.append(True))
    assert Window.dispatch("on_keyboard", 27, 41, None, []) is True
    assert it_kiosk.screen == "question" and not stopped
    it_kiosk.controller.show_status()
    frames()
    press(it_kiosk.app.status_screen.buttons["quit"])
    assert stopped == [True]


def test_it_screens_screenshots(it_kiosk, store):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    refused = make_submission()
    store.record_submission(refused)
    store.mark_results(
        [SubmissionResult(id=refused.id, status="rejected", reason="unknown_question", field="a")]
    )
    it_kiosk.controller.open_pin_pad()
    for digit in "24":
        it_kiosk.app.pin_screen.press_key(digit)
    it_kiosk.app.pin_screen.message = words.WRONG_PIN
    frames()
    snap(it_kiosk, "pin-800x480.png")
    it_kiosk.controller.show_status()
    frames()
    snap(it_kiosk, "status-800x480.png")


# --- IT's screens in the kiosk's current language ---------------------------------------------

IT_LANGUAGES = ["en", "pl", "ru", "ro", "zh-Hant"]


def shown_texts(screen) -> list[str]:
    """Every text a screen draws (labels and buttons)."""
    return [w.text for w in screen.walk() if isinstance(w, Label) and w.text]


def one_line(label: Label) -> bool:
    return label.texture_size[1] < label.font_size * 1.7


@pytest.mark.parametrize(
    "size", [(800, 480), (1280, 800), (1920, 1080), (800, 1280)], ids=lambda s: f"{s[0]}x{s[1]}"
)
def test_pin_and_status_speak_the_current_language(it_kiosk, store, size):
    Window.size = size
    store.record_submission(make_submission())
    app = it_kiosk.app
    for language in IT_LANGUAGES:
        app.use_language(language)
        _ = translations(language).gettext
        app.controller.open_pin_pad()
        enter(it_kiosk, "111111")
        frames()
        pin_texts = shown_texts(app.pin_screen)
        for msgid in (words.IT_PIN, words.WRONG_PIN, words.CANCEL, words.CLEAR, words.CONFIRM):
            assert _(msgid) in pin_texts, (language, msgid)
            assert language == "en" or _(msgid) != msgid, (language, msgid)
        title = next(w for w in app.pin_screen.walk() if getattr(w, "text", "") == _(words.IT_PIN))
        assert one_line(title), (language, title.texture_size)  # never "IT / PIN"
        assert title.to_window(title.x, title.top)[1] <= Window.height  # and on the screen
        if reviewed(size, language):
            snap(it_kiosk, f"pin-{language}-{size[0]}x{size[1]}.png")

        enter(it_kiosk, PIN)  # one wrong PIN per language: never the lockout
        frames()
        assert it_kiosk.screen == "status"
        status = app.status_screen
        assert _("Device: {name} ({id})").format(name="Front door", id="dev_test") in status.text
        assert _("Rejected: {count}").format(count=0) in status.text
        # At a glance: the coloured state (a tap waits, never synced: behind), then last sync.
        assert (status.state, status.headline) == ("behind", _("Behind"))
        chip = status.ids.state
        assert chip.texture_size[0] <= chip.width and chip.to_window(chip.x, chip.top)[1] <= size[1]
        assert status.text.startswith(_("Last sync: {at}  {outcome}").split("{")[0])
        first = status.ids.first_line  # the last sync, beside the state
        assert first.text == status.text.split("\n")[0] and first.texture_size[1] > 0, first.size
        assert first.x >= chip.right and first.to_window(first.right, 0)[0] <= size[0]
        buttons = {name: button.text for name, button in status.buttons.items()}
        msgids = {"sync": words.SYNC_NOW, "reenroll": words.REENROLL, "back": words.BACK}
        assert buttons == {**{k: _(v) for k, v in msgids.items()}, "quit": _(words.QUIT)}
        if language != "en":
            assert "Device:" not in status.text and "Backlog:" not in status.text
            assert all(text not in msgids.values() for text in buttons.values())
        for button in status.buttons.values():
            assert button.texture_size[0] <= button.width  # a long word shrinks to fit
        if reviewed(size, language):
            snap(it_kiosk, f"status-{language}-{size[0]}x{size[1]}.png")
        press(status.buttons["back"])
        frames()


def test_reenroll_can_be_cancelled_in_the_current_language(it_kiosk, store):
    app = it_kiosk.app
    app.use_language("pl")
    app.controller.show_status()
    frames()
    press(app.status_screen.buttons["reenroll"])
    frames()
    assert it_kiosk.screen == "setup" and app.setup_screen.can_cancel
    assert app.setup_screen.cancel_button.text == "Anuluj"
    press(app.setup_screen.cancel_button)
    wait_until(lambda: it_kiosk.screen == "question")
    assert store.get_enrollment() is not None
