"""The kiosk and the survey editor's preview show one answer scale: the same words under it,
the same mood and colour for each face (both from shared.answer_scale)."""

from __future__ import annotations

import pytest

from kiosk.ui import words
from kiosk.ui.screens.question import answer_options
from server.dashboard.survey_form import Draft, QuestionDraft
from server.dashboard.survey_preview import preview
from shared import answer_scale
from shared.survey import ALLOWED_SCALES, Question

KINDS_AND_SCALES = [(kind, scale) for kind, scales in ALLOWED_SCALES.items() for scale in scales]


def _kiosk(kind: str, scale: int) -> list[dict[str, object]]:
    question = Question(id="q", kind=kind, scale=scale, text={"en": "?"})
    return answer_options(question, "en")


def _preview(kind: str, scale: int) -> dict[str, object]:
    question = QuestionDraft(id="q", kind_scale=f"{kind}-{scale}", text=["?"])
    draft = Draft("", ["en"], 0, "none", "", ["Thanks"], [question])
    return preview(draft)[0]["questions"][0]


@pytest.mark.parametrize(("kind", "scale"), KINDS_AND_SCALES)
def test_the_preview_says_and_draws_what_the_kiosk_does(kind: str, scale: int) -> None:
    kiosk, shown = _kiosk(kind, scale), _preview(kind, scale)
    if kind == "smiley":
        faces = shown["options"]
        assert [f["word"] for f in faces] == [o["word"] for o in kiosk]
        assert [f["colour"] for f in faces] == [answer_scale.mood_hex(o["mood"]) for o in kiosk]
        assert faces[0]["mood"] == 0 and faces[-1]["mood"] == 1
    else:
        # The kiosk shows the ends translated; in English they are the message ids themselves.
        assert shown["ends"] == (kiosk[0]["word"], kiosk[-1]["word"])
        assert shown["ends"] == words.scale_ends("en", kind) == answer_scale.SCALE_ENDS[kind]


def test_the_kiosk_takes_its_words_and_colours_from_shared() -> None:
    from kiosk.ui.widgets import face

    assert words.SCALE_ENDS is answer_scale.SCALE_ENDS
    assert words.FACE_WORDS is answer_scale.FACE_WORDS
    assert face.mood_colour is answer_scale.mood_colour
    assert answer_scale.SCALE_ENDS["ces"] == ("Strongly disagree", "Strongly agree")
