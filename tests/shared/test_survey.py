"""Survey model: what a valid survey is, and what each invalid one is told."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from shared.survey import RULES, STRICT_KEYS, Question, Survey, SurveyDefinition, value_range

Data = dict[str, Any]


def definition() -> Data:
    """A valid two-language survey with one question of each kind."""
    return {
        "languages": ["pl", "en"],
        "default_language": "pl",
        "questions": [
            {
                "id": "q1",
                "kind": "smiley",
                "scale": 4,
                "text": {"pl": "Jak było?", "en": "How was it?"},
                "follow_up": {
                    "when_at_most": 2,
                    "text": {"pl": "Dlaczego?", "en": "Why?"},
                    "reasons": [
                        {"id": "wait", "text": {"pl": "Czekanie", "en": "Waiting"}},
                        {"id": "staff", "text": {"pl": "Obsługa", "en": "Staff"}},
                    ],
                },
                "comment": True,
            },
            {"id": "q2", "kind": "nps", "scale": 11, "text": {"pl": "Polecisz?", "en": "Rec?"}},
            {"id": "q3", "kind": "ces", "scale": 7, "text": {"pl": "Łatwo?", "en": "Easy?"}},
            {"id": "q4", "kind": "csat", "scale": 5, "text": {"pl": "Zadowolony?", "en": "OK?"}},
        ],
        "staff_prompt": "ask",
        "thank_you": {"pl": "Dziękujemy", "en": "Thank you"},
    }


def changed(edit: Callable[[Data], object]) -> Data:
    data = copy.deepcopy(definition())
    edit(data)
    return data


def errors_of(
    data: Data, model: type[SurveyDefinition] = SurveyDefinition, **kw: Any
) -> list[ErrorDetails]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data, **kw)
    return info.value.errors()


def test_valid_definition_parses() -> None:
    survey = SurveyDefinition.model_validate(definition())
    assert [q.id for q in survey.questions] == ["q1", "q2", "q3", "q4"]
    assert survey.questions[0].follow_up is not None
    assert survey.questions[0].reason_ids() == frozenset({"wait", "staff"})
    assert survey.questions[1].reason_ids() == frozenset()
    assert survey.questions[1].comment is False  # comment is off by default
    assert survey.question("q3") is survey.questions[2]
    assert survey.question("nope") is None


def test_valid_definition_parses_strictly_too() -> None:
    survey = SurveyDefinition.model_validate(definition(), context=STRICT_KEYS)
    assert survey.default_language == "pl"


def test_stored_survey_needs_id_and_a_positive_version() -> None:
    data = {**definition(), "id": "srv_1", "version": 3}
    assert Survey.model_validate(data).version == 3
    assert {e["loc"] for e in errors_of({**data, "version": 0}, Survey)} == {("version",)}
    missing = errors_of(definition(), Survey)
    assert {(e["loc"], e["type"]) for e in missing} == {
        (("id",), "missing"),
        (("version",), "missing"),
    }


def test_survey_is_frozen() -> None:
    survey = SurveyDefinition.model_validate(definition())
    with pytest.raises(ValidationError):
        survey.staff_prompt = "none"  # type: ignore[misc]


def _set_q(i: int, **fields: Any) -> Callable[[Data], None]:
    return lambda d: d["questions"][i].update(fields)


BAD = [
    # (case id, edit, expected loc, expected words in the message)
    ("nps scale 10", _set_q(1, scale=10), ("questions", 1), "scale 10 is not allowed for nps"),
    ("smiley scale 2", _set_q(0, scale=2), ("questions", 0), "not allowed for smiley"),
    ("smiley scale 6", _set_q(0, scale=6), ("questions", 0), "not allowed for smiley"),
    ("ces scale 6", _set_q(2, scale=6), ("questions", 2), "not allowed for ces"),
    ("csat scale 7", _set_q(3, scale=7), ("questions", 3), "not allowed for csat"),
    ("unknown kind", _set_q(0, kind="stars"), ("questions", 0, "kind"), "'smiley'"),
    (
        "when_at_most above the scale",
        lambda d: d["questions"][0]["follow_up"].update(when_at_most=5),
        ("questions", 0),
        "within 1..4",
    ),
    (
        "when_at_most below the scale",
        lambda d: d["questions"][0]["follow_up"].update(when_at_most=0),
        ("questions", 0),
        "within 1..4",
    ),
    (
        "no reasons",
        lambda d: d["questions"][0]["follow_up"].update(reasons=[]),
        ("questions", 0, "follow_up", "reasons"),
        "at least 1",
    ),
    (
        "duplicate reason ids",
        lambda d: d["questions"][0]["follow_up"]["reasons"][1].update(id="wait"),
        ("questions", 0, "follow_up"),
        "reason ids must be unique",
    ),
    ("duplicate question ids", _set_q(3, id="q1"), (), "question ids must be unique"),
    ("bad question id", _set_q(0, id="q 1"), ("questions", 0, "id"), "pattern"),
    ("no questions", lambda d: d.update(questions=[]), ("questions",), "at least 1"),
    (
        "missing thank-you text",
        lambda d: d["thank_you"].pop("en"),
        (),
        "thank_you has no text for en",
    ),
    (
        "missing question text",
        lambda d: d["questions"][2]["text"].pop("pl"),
        (),
        "questions[2].text has no text for pl",
    ),
    (
        "missing follow-up text",
        lambda d: d["questions"][0]["follow_up"]["text"].pop("en"),
        (),
        "questions[0].follow_up.text has no text for en",
    ),
    (
        "missing reason text",
        lambda d: d["questions"][0]["follow_up"]["reasons"][1]["text"].pop("en"),
        (),
        "questions[0].follow_up.reasons[1].text has no text for en",
    ),
    ("empty text", _set_q(1, text={"pl": "", "en": "x"}), ("questions", 1, "text", "pl"), "1 char"),
    (
        "default_language not in languages",
        lambda d: d.update(default_language="ru"),
        (),
        "default_language must be one of languages",
    ),
    ("duplicate languages", lambda d: d.update(languages=["pl", "en", "pl"]), (), "unique"),
    ("no languages", lambda d: d.update(languages=[]), ("languages",), "at least 1"),
    ("bad language code", lambda d: d.update(languages=["pl", "EN"]), ("languages", 1), "pattern"),
    (
        "fixed staff without id",
        lambda d: d.update(staff_prompt="fixed"),
        (),
        "staff_prompt 'fixed' needs fixed_staff_id",
    ),
    (
        "fixed staff with empty id",
        lambda d: d.update(staff_prompt="fixed", fixed_staff_id=""),
        (),
        "needs fixed_staff_id",
    ),
    (
        "unknown staff prompt",
        lambda d: d.update(staff_prompt="sometimes"),
        ("staff_prompt",),
        "'ask'",
    ),
    # strict types: nothing is coerced
    ("scale as a string", _set_q(0, scale="4"), ("questions", 0, "scale"), "valid integer"),
    ("scale as a float", _set_q(0, scale=4.0), ("questions", 0, "scale"), "valid integer"),
    ("scale as a bool", _set_q(3, scale=True), ("questions", 3, "scale"), "valid integer"),
    ("comment as a string", _set_q(0, comment="yes"), ("questions", 0, "comment"), "valid boolean"),
    (
        "when_at_most as a string",
        lambda d: d["questions"][0]["follow_up"].update(when_at_most="2"),
        ("questions", 0, "follow_up", "when_at_most"),
        "valid integer",
    ),
    ("languages as a string", lambda d: d.update(languages="pl"), ("languages",), "valid list"),
    ("question as a list", lambda d: d.update(questions=[["q1"]]), ("questions", 0), "dictionary"),
]


@pytest.mark.parametrize(("edit", "loc", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_definition_is_rejected_with_its_location(
    edit: Callable[[Data], object], loc: tuple[object, ...], words: str
) -> None:
    errors = errors_of(changed(edit))
    assert len(errors) == 1, errors
    assert errors[0]["loc"] == loc
    assert words in errors[0]["msg"]


def test_fixed_staff_with_an_id_is_valid() -> None:
    data = changed(lambda d: d.update(staff_prompt="fixed", fixed_staff_id="st_anna"))
    assert SurveyDefinition.model_validate(data).fixed_staff_id == "st_anna"


def test_a_name_is_optional_and_kept() -> None:
    assert SurveyDefinition.model_validate(definition()).name is None
    named = SurveyDefinition.model_validate(
        changed(lambda d: d.update(name="Exit")), context=STRICT_KEYS
    )
    assert named.name == "Exit" and '"name":"Exit"' in named.model_dump_json()
    errors = errors_of(changed(lambda d: d.update(name="")))
    assert [e["loc"] for e in errors] == [("name",)]


UNKNOWN_KEYS = [
    ("top level", lambda d: d.update(colour="red"), ()),
    ("question", _set_q(1, colour="red"), ("questions", 1)),
    (
        "follow-up",
        lambda d: d["questions"][0]["follow_up"].update(colour="red"),
        ("questions", 0, "follow_up"),
    ),
    (
        "reason",
        lambda d: d["questions"][0]["follow_up"]["reasons"][0].update(colour="red"),
        ("questions", 0, "follow_up", "reasons", 0),
    ),
    # a survey file has no id or version: those belong to the stored Survey
    ("id in a definition", lambda d: d.update(id="srv_1", version=2), ()),
]


@pytest.mark.parametrize(
    ("edit", "loc"), [u[1:] for u in UNKNOWN_KEYS], ids=[u[0] for u in UNKNOWN_KEYS]
)
def test_unknown_keys_rejected_only_with_strict_keys(
    edit: Callable[[Data], object], loc: tuple[object, ...]
) -> None:
    data = changed(edit)
    errors = errors_of(data, context=STRICT_KEYS)
    assert [e["loc"] for e in errors] == [loc]
    assert "unknown field(s):" in errors[0]["msg"]
    assert "colour" in errors[0]["msg"] or "id, version" in errors[0]["msg"]

    lenient = SurveyDefinition.model_validate(data)  # a kiosk ignores what a newer server adds
    assert "colour" not in lenient.model_dump_json()


def test_strict_keys_also_applies_to_json_input() -> None:
    text = '{"languages": ["en"], "default_language": "en", "thank_you": {"en": "Thanks"},'
    text += ' "questions": [{"id": "q", "kind": "csat", "scale": 5, "text": {"en": "?"}}],'
    text += ' "extra": 1}'
    assert SurveyDefinition.model_validate_json(text).languages == ["en"]
    with pytest.raises(ValidationError, match=r"unknown field\(s\): extra"):
        SurveyDefinition.model_validate_json(text, context=STRICT_KEYS)


@pytest.mark.parametrize(
    ("kind", "scale", "expected"),
    [
        ("nps", 11, (0, 10)),
        ("smiley", 3, (1, 3)),
        ("smiley", 4, (1, 4)),
        ("smiley", 5, (1, 5)),
        ("ces", 5, (1, 5)),
        ("ces", 7, (1, 7)),
        ("csat", 5, (1, 5)),
    ],
)
def test_value_range_and_question_values(kind: str, scale: int, expected: tuple[int, int]) -> None:
    assert value_range(kind, scale) == expected
    question = Question.model_validate(
        {"id": "q", "kind": kind, "scale": scale, "text": {"en": "?"}}
    )
    assert question.values == range(expected[0], expected[1] + 1)
    assert (question.values.start, question.values.stop) == (expected[0], expected[1] + 1)


@pytest.mark.parametrize(
    ("kind", "scale"),
    [("nps", 11), ("smiley", 3), ("smiley", 4), ("smiley", 5), ("ces", 5), ("ces", 7), ("csat", 5)],
)
def test_when_at_most_accepted_exactly_within_the_values(kind: str, scale: int) -> None:
    low, high = value_range(kind, scale)
    for when in range(low - 2, high + 3):
        data = {
            "id": "q",
            "kind": kind,
            "scale": scale,
            "text": {"en": "?"},
            "follow_up": {
                "when_at_most": when,
                "text": {"en": "Why?"},
                "reasons": [{"id": "r", "text": {"en": "R"}}],
            },
        }
        if low <= when <= high:
            assert Question.model_validate(data).follow_up is not None
        else:
            with pytest.raises(ValidationError, match=f"within {low}..{high}"):
                Question.model_validate(data)


#: One broken survey per rule of the model: the rule's code, the edit and where it points.
RULE_CASES = [
    ("unknown_field", lambda d: d.update(colour="red"), ()),
    (
        "reason_ids_not_unique",
        lambda d: d["questions"][0]["follow_up"]["reasons"][1].update(id="wait"),
        ("questions", 0, "follow_up"),
    ),
    ("scale_not_allowed", _set_q(1, scale=10), ("questions", 1)),
    (
        "when_at_most_out_of_range",
        lambda d: d["questions"][0]["follow_up"].update(when_at_most=9),
        ("questions", 0),
    ),
    ("languages_not_unique", lambda d: d.update(languages=["pl", "pl", "en"]), ()),
    ("default_language_not_listed", lambda d: d.update(default_language="de"), ()),
    ("question_ids_not_unique", _set_q(3, id="q1"), ()),
    ("fixed_staff_missing", lambda d: d.update(staff_prompt="fixed"), ()),
    ("text_missing", lambda d: d["thank_you"].pop("en"), ()),
]


def test_every_rule_has_a_stable_code() -> None:
    assert sorted(code for code, _, _ in RULE_CASES) == sorted(RULES)
    for code, edit, loc in RULE_CASES:
        errors = errors_of(changed(edit), context=STRICT_KEYS)
        assert [(e["type"], e["loc"]) for e in errors] == [(code, loc)], code
        assert not errors[0]["msg"].startswith("Value error")
