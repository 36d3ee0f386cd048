"""A customer's pass through the survey, without a window."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.answering import NoSurveyError, SurveySession
from kiosk.store import LocalStore
from tests.kiosk.conftest import SURVEY_DEFINITION, make_config

TWO_QUESTIONS = [
    SURVEY_DEFINITION["questions"][0],
    {"id": "q2", "kind": "nps", "scale": 11, "text": {"en": "Recommend us?", "pl": "Polecisz?"}},
]


def test_first_tap_is_committed_with_an_id_and_offset_time(store: LocalStore):
    session = SurveySession(make_config(), store)
    submission = session.answer(3)
    assert session.done
    stored = store.get_submission(submission.id)
    assert stored is not None and stored.submission == submission
    assert (
        isinstance(submission.tapped_at, datetime) and submission.tapped_at.utcoffset() is not None
    )
    assert submission.answers[0].model_dump() == {
        "question_id": "q1",
        "value": 3,
        "reasons": [],
        "comment": None,
    }


def test_later_answers_update_the_same_row(store: LocalStore):
    session = SurveySession(make_config(survey={"questions": TWO_QUESTIONS}), store)
    first = session.answer(1)
    assert session.question.id == "q2"
    assert store.pending(10) == []
    second = session.answer(0)  # NPS starts at 0
    assert second.id == first.id and second.tapped_at == first.tapped_at
    assert [a.value for a in store.pending(10)[0].answers] == [1, 0]


def test_values_outside_the_scale_are_refused(store: LocalStore):
    session = SurveySession(make_config(), store)
    with pytest.raises(ValueError):
        session.answer(5)
    assert store.count() == 0


def test_fixed_staff_is_recorded(store: LocalStore):
    config = make_config(survey={"staff_prompt": "fixed", "fixed_staff_id": "stf_1"})
    assert SurveySession(config, store).answer(4).staff_id == "stf_1"


def test_no_survey(store: LocalStore):
    with pytest.raises(NoSurveyError):
        SurveySession(make_config().model_copy(update={"survey": None}), store)


def test_text_falls_back_to_the_default_language(store: LocalStore):
    session = SurveySession(make_config(), store)
    session.language = "ro"
    assert session.text({"en": "Hello", "pl": "Cześć"}) == "Hello"


FOLLOW_UP_QUESTION = {
    **SURVEY_DEFINITION["questions"][0],
    "follow_up": {
        "when_at_most": 2,
        "text": {"en": "What went wrong?", "pl": "Co poszło nie tak?"},
        "reasons": [
            {"id": "wait", "text": {"en": "Waiting time", "pl": "Czas oczekiwania"}},
            {"id": "staff", "text": {"en": "Staff", "pl": "Obsługa"}},
        ],
    },
    "comment": True,
}


def test_follow_up_reasons_and_comment_update_the_same_row(store: LocalStore):
    session = SurveySession(make_config(survey={"questions": [FOLLOW_UP_QUESTION]}), store)
    first = session.answer(2)
    assert session.step == "followup" and not session.done
    assert store.pending(10) == []  # still open: the reasons are on their way
    session.add_reasons(["wait", "staff"])
    assert session.step == "comment"
    last = session.add_comment("  Too slow  ")
    assert session.step == "thanks" and session.done
    assert last.id == first.id and store.count() == 1
    [stored] = store.pending(10)
    assert stored.answers[0].reasons == ["wait", "staff"]
    assert stored.answers[0].comment == "Too slow"


def test_no_follow_up_above_the_threshold(store: LocalStore):
    question = {**FOLLOW_UP_QUESTION, "comment": False}
    session = SurveySession(make_config(survey={"questions": [question]}), store)
    session.answer(3)
    assert session.step == "thanks"
    with pytest.raises(RuntimeError):
        session.add_reasons([])


def test_unknown_reasons_are_refused(store: LocalStore):
    session = SurveySession(make_config(survey={"questions": [FOLLOW_UP_QUESTION]}), store)
    session.answer(1)
    with pytest.raises(ValueError):
        session.add_reasons(["nope"])


def test_staff_is_asked_last_and_recorded(store: LocalStore):
    config = make_config(
        survey={"staff_prompt": "ask"},
        staff=[{"id": "stf_1", "display_name": "Anna"}, {"id": "stf_2", "display_name": "Olek"}],
    )
    session = SurveySession(config, store)
    session.answer(4)
    assert session.step == "staff"
    session.choose_staff("stf_2")
    assert session.done
    assert store.pending(10)[0].staff_id == "stf_2"


def test_ask_without_a_roster_skips_the_staff_step(store: LocalStore):
    session = SurveySession(make_config(survey={"staff_prompt": "ask"}), store)
    session.answer(4)
    assert session.done


def test_a_language_picked_after_the_first_tap_is_recorded(store: LocalStore):
    session = SurveySession(make_config(survey={"questions": TWO_QUESTIONS}), store)
    session.answer(1)
    session.set_language("pl")
    session.answer(9)
    assert store.pending(10)[0].language == "pl"
    with pytest.raises(ValueError):
        session.set_language("de")


def test_a_tap_carries_the_touchpoint_of_the_config_shown(store: LocalStore):
    # A server without touchpoints sends no "touchpoint": the tap is at none.
    assert SurveySession(make_config(), store).answer(4).touchpoint_id is None
    placed = make_config(touchpoint={"id": "tp_tills", "name": "Tills", "kind": "checkout"})
    submission = SurveySession(placed, store).answer(4)
    assert submission.touchpoint_id == "tp_tills"
    stored = store.get_submission(submission.id)
    assert stored is not None and stored.submission.touchpoint_id == "tp_tills"
