"""A preview of the kiosk's screens for a survey draft: each question, per language.

Drawn from the editor's draft, so it shows what the form holds before it is saved; the
template hides every language but one and a small script switches between them.
"""

from __future__ import annotations

from typing import Any

from server.dashboard.survey_form import Draft, QuestionDraft
from shared.survey import ALLOWED_SCALES, value_range

#: The kiosk's captions under the ends of a number scale (it translates them; this is English).
ENDS = {
    "nps": ("Not at all likely", "Extremely likely"),
    "ces": ("Very difficult", "Very easy"),
    "csat": ("Very unsatisfied", "Very satisfied"),
}


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
        for value in range(low, high + 1):
            if kind == "smiley":
                # Faces from unhappiest to happiest: the mouth bends from down (-1) to up (+1).
                mood = -1 + 2 * (value - 1) / (scale - 1)
                options.append({"value": value, "mood": round(mood, 2), "level": _level(mood)})
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
        "ends": ENDS.get(kind, ("", "")),
        "follow_up": follow_up,
        "comment": question.comment,
    }


def _level(mood: float) -> int:
    """A colour step 0..4 for a face (the stylesheet colours it; no inline styles)."""
    return min(4, int((mood + 1) * 2.5))
