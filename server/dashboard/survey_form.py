"""The survey editor's form: a draft of plain fields, to and from a survey, with named errors.

A `Draft` holds what the form shows, exactly as typed: texts are kept per language *position*
so that renaming a language code, or typing a duplicate, never loses a text. Input names are
flat and indexed (`lang-1`, `q-0-text-1`, `q-0-r-2-id`), so the form posts ordinary fields
and works without JavaScript; the add, remove and move buttons post an `action` that
`apply` carries out on the draft before the page is shown again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from werkzeug.datastructures import MultiDict

from shared.survey import ALLOWED_SCALES, STRICT_KEYS, SurveyDefinition, value_range

#: ASCII digits only: str.isdigit() also admits '²' and '١', which int() refuses or misreads.
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,9}")
_INDEX = re.compile(r"[0-9]{1,9}")

#: The kinds and scales the model allows, as the one choice the form offers for both.
KIND_LABELS = {"smiley": "Smiley faces", "nps": "NPS", "ces": "CES (effort)", "csat": "CSAT"}


def _kind_label(kind: str, scale: int) -> str:
    if kind == "smiley":
        return f"{KIND_LABELS[kind]}, {scale} faces"
    low, high = value_range(kind, scale)
    return f"{KIND_LABELS[kind]}, {low}–{high}"


KIND_CHOICES = [
    (f"{kind}-{scale}", _kind_label(kind, scale))
    for kind, scales in ALLOWED_SCALES.items()
    for scale in scales
]
STAFF_PROMPTS = [
    ("none", "Don't ask"),
    ("ask", "The customer picks a staff member"),
    ("fixed", "Always one staff member (fixed id)"),
]
#: Language codes offered as suggestions (any valid code may be typed).
COMMON_LANGUAGES = ("en", "pl", "ru", "ro", "zh-Hant", "uk", "de", "fr", "es", "it", "lt", "cs")
LANGUAGE_FIELDS = (("languages",), ("default_language",))
#: More rows than the model allows are refused by it; this only bounds the form scan.
_MAX_ROWS = 60


@dataclass
class ReasonDraft:
    id: str
    text: list[str]


@dataclass
class QuestionDraft:
    id: str
    kind_scale: str
    text: list[str]
    comment: bool = False
    follow_up: bool = False
    when_at_most: str = ""
    follow_up_text: list[str] = field(default_factory=list)
    reasons: list[ReasonDraft] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.kind_scale.partition("-")[0]

    @property
    def scale(self) -> int | None:
        scale = self.kind_scale.partition("-")[2]
        return int(scale) if _INDEX.fullmatch(scale) else None


@dataclass
class Draft:
    name: str
    languages: list[str]
    default_index: int
    staff_prompt: str
    fixed_staff_id: str
    thank_you: list[str]
    questions: list[QuestionDraft]


@dataclass(frozen=True)
class Problem:
    """One reason the survey cannot be saved: a label naming the field, and what is wrong."""

    label: str
    message: str
    input_name: str | None = None

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"


# --- survey -> draft ---------------------------------------------------------------------


def _default_threshold(kind: str, scale: int) -> int:
    """Where reasons start by default: the unhappy half of the scale."""
    return 6 if kind == "nps" else max(1, scale // 2)


def draft_from_survey(survey: SurveyDefinition) -> Draft:
    """The form's fields for a stored survey."""
    langs = list(survey.languages)

    def texts(found: dict[str, str]) -> list[str]:
        return [found.get(lang, "") for lang in langs]

    questions: list[QuestionDraft] = []
    for q in survey.questions:
        follow = q.follow_up
        questions.append(
            QuestionDraft(
                id=q.id,
                kind_scale=f"{q.kind}-{q.scale}",
                text=texts(q.text),
                comment=q.comment,
                follow_up=follow is not None,
                when_at_most=str(
                    follow.when_at_most if follow else _default_threshold(q.kind, q.scale)
                ),
                follow_up_text=texts(follow.text) if follow else [""] * len(langs),
                reasons=[ReasonDraft(r.id, texts(r.text)) for r in follow.reasons]
                if follow
                else [],
            )
        )
    return Draft(
        name=survey.name or "",
        languages=langs,
        default_index=langs.index(survey.default_language),
        staff_prompt=survey.staff_prompt,
        fixed_staff_id=survey.fixed_staff_id or "",
        thank_you=texts(survey.thank_you),
        questions=questions,
    )


# --- form -> draft -----------------------------------------------------------------------


def _text(form: MultiDict[str, str], name: str) -> str:
    # Browsers send textarea line breaks as CRLF; a text of only spaces counts as empty.
    value = form.get(name, "").replace("\r\n", "\n")
    return value if value.strip() else ""


def draft_from_form(form: MultiDict[str, str]) -> Draft:
    """The draft the posted form describes, kept exactly as typed."""
    languages: list[str] = []
    while len(languages) < _MAX_ROWS and f"lang-{len(languages)}" in form:
        languages.append(form.get(f"lang-{len(languages)}", "").strip())
    count = len(languages)

    def texts(prefix: str) -> list[str]:
        return [_text(form, f"{prefix}-{li}") for li in range(count)]

    questions: list[QuestionDraft] = []
    while len(questions) < _MAX_ROWS and f"q-{len(questions)}-id" in form:
        p = f"q-{len(questions)}"
        reasons: list[ReasonDraft] = []
        while len(reasons) < _MAX_ROWS and f"{p}-r-{len(reasons)}-id" in form:
            r = f"{p}-r-{len(reasons)}"
            reasons.append(ReasonDraft(form.get(f"{r}-id", "").strip(), texts(f"{r}-text")))
        questions.append(
            QuestionDraft(
                id=form.get(f"{p}-id", "").strip(),
                kind_scale=form.get(f"{p}-kind", ""),
                text=texts(f"{p}-text"),
                comment=bool(form.get(f"{p}-comment")),
                follow_up=bool(form.get(f"{p}-follow_up")),
                when_at_most=form.get(f"{p}-when_at_most", "").strip(),
                follow_up_text=texts(f"{p}-follow_up-text"),
                reasons=reasons,
            )
        )
    default = form.get("default_language", "0")
    return Draft(
        name=form.get("name", "").strip(),
        languages=languages,
        default_index=int(default) if _INDEX.fullmatch(default) and int(default) < count else 0,
        staff_prompt=form.get("staff_prompt", "none"),
        fixed_staff_id=form.get("fixed_staff_id", "").strip(),
        thank_you=texts("thank_you"),
        questions=questions,
    )


# --- add, remove, move -------------------------------------------------------------------


def _unused(prefix: str, taken: set[str]) -> str:
    n = len(taken) + 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def _all_text_lists(draft: Draft) -> list[list[str]]:
    lists = [draft.thank_you]
    for q in draft.questions:
        lists += [q.text, q.follow_up_text, *(r.text for r in q.reasons)]
    return lists


def apply(draft: Draft, action: str) -> Draft:
    """Carry out one add/remove/move button (`add-reason:0`, `remove-language:1`, …)."""
    verb, _, where = action.partition(":")
    parts = where.split(":") if where else []
    if not all(_INDEX.fullmatch(part) for part in parts):
        return draft
    at = [int(part) for part in parts]
    langs, questions = len(draft.languages), draft.questions
    if verb == "add-language":
        draft.languages.append("")
        for texts in _all_text_lists(draft):
            texts.append("")
    elif verb == "remove-language" and len(at) == 1 and 0 <= at[0] < langs and langs > 1:
        del draft.languages[at[0]]
        for texts in _all_text_lists(draft):
            del texts[at[0]]
        if draft.default_index == at[0]:
            draft.default_index = 0
        elif draft.default_index > at[0]:
            draft.default_index -= 1
    elif verb == "add-question":
        questions.append(
            QuestionDraft(
                id=_unused("q", {q.id for q in questions}),
                kind_scale="smiley-5",
                text=[""] * langs,
                when_at_most="2",
                follow_up_text=[""] * langs,
            )
        )
    elif verb == "remove-question" and len(at) == 1 and 0 <= at[0] < len(questions):
        del questions[at[0]]
    elif verb in ("up-question", "down-question") and len(at) == 1:
        i = at[0]
        j = i - 1 if verb == "up-question" else i + 1
        if 0 <= i < len(questions) and 0 <= j < len(questions):
            questions[i], questions[j] = questions[j], questions[i]
    elif verb == "add-reason" and len(at) == 1 and 0 <= at[0] < len(questions):
        q = questions[at[0]]
        q.reasons.append(ReasonDraft(_unused("r", {r.id for r in q.reasons}), [""] * langs))
        q.follow_up = True
    elif verb == "remove-reason" and len(at) == 2 and 0 <= at[0] < len(questions):
        reasons = questions[at[0]].reasons
        if 0 <= at[1] < len(reasons):
            del reasons[at[1]]
    return draft


# --- draft -> survey ---------------------------------------------------------------------


def survey_data(draft: Draft) -> dict[str, Any]:
    """The survey object the draft describes (not yet validated)."""

    def texts(values: list[str]) -> dict[str, str]:
        return dict(zip(draft.languages, values, strict=True))

    questions: list[dict[str, Any]] = []
    for q in draft.questions:
        when: int | str = int(q.when_at_most) if _is_int(q.when_at_most) else q.when_at_most
        follow_up = (
            {
                "when_at_most": when,
                "text": texts(q.follow_up_text),
                "reasons": [{"id": r.id, "text": texts(r.text)} for r in q.reasons],
            }
            if q.follow_up
            else None
        )
        questions.append(
            {
                "id": q.id,
                "kind": q.kind,
                "scale": q.scale if q.scale is not None else 0,
                "text": texts(q.text),
                "follow_up": follow_up,
                "comment": q.comment,
            }
        )
    return {
        "languages": list(draft.languages),
        "default_language": draft.languages[draft.default_index] if draft.languages else "",
        "questions": questions,
        "staff_prompt": draft.staff_prompt,
        "fixed_staff_id": draft.fixed_staff_id or None,
        "thank_you": texts(draft.thank_you),
        "name": draft.name or None,
    }


def _is_int(value: str) -> bool:
    return _WHOLE_NUMBER.fullmatch(value) is not None


def validate(draft: Draft) -> tuple[SurveyDefinition | None, list[Problem]]:
    """The survey in the draft, or every problem that stops it, each naming its field."""
    try:
        return SurveyDefinition.model_validate(survey_data(draft), context=STRICT_KEYS), []
    except ValidationError as exc:
        found: list[Problem] = []
        for error in exc.errors(include_url=False, include_input=False):
            problem = _problem(error, draft)
            if problem is not None and problem not in found:
                found.append(problem)
        return None, found


def _message(error: ErrorDetails, what: str) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "required"
    if kind == "string_pattern_mismatch":
        if what == "language":
            return "a language code such as en, pl or zh-Hant"
        return "letters, digits and _ . : - only, no spaces"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind in ("int_type", "int_parsing"):
        return "a whole number is needed"
    if kind == "too_short":
        return "add at least one"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')}"
    if kind == "literal_error":
        return "choose one of the listed options"
    return str(error["msg"])


def _problem(error: ErrorDetails, draft: Draft) -> Problem | None:
    """The error with a label an admin recognises and the input it points at."""
    loc = tuple(p for p in error["loc"] if isinstance(p, int) or "[" not in str(p) or p == "[key]")
    if "[key]" in loc:
        return None  # a bad language code: its own row says so
    langs = draft.languages

    def lang_at(code: object) -> tuple[str, int]:
        code = str(code)
        return code, langs.index(code) if code in langs else 0

    message = _message(error, "language" if loc[:1] in LANGUAGE_FIELDS else "id")
    head = loc[0] if loc else None
    if head is None:
        return _survey_problem(str(error["type"]), message)
    if head == "name":
        return Problem("Survey name", message, "name")
    if head == "languages":
        if len(loc) == 1:
            return Problem("Languages", message)
        return Problem(f"Language {int(loc[1]) + 1}", message, f"lang-{loc[1]}")
    if head == "default_language":
        return Problem("Default language", message, "default_language")
    if head == "staff_prompt":
        return Problem("Staff prompt", message, "staff_prompt")
    if head == "fixed_staff_id":
        return Problem("Fixed staff id", message, "fixed_staff_id")
    if head == "thank_you":
        code, li = lang_at(loc[1]) if len(loc) > 1 else ("", 0)
        return Problem(f"Thank-you text ({code})", message, f"thank_you-{li}")
    if head != "questions" or len(loc) == 1:
        return Problem("Questions" if head == "questions" else "Survey", message)
    qi = int(loc[1])
    label, p, rest = f"Question {qi + 1}", f"q-{qi}", loc[2:]
    if not rest:
        # The question's own rules (shared.survey.RULES), told apart by their codes.
        if error["type"] == "when_at_most_out_of_range":
            ctx = error.get("ctx") or {}
            within = f"must be within {ctx.get('low')}..{ctx.get('high')}"
            return Problem(f"{label}, reasons for answers up to", within, f"{p}-when_at_most")
        if error["type"] == "scale_not_allowed":
            return Problem(f"{label}, kind", message, f"{p}-kind")
        return Problem(label, message)
    if rest[0] in ("kind", "scale"):
        return Problem(f"{label}, kind", message, f"{p}-kind")
    if rest[0] == "id":
        return Problem(f"{label}, id", message, f"{p}-id")
    if rest[0] == "text":
        code, li = lang_at(rest[1]) if len(rest) > 1 else ("", 0)
        return Problem(f"{label}, text ({code})", message, f"{p}-text-{li}")
    if rest[0] != "follow_up":
        return Problem(label, message)
    rest = rest[1:]
    if not rest:
        return Problem(f"{label}, reasons", message)
    if rest[0] == "when_at_most":
        return Problem(f"{label}, reasons for answers up to", message, f"{p}-when_at_most")
    if rest[0] == "text":
        code, li = lang_at(rest[1]) if len(rest) > 1 else ("", 0)
        return Problem(f"{label}, reasons question ({code})", message, f"{p}-follow_up-text-{li}")
    if len(rest) == 1:
        return Problem(f"{label}, reasons", f"{message} reason")
    ri, field_ = int(rest[1]), rest[2] if len(rest) > 2 else None
    r = f"{p}-r-{ri}"
    if field_ == "id":
        return Problem(f"{label}, reason {ri + 1}, id", message, f"{r}-id")
    if field_ == "text":
        code, li = lang_at(rest[3]) if len(rest) > 3 else ("", 0)
        return Problem(f"{label}, reason {ri + 1} ({code})", message, f"{r}-text-{li}")
    return Problem(f"{label}, reason {ri + 1}", message)


#: The survey-wide rules of the model (shared.survey.RULES) by code, in the form's words.
_SURVEY_RULES = {
    "languages_not_unique": ("Languages", "each language only once"),
    "default_language_not_listed": ("Default language", "choose one of the rows"),
    "question_ids_not_unique": ("Questions", "each question needs its own id"),
    "fixed_staff_missing": ("Fixed staff id", "required for 'fixed'"),
}


def _survey_problem(code: str, message: str) -> Problem:
    label, text = _SURVEY_RULES.get(code, ("Survey", message))
    return Problem(label, text, "fixed_staff_id" if label == "Fixed staff id" else None)
