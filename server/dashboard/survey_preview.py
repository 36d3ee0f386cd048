"""A preview of the kiosk's screens for a survey draft: each question, per language.

Drawn from the editor's draft, so it shows what the form holds before it is saved; the
template hides every language but one and a small script switches between them. The words
around a scale and the faces' mood and colour come from `shared.answer_scale`, as on the
kiosk.
"""

from __future__ import annotations

from typing import Any

from server.dashboard.present import face
from server.dashboard.survey_form import Draft, QuestionDraft
from shared.answer_scale import SCALE_ENDS, face_words
from shared.survey import ALLOWED_SCALES, value_range


def preview(draft: Draft, language: str | None = None) -> list[dict[str, Any]]:
    """One screen set per language: the questions, their reasons and the thank-you text."""
    shown = language if language in draft.languages else _default(draft)
    screens = []
    for li, lang in enumerate(draft.languages):
        screens.append(
            {
                "index": li,
                "language": lang or f"language {li + 1}",
                "shown": lang == shown,
                "questions": [_question(q, li) for q in draft.questions],
                "thank_you": draft.thank_you[li],
            }
        )
    return screens


def _default(draft: Draft) -> str:
    return draft.languages[draft.default_index] if draft.languages else ""


def _question(question: QuestionDraft, li: int) -> dict[str, Any]:
    kind, scale = question.kind, question.scale
    options: list[dict[str, Any]] = []
    if scale is not None and scale in ALLOWED_SCALES.get(kind, ()):
        low, high = value_range(kind, scale)
        # The kiosk's words (English message ids: the kiosk shows them translated).
        words = face_words(scale) if kind == "smiley" else ()
        for value in range(low, high + 1):
            if kind == "smiley":
                options.append(
                    {"value": value, "word": words[value - low], **face(value, low, high)}
                )
            else:
                options.append({"value": value})
    follow_up = None
    if question.follow_up:
        follow_up = {
            "when_at_most": question.when_at_most,
            "text": question.follow_up_text[li],
            "reasons": [r.text[li] or r.id for r in question.reasons],
        }
    return {
        "id": question.id,
        "kind": kind,
        "text": question.text[li],
        "options": options,
        "ends": SCALE_ENDS.get(kind, ("", "")),
        "follow_up": follow_up,
        "comment": question.comment,
    }
