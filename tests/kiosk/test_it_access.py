"""IT's way in: the corner long press, the PIN pad, the status screen, no exit on Escape."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import pytest
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.label import Label

from kiosk.i18n import translations
from kiosk.it_pin import set_pin
from kiosk.ui import words
from kiosk.ui.it_access import LOCKED, NO_PIN, WRONG_PIN
from shared.protocol import SubmissionResult
from tests.kiosk.conftest import make_config, make_submission
from tests.kiosk.window import ARTIFACTS, FAST, Kiosk, press, pump, snap, tap_window


@pytest.fixture
def it_kiosk(make_kiosk, store):
    set_pin(store, "2468")
    return make_kiosk(make_config(kiosk=FAST))


def hold(x: float, y_top: float, seconds: float) -> None:
    touch = UnitTestTouch(x, Window.height - y_top)
    touch.touch_down()
    pump(seconds)
    touch.touch_up()


def enter(kiosk: Kiosk, digits: str) -> None:
    for digit in [*digits, "ok"]:
        kiosk.app.pin_screen.press_key(digit)


def test_a_long_press_in_the_corner_opens_the_pin_pad(it_kiosk):
    hold(10, 10, 1.0)
    assert it_kiosk.screen == "question"  # too short
    hold(Window.width - 10, 10, 3.3)
    assert it_kiosk.screen == "question"  # wrong corner
    hold(10, 10, 3.3)
    assert it_kiosk.screen == "pin"


def test_wrong_pins_then_lockout_then_the_right_one(it_kiosk, monkeypatch):
    it_kiosk.app.it.open_pin_pad()
    enter(it_kiosk, "1111")
    assert it_kiosk.app.pin_screen.message == WRONG_PIN and it_kiosk.screen == "pin"
    for _ in range(4):
        enter(it_kiosk, "1111")
    assert it_kiosk.app.pin_screen.message == LOCKED
    enter(it_kiosk, "2468")
    assert it_kiosk.screen == "pin"  # locked out, even with the right PIN
    it_kiosk.app.it._locked_until = 0
    enter(it_kiosk, "2468")
    assert it_kiosk.screen == "status"


def test_the_setting_is_the_pin_until_one_is_enrolled(make_kiosk, settings, store):
    kiosk = make_kiosk(make_config(kiosk=FAST))
    kiosk.app.it.open_pin_pad()
    assert kiosk.app.pin_screen.message == NO_PIN
    enter(kiosk, "0000")
    assert kiosk.screen == "pin"
    kiosk.app.settings = replace(settings, it_pin="7777")
    enter(kiosk, "7777")
    assert kiosk.screen == "status"


def test_the_pad_logs_its_keys_for_clicking(it_kiosk, caplog):
    with caplog.at_level(logging.INFO, logger="kiosk"):
        it_kiosk.app.it.open_pin_pad()
        pump(3, until=lambda: any(m.startswith("targets pin:") for m in caplog.messages))
    line = next(m for m in caplog.messages if m.startswith("targets pin:"))
    keys = dict(re.findall(r"(\S+)@(\d+,\d+)", line))
    assert set(keys) == {*"0123456789", "clear", "ok", "cancel"}
    for key in "2468":
        tap_window(*map(int, keys[key].split(",")))
    tap_window(*map(int, keys["ok"].split(",")))
    pump(0.1)
    assert it_kiosk.screen == "status"


def test_status_shows_backlog_rejections_and_config(it_kiosk, store):
    kept = make_submission()
    refused = make_submission()
    store.record_submission(kept)
    store.record_submission(refused)
    store.mark_results(
        [SubmissionResult(id=refused.id, status="rejected", reason="unknown_staff", field="x")]
    )
    store.set_state(clock_skew_s="-3.5", clock_skew_at="2026-11-23T10:00:00Z")
    it_kiosk.app.it.show_status()
    text = it_kiosk.app.status_screen.text
    assert "Device: Front door (dev_test)" in text
    assert "Location: Test store (loc_test, Europe/Warsaw)" in text
    assert "Backlog: 1" in text
    assert f"{refused.id}: unknown_staff (x)" in text
    assert "survey srv_test v1" in text
    assert "Clock skew (server - device): -3.5 s" in text
    assert "App version: 0.1.0" in text


def test_sync_now_runs_off_the_ui_thread(it_kiosk, store):
    store.record_submission(make_submission())
    it_kiosk.app.it.show_status()
    pump(0.1)
    press(it_kiosk.app.status_screen.buttons["sync"])
    assert it_kiosk.app.status_screen.busy
    pump(15, until=lambda: not it_kiosk.app.status_screen.busy)
    assert "Last error: upload:" in it_kiosk.app.status_screen.text  # nobody at 127.0.0.1:9
    assert store.backlog() == 1


def test_reenroll_keeps_the_data_and_back_returns(it_kiosk, store):
    store.record_submission(make_submission())
    it_kiosk.app.it.show_status()
    pump(0.1)
    press(it_kiosk.app.status_screen.buttons["reenroll"])
    assert it_kiosk.screen == "setup"
    assert it_kiosk.app.setup_screen.server_url == "http://127.0.0.1:9"
    assert store.count() == 1 and store.get_enrollment() is not None
    it_kiosk.app.it.show_status()
    pump(0.1)
    press(it_kiosk.app.status_screen.buttons["back"])
    assert it_kiosk.screen == "question"


def test_a_new_config_does_not_pull_it_out_of_a_reenroll(it_kiosk):
    it_kiosk.app.it.show_status()
    pump(0.1)
    press(it_kiosk.app.status_screen.buttons["reenroll"])
    it_kiosk.app.setup_screen.code_input.text = "ABCD"
    for event in ("config_changed", "revoked"):
        it_kiosk.app._handle_sync_event(event)
        pump(0.1)
        assert it_kiosk.screen == "setup"
    assert it_kiosk.app.setup_screen.code_input.text == "ABCD"


def test_escape_never_exits_only_quit_does(it_kiosk, monkeypatch):
    stopped = []
    monkeypatch.setattr(it_kiosk.app, "stop", lambda *args: stopped.append(True))
    assert Window.dispatch("on_keyboard", 27, 41, None, []) is True
    assert it_kiosk.screen == "question" and not stopped
    it_kiosk.app.it.show_status()
    pump(0.1)
    press(it_kiosk.app.status_screen.buttons["quit"])
    assert stopped == [True]


def test_it_screens_screenshots(it_kiosk, store):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    refused = make_submission()
    store.record_submission(refused)
    store.mark_results(
        [SubmissionResult(id=refused.id, status="rejected", reason="unknown_question", field="a")]
    )
    it_kiosk.app.it.open_pin_pad()
    for digit in "24":
        it_kiosk.app.pin_screen.press_key(digit)
    it_kiosk.app.pin_screen.message = WRONG_PIN
    pump(0.3)
    snap(it_kiosk, "pin-800x480.png")
    it_kiosk.app.it.show_status()
    pump(0.3)
    snap(it_kiosk, "status-800x480.png")


# --- IT's screens in the kiosk's current language ---------------------------------------------

IT_LANGUAGES = ["en", "pl", "ru", "ro", "zh-Hant"]


def shown_texts(screen) -> list[str]:
    """Every text a screen draws (labels and buttons)."""
    return [w.text for w in screen.walk() if isinstance(w, Label) and w.text]


def one_line(label: Label) -> bool:
    return label.texture_size[1] < label.font_size * 1.7


@pytest.mark.parametrize("size", [(800, 480), (800, 1280)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_pin_and_status_speak_the_current_language(it_kiosk, store, size):
    Window.size = size
    store.record_submission(make_submission())
    app = it_kiosk.app
    for language in IT_LANGUAGES:
        app.use_language(language)
        _ = translations(language).gettext
        app.it.open_pin_pad()
        enter(it_kiosk, "1111")
        pump(0.3)
        pin_texts = shown_texts(app.pin_screen)
        for msgid in (words.IT_PIN, words.WRONG_PIN, words.CANCEL, words.CLEAR, words.CONFIRM):
            assert _(msgid) in pin_texts, (language, msgid)
            assert language == "en" or _(msgid) != msgid, (language, msgid)
        title = next(w for w in app.pin_screen.walk() if getattr(w, "text", "") == _(words.IT_PIN))
        assert one_line(title), (language, title.texture_size)  # never "IT / PIN"
        assert title.to_window(title.x, title.top)[1] <= Window.height  # and on the screen
        snap(it_kiosk, f"pin-{language}-{size[0]}x{size[1]}.png")

        app.it._failures = 0
        enter(it_kiosk, "2468")
        pump(0.3)
        assert it_kiosk.screen == "status"
        status = app.status_screen
        assert _("Device: {name} ({id})").format(name="Front door", id="dev_test") in status.text
        assert _("Rejected: {count}").format(count=0) in status.text
        buttons = {name: button.text for name, button in status.buttons.items()}
        msgids = {"sync": words.SYNC_NOW, "reenroll": words.REENROLL, "back": words.BACK}
        assert buttons == {**{k: _(v) for k, v in msgids.items()}, "quit": _(words.QUIT)}
        if language != "en":
            assert "Device:" not in status.text and "Backlog:" not in status.text
            assert all(text not in msgids.values() for text in buttons.values())
        for button in status.buttons.values():
            assert button.texture_size[0] <= button.width  # a long word shrinks to fit
        snap(it_kiosk, f"status-{language}-{size[0]}x{size[1]}.png")
        press(status.buttons["back"])
        pump(0.1)


def test_reenroll_can_be_cancelled_in_the_current_language(it_kiosk, store):
    app = it_kiosk.app
    app.use_language("pl")
    app.it.show_status()
    pump(0.1)
    press(app.status_screen.buttons["reenroll"])
    pump(0.3)
    assert it_kiosk.screen == "setup" and app.setup_screen.can_cancel
    assert app.setup_screen.cancel_button.text == "Anuluj"
    press(app.setup_screen.cancel_button)
    pump(0.1)
    assert it_kiosk.screen == "question"
    assert store.get_enrollment() is not None
