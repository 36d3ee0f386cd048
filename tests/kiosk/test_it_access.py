"""IT's way in: the corner long press, the PIN pad, the status screen, no exit on Escape."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import pytest
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch

from kiosk.it_pin import set_pin
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
