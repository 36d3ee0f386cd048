"""The kiosk's behaviour without a window: screens, steps, timers, opening hours, the paused
store, sync events and the PIN pad, on a fake clock (`Harness.wait` fires timers as they fall
due) over a real store."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime

from kiosk.controller import OPENING_HOURS_CHECK_S, Timer
from kiosk.it_pin import set_pin
from kiosk.store import Enrollment
from kiosk.ui import words
from kiosk.view import Screen
from shared.protocol import SubmissionResult
from tests.kiosk.conftest import SURVEY_DEFINITION, make_config, make_submission

FAST = {"idle_reset_s": 2, "thank_you_s": 1, "burst_max_taps": 5, "burst_window_s": 10}
TWO_QUESTIONS = [
    SURVEY_DEFINITION["questions"][0],
    {"id": "q2", "kind": "smiley", "scale": 3, "text": {"en": "And the staff?", "pl": "A?"}},
]
STAFF = [{"id": "stf_anna", "display_name": "Anna"}, {"id": "stf_olek", "display_name": "Olek"}]


# --- what to show ----------------------------------------------------------------------------


def test_a_configured_kiosk_asks_the_first_question(make_controller):
    kiosk = make_controller(make_config(kiosk=FAST))
    assert kiosk.screen == Screen.QUESTION
    assert kiosk.view.screen == "question"
    assert kiosk.view.filled["question"] == ("q1", "en")


def test_never_enrolled_shows_setup_without_cancel(make_controller):
    kiosk = make_controller(enrolled=False)
    assert kiosk.screen == Screen.SETUP
    assert kiosk.view.filled["setup"] == {"can_cancel": False, "server_url": None}


def test_enrolled_without_config_or_survey_shows_setting_up(make_controller, store):
    kiosk = make_controller(config=None)
    assert kiosk.screen == Screen.WAITING and kiosk.view.filled["waiting"] == words.SETTING_UP
    store.set_config(make_config().model_copy(update={"survey": None}))
    kiosk.controller.refresh()
    assert kiosk.screen == Screen.WAITING and kiosk.view.filled["waiting"] == words.SETTING_UP


def test_revoked_device_is_out_of_service(make_controller, store):
    store.set_enrollment(Enrollment("http://127.0.0.1:9", "dev_test", "token"))
    store.set_config(make_config())
    store.set_state(status="revoked")
    kiosk = make_controller(enrolled=False)
    assert kiosk.screen == Screen.WAITING
    assert kiosk.view.filled["waiting"] == words.OUT_OF_SERVICE


# --- the customer's steps --------------------------------------------------------------------


def full_survey() -> dict:
    question = {
        **SURVEY_DEFINITION["questions"][0],
        "follow_up": {
            "when_at_most": 2,
            "text": {"en": "What went wrong?", "pl": "Co?"},
            "reasons": [{"id": "wait", "text": {"en": "Waiting", "pl": "Czas"}}],
        },
        "comment": True,
    }
    return {"questions": [question], "staff_prompt": "ask"}


def test_steps_come_in_order_question_followup_comment_staff_thanks(make_controller, store):
    kiosk = make_controller(make_config(kiosk=FAST, survey=full_survey(), staff=STAFF))
    control = kiosk.controller
    shown = [kiosk.screen]
    control.answer(1)
    shown.append(kiosk.screen)
    assert kiosk.view.filled["followup"] == ("What went wrong?", [("wait", "Waiting")])
    control.pick_reasons(["wait"])
    shown.append(kiosk.screen)
    control.give_comment("Slow")
    shown.append(kiosk.screen)
    assert kiosk.view.filled["staff"] == [("stf_anna", "Anna"), ("stf_olek", "Olek")]
    control.pick_staff("stf_olek")
    shown.append(kiosk.screen)
    assert shown == ["question", "followup", "comment", "staff", "thanks"]
    [submission] = store.pending(10)
    assert submission.answers[0].reasons == ["wait"] and submission.answers[0].comment == "Slow"
    assert submission.staff_id == "stf_olek"
    assert kiosk.view.filled["thanks"] == "Thank you!"


def test_a_second_press_on_a_screen_already_left_stores_nothing(make_controller, store):
    kiosk = make_controller(make_config(kiosk=FAST, survey=full_survey(), staff=STAFF))
    kiosk.controller.answer(1)
    kiosk.controller.pick_reasons(["wait"])
    kiosk.controller.pick_reasons([])  # a double tap on Done
    kiosk.controller.answer(4)  # a stray event from the hidden question screen
    assert kiosk.screen == Screen.COMMENT
    assert store.count() == 1 and store.get_submission(
        kiosk.controller.session.submission.id
    ).submission.answers[0].reasons == ["wait"]


def test_thanks_returns_to_the_first_question_after_thank_you_s(make_controller):
    kiosk = make_controller(make_config(kiosk={**FAST, "thank_you_s": 4}))
    kiosk.controller.answer(3)
    assert kiosk.screen == Screen.THANKS
    kiosk.wait(3.9)
    assert kiosk.screen == Screen.THANKS
    kiosk.wait(0.2)
    assert kiosk.screen == Screen.QUESTION


def test_it_opening_the_pin_pad_on_the_thank_you_screen_stays_there(make_controller, store):
    """The thank-you screen's timer is the thank-you screen's: IT's long press during it is
    not pulled back to the question when it runs out (as a new config never pulls IT out)."""
    set_pin(store, "246810")
    kiosk = make_controller(make_config(kiosk={**FAST, "thank_you_s": 4}), long_press_s=1)
    kiosk.controller.answer(3)
    assert kiosk.screen == Screen.THANKS
    kiosk.controller.touched(in_corner=True)
    kiosk.wait(1)
    assert kiosk.screen == Screen.PIN
    kiosk.controller.released()
    assert Timer.THANKS not in kiosk.controller.timers
    kiosk.wait(10)
    assert kiosk.screen == Screen.PIN
    kiosk.controller.enter_pin("246810")
    assert kiosk.screen == Screen.STATUS


def test_multi_question_survey_updates_one_row(make_controller, store):
    kiosk = make_controller(make_config(kiosk=FAST, survey={"questions": TWO_QUESTIONS}))
    kiosk.controller.answer(1)
    assert kiosk.screen == Screen.QUESTION and kiosk.view.filled["question"] == ("q2", "en")
    assert store.count() == 1
    assert store.pending(10) == []  # still answering: not uploaded yet
    kiosk.controller.answer(3)
    assert kiosk.screen == Screen.THANKS
    [submission] = store.pending(10)
    assert [(a.question_id, a.value) for a in submission.answers] == [("q1", 1), ("q2", 3)]


def test_burst_taps_are_flagged(make_controller, store):
    kiosk = make_controller(make_config(kiosk={**FAST, "burst_max_taps": 2}))
    for _ in range(3):
        kiosk.controller.answer(3)
        kiosk.wait(1)  # thank_you_s
        assert kiosk.screen == Screen.QUESTION
    assert [s.flags for s in store.pending(10)] == [[], [], ["burst"]]


# --- idle reset ------------------------------------------------------------------------------


def test_idle_reset_returns_to_the_first_question(make_controller, store, caplog):
    kiosk = make_controller(make_config(kiosk=FAST, survey={"questions": TWO_QUESTIONS}))
    kiosk.controller.answer(4)
    assert kiosk.view.filled["question"] == ("q2", "en")
    kiosk.wait(1.5)
    kiosk.controller.touched()  # a touch restarts the idle timer
    kiosk.wait(1.5)
    assert kiosk.view.filled["question"] == ("q2", "en")
    with caplog.at_level(logging.INFO, logger="kiosk"):
        kiosk.wait(0.6)
    assert kiosk.view.filled["question"] == ("q1", "en")
    assert "idle: reset to the first question" in caplog.messages
    [submission] = store.pending(10)  # the first answer is kept and released for upload
    assert [a.value for a in submission.answers] == [4]


def test_a_picked_language_resets_when_idle(make_controller):
    survey = {"languages": ["en", "pl"]}
    kiosk = make_controller(make_config(kiosk=FAST, survey=survey))
    kiosk.controller.pick_language("pl")
    assert kiosk.controller.session.language == "pl" and kiosk.view.language == "pl"
    assert kiosk.view.filled["question"] == ("q1", "pl")
    kiosk.wait(2)
    assert kiosk.controller.session.language == "en" and kiosk.view.language == "en"


def test_an_untouched_first_question_stays_as_it_is(make_controller):
    kiosk = make_controller(make_config(kiosk=FAST))
    session = kiosk.controller.session
    kiosk.wait(10)
    assert kiosk.controller.session is session and kiosk.screen == Screen.QUESTION


# --- a store that refuses writes ---------------------------------------------------------------


def test_a_store_refusing_writes_pauses_taps_calmly_until_it_recovers(
    make_controller, store, caplog
):
    """The real full disk is in tests/e2e/test_fault_disk.py; here the store just refuses."""
    kiosk = make_controller(make_config(kiosk=FAST))
    working = store.record_submission

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    store.record_submission = full
    with caplog.at_level(logging.INFO, logger="kiosk"):
        kiosk.controller.answer(1)
        assert kiosk.screen == Screen.WAITING  # no thank-you for a tap that was not kept
        assert kiosk.view.filled["waiting"] == words.UNAVAILABLE == "Temporarily unavailable"
        assert any("NOT recorded" in m and "disk is full" in m for m in caplog.messages)
        kiosk.controller.refresh()  # an idle or thanks timer can't bring the question back early
        assert kiosk.screen == Screen.WAITING
        store.record_submission = working
        kiosk.wait(4.9)
        assert kiosk.screen == Screen.WAITING
        kiosk.wait(0.1)  # the probe finds writes work again
        assert kiosk.screen == Screen.QUESTION and kiosk.controller.write_problem is None
    kiosk.controller.answer(1)
    assert kiosk.screen == Screen.THANKS
    assert len(store.pending(10)) == 1


def test_the_store_probe_waits_while_writes_still_fail(make_controller, store):
    kiosk = make_controller(make_config(kiosk=FAST))
    working_set_state, working_record = store.set_state, store.record_submission

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    store.record_submission = full
    kiosk.controller.answer(1)
    store.set_state = full
    kiosk.wait(20)
    assert kiosk.screen == Screen.WAITING and Timer.STORE_PROBE in kiosk.controller.timers
    store.set_state, store.record_submission = working_set_state, working_record
    kiosk.wait(5)
    assert kiosk.screen == Screen.QUESTION and Timer.STORE_PROBE not in kiosk.controller.timers


# --- opening hours ---------------------------------------------------------------------------

WEEKDAY_HOURS = {str(day): ["08:00", "20:00"] for day in range(1, 6)}
LOCATION = {"id": "loc_test", "name": "Test store", "timezone": "Europe/Warsaw"}


def hours_config(**overrides):
    location = {**LOCATION, "opening_hours": WEEKDAY_HOURS}
    return make_config(**{"kiosk": FAST, "location": location, **overrides})


def test_outside_opening_hours_the_closed_screen_takes_no_taps(make_controller, store, caplog):
    with caplog.at_level(logging.INFO, logger="kiosk"):
        kiosk = make_controller(hours_config(survey={"default_language": "pl"}))
    assert kiosk.screen == Screen.CLOSED
    assert "screen: closed" in caplog.messages
    assert kiosk.view.language == "pl"  # the closed screen speaks the survey's default
    assert kiosk.controller.session is None
    kiosk.controller.answer(3)  # a stray event from the hidden screen
    assert kiosk.screen == Screen.CLOSED
    assert store.count() == 0


def test_the_kiosk_opens_at_opening_time_and_closes_at_closing_time(
    make_controller, fake_clock, caplog
):
    kiosk = make_controller(hours_config())
    assert kiosk.controller.next_wake_s() == OPENING_HOURS_CHECK_S == 60  # checked every minute
    assert kiosk.screen == Screen.CLOSED
    with caplog.at_level(logging.INFO, logger="kiosk"):
        kiosk.wait(59)
        assert kiosk.screen == Screen.CLOSED  # 07:59:59
        kiosk.wait(1)  # Monday 08:00 in Warsaw
    assert kiosk.screen == Screen.QUESTION
    assert "screen: question" in caplog.messages
    fake_clock.now = datetime(2026, 11, 23, 18, 59, 30, tzinfo=UTC)  # 19:59:30
    kiosk.wait(60)
    assert kiosk.screen == Screen.CLOSED


def test_closing_time_never_cuts_off_a_customer(make_controller, store, fake_clock):
    fake_clock.now = datetime(2026, 11, 23, 18, 59, 30, tzinfo=UTC)  # 19:59:30
    kiosk = make_controller(
        hours_config(survey={"questions": TWO_QUESTIONS}, kiosk={**FAST, "idle_reset_s": 300})
    )
    kiosk.controller.answer(1)
    kiosk.wait(60)  # 20:00:30: the hours check runs, a customer is answering
    assert kiosk.screen == Screen.QUESTION and kiosk.view.filled["question"] == ("q2", "en")
    kiosk.controller.answer(1)
    assert kiosk.screen == Screen.THANKS
    kiosk.wait(1)  # thank_you_s
    assert kiosk.screen == Screen.CLOSED
    assert len(store.pending(10)) == 1


def test_no_opening_hours_means_always_open(make_controller, fake_clock):
    fake_clock.now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # Sunday night
    assert make_controller(make_config(kiosk=FAST)).screen == Screen.QUESTION


def test_the_it_corner_still_works_when_closed(make_controller, store):
    set_pin(store, "246810")
    kiosk = make_controller(hours_config())
    assert kiosk.screen == Screen.CLOSED
    kiosk.controller.touched(in_corner=True)
    kiosk.wait(3)  # the long press
    assert kiosk.screen == Screen.PIN
    kiosk.controller.cancel()
    assert kiosk.screen == Screen.CLOSED


# --- sync events -----------------------------------------------------------------------------


def test_a_new_config_shows_when_nobody_is_answering(make_controller, store):
    kiosk = make_controller(make_config(kiosk=FAST))
    store.set_config(make_config(kiosk=FAST, survey={"questions": TWO_QUESTIONS[1:]}))
    kiosk.controller.sync_event("config_changed")
    assert kiosk.view.filled["question"] == ("q2", "en")


def test_a_new_config_waits_for_the_customer_answering(make_controller, store):
    kiosk = make_controller(make_config(kiosk=FAST, survey={"questions": TWO_QUESTIONS}))
    kiosk.controller.answer(2)
    store.set_config(make_config(kiosk=FAST, survey={"questions": TWO_QUESTIONS[1:]}))
    kiosk.controller.sync_event("config_changed")
    kiosk.controller.sync_event("synced")
    assert kiosk.view.filled["question"] == ("q2", "en")
    assert kiosk.controller.session.started  # the same customer, the same survey


def test_revoked_is_out_of_service_at_once(make_controller, store):
    kiosk = make_controller(make_config(kiosk=FAST, survey={"questions": TWO_QUESTIONS}))
    kiosk.controller.answer(2)
    store.set_state(status="revoked")
    kiosk.controller.sync_event("revoked")
    assert kiosk.screen == Screen.WAITING
    assert kiosk.view.filled["waiting"] == words.OUT_OF_SERVICE


def test_a_new_config_does_not_pull_it_out_of_a_reenroll(make_controller, store):
    set_pin(store, "246810")
    kiosk = make_controller(make_config(kiosk=FAST))
    kiosk.controller.show_status()
    kiosk.controller.status_action("reenroll")
    filled = dict(kiosk.view.filled["setup"])
    for event in ("config_changed", "revoked"):
        kiosk.controller.sync_event(event)
        assert kiosk.screen == Screen.SETUP
    assert kiosk.view.filled["setup"] == filled  # the form IT is typing in is left alone


# --- IT: the corner, the PIN pad, the status screen ------------------------------------------


def test_only_a_long_press_in_the_corner_opens_the_pin_pad(make_controller, store):
    kiosk = make_controller(make_config(kiosk={**FAST, "idle_reset_s": 60}))
    kiosk.controller.touched(in_corner=True)
    kiosk.wait(1)
    kiosk.controller.released()
    kiosk.wait(5)
    assert kiosk.screen == Screen.QUESTION  # too short
    kiosk.controller.touched(in_corner=False)
    kiosk.wait(5)
    assert kiosk.screen == Screen.QUESTION  # not the corner
    kiosk.controller.touched(in_corner=True)
    kiosk.wait(2.9)
    assert kiosk.screen == Screen.QUESTION
    kiosk.wait(0.1)
    assert kiosk.screen == Screen.PIN


def test_the_long_press_is_a_setting(make_controller):
    kiosk = make_controller(make_config(kiosk=FAST), long_press_s=0.5)
    kiosk.controller.touched(in_corner=True)
    kiosk.wait(0.5)
    assert kiosk.screen == Screen.PIN


def test_wrong_pins_then_lockout_then_the_right_one(make_controller, store, caplog):
    set_pin(store, "246810")
    kiosk = make_controller(make_config(kiosk=FAST))
    control = kiosk.controller
    control.open_pin_pad()
    assert kiosk.view.filled["pin"] == ""
    with caplog.at_level(logging.INFO, logger="kiosk"):
        control.enter_pin("111111")
    assert kiosk.view.filled["pin"] == words.WRONG_PIN and kiosk.screen == Screen.PIN
    assert any(m.startswith("it: wrong PIN") for m in caplog.messages)
    for _ in range(4):
        control.enter_pin("111111")
    assert kiosk.view.filled["pin"] == words.LOCKED
    control.enter_pin("246810")
    assert kiosk.screen == Screen.PIN  # locked out, even with the right PIN
    assert kiosk.view.filled["pin"] == words.LOCKED
    kiosk.wait(59)
    control.touched()  # IT is still there: the pad stays open
    kiosk.wait(1)
    control.enter_pin("246810")
    assert kiosk.screen == Screen.STATUS


def test_the_lockout_is_a_setting(make_controller, store):
    set_pin(store, "246810")
    kiosk = make_controller(make_config(kiosk=FAST), pin_max_failures=2, pin_lockout_s=10)
    kiosk.controller.open_pin_pad()
    kiosk.controller.enter_pin("111111")
    assert kiosk.view.filled["pin"] == words.WRONG_PIN
    kiosk.controller.enter_pin("111111")
    assert kiosk.view.filled["pin"] == words.LOCKED
    kiosk.wait(10)
    kiosk.controller.enter_pin("246810")
    assert kiosk.screen == Screen.STATUS


def test_the_setting_is_the_pin_until_one_is_enrolled(make_controller):
    kiosk = make_controller(make_config(kiosk=FAST))
    kiosk.controller.open_pin_pad()
    assert kiosk.view.filled["pin"] == words.NO_PIN
    kiosk.controller.enter_pin("000000")
    assert kiosk.screen == Screen.PIN and kiosk.view.filled["pin"] == words.NO_PIN
    kiosk = make_controller(make_config(kiosk=FAST), it_pin="777777")
    kiosk.controller.open_pin_pad()
    kiosk.controller.enter_pin("777777")
    assert kiosk.screen == Screen.STATUS


def test_it_screens_go_back_to_the_customer_after_it_idle_s(make_controller, store, caplog):
    set_pin(store, "246810")
    kiosk = make_controller(make_config(kiosk=FAST), it_idle_s=30)
    kiosk.controller.open_pin_pad()
    kiosk.controller.enter_pin("246810")
    assert kiosk.screen == Screen.STATUS
    with caplog.at_level(logging.INFO, logger="kiosk"):
        kiosk.wait(29)
        assert kiosk.screen == Screen.STATUS  # refreshed every 5 s meanwhile, not left
        kiosk.wait(1)
    assert kiosk.screen == Screen.QUESTION
    assert "idle: leaving status" in caplog.messages
    assert Timer.STATUS_REFRESH not in kiosk.controller.timers


def test_status_shows_backlog_rejections_and_config(make_controller, store):
    kiosk = make_controller(make_config(kiosk=FAST))
    kept = make_submission()
    refused = make_submission()
    store.record_submission(kept)
    store.record_submission(refused)
    store.mark_results(
        [SubmissionResult(id=refused.id, status="rejected", reason="unknown_staff", field="x")]
    )
    store.set_state(clock_skew_s="-3.5", clock_skew_at="2026-11-23T10:00:00Z")
    kiosk.controller.show_status()
    text = kiosk.view.filled["status"]
    assert kiosk.view.filled["status_state"] == "behind"  # one tap waits
    assert "Device: Front door (dev_test)" in text
    assert "Location: Test store (loc_test, Europe/Warsaw)" in text
    assert "Backlog: 1" in text
    assert f"{refused.id}: unknown_staff (x)" in text
    assert "survey srv_test v1" in text
    assert "Clock skew (server - device): -3.5 s" in text
    assert "App version: 0.1.0" in text
    store.record_submission(make_submission())
    kiosk.wait(5)  # re-read while shown
    assert "Backlog: 2" in kiosk.view.filled["status"]


def test_reenroll_keeps_the_data_and_back_returns(make_controller, store):
    kiosk = make_controller(make_config(kiosk=FAST))
    store.record_submission(make_submission())
    kiosk.controller.show_status()
    kiosk.controller.status_action("reenroll")
    assert kiosk.screen == Screen.SETUP
    assert kiosk.view.filled["setup"] == {"can_cancel": True, "server_url": "http://127.0.0.1:9"}
    assert store.count() == 1 and store.get_enrollment() is not None
    kiosk.controller.cancel()
    assert kiosk.screen == Screen.QUESTION
    kiosk.controller.show_status()
    kiosk.controller.status_action("back")
    assert kiosk.screen == Screen.QUESTION


def test_sync_now_reports_its_outcome_on_the_status_screen(make_controller, store):
    kiosk = make_controller(make_config(kiosk=FAST), http_timeout_s=2.0)
    store.record_submission(make_submission())
    kiosk.controller.show_status()
    kiosk.controller.status_action("sync")
    assert kiosk.view.filled["status_busy"] is False
    assert "Last error: upload:" in kiosk.view.filled["status"]  # nobody at 127.0.0.1:9
    assert store.backlog() == 1


def test_quit_is_the_only_way_out(make_controller):
    kiosk = make_controller(make_config(kiosk=FAST))
    kiosk.controller.show_status()
    kiosk.controller.status_action("back")
    assert not kiosk.view.quit_called
    kiosk.controller.show_status()
    kiosk.controller.status_action("quit")
    assert kiosk.view.quit_called


def test_setup_says_when_the_server_is_unreachable(make_controller):
    kiosk = make_controller(enrolled=False, http_timeout_s=2.0)
    kiosk.controller.enroll("http://127.0.0.1:9", "ABCD-EFGH")
    assert kiosk.view.filled["setup_result"] == words.UNREACHABLE
    assert kiosk.screen == Screen.SETUP


def test_setup_refuses_a_plain_http_address_to_another_machine(make_controller, store):
    kiosk = make_controller(enrolled=False)
    kiosk.controller.enroll("http://192.0.2.1:9", "ABCD-EFGH")  # no request is ever made
    assert kiosk.view.filled["setup_result"] == words.INSECURE_URL
    assert store.get_enrollment() is None


def test_setup_enrolls_and_shows_the_survey(make_controller, live_server, tmp_path, store):
    ids = live_server.setup_location(tmp_path)
    kiosk = make_controller(enrolled=False)
    kiosk.controller.enroll(live_server.url, "NOPE-NOPE")
    assert kiosk.view.filled["setup_result"] == words.INVALID_CODE
    kiosk.controller.enroll(live_server.url, ids["code"])
    assert kiosk.view.filled["setup_result"] == ""
    assert kiosk.screen == Screen.QUESTION
    assert store.get_enrollment().device_id == ids["device_id"]
