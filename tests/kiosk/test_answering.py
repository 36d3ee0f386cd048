"""A customer's pass through the survey, without a window."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.answering import NoSurvey, SurveySession
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
    with pytest.raises(NoSurvey):
        SurveySession(make_config().model_copy(update={"survey": None}), store)


def test_text_falls_back_to_the_default_language(store: LocalStore):
    session = SurveySession(make_config(), store)
    session.language = "ro"
    assert session.text({"en": "Hello", "pl": "Cześć"}) == "Hello"
