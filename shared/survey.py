"""The survey model: question kinds, their scales, follow-up reasons and per-language texts.

A survey as the server stores it and as the kiosk receives it in /config. Validation lives
here so the server (create-survey, ingest) and the kiosk (cached config) agree on what a
valid survey is.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.names import check_single_line

QuestionKind = Literal["smiley", "nps", "ces", "csat"]
StaffPrompt = Literal["none", "ask", "fixed"]

#: The scales each kind allows (PROTOCOL.md, "Scales").
ALLOWED_SCALES: dict[str, tuple[int, ...]] = {
    "smiley": (3, 4, 5),
    "nps": (11,),
    "ces": (5, 7),
    "csat": (5,),
}

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]
LanguageCode = Annotated[
    str, StringConstraints(min_length=2, max_length=16, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Texts = dict[LanguageCode, Text]
#: A survey's name: one line (`shared.names`), shown in lists and exports.
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(check_single_line)
]


def value_range(kind: str, scale: int) -> tuple[int, int]:
    """The lowest and highest answer value a question of this kind and scale accepts."""
    if kind == "nps":
        return 0, 10
    return 1, scale


#: Each rule of the survey model beyond field types: its stable error code (the pydantic error
#: `type`) and its message. Forms and commands map an error to a field by the code, never by
#: the English message, so rewording a message changes no behaviour.
RULES: dict[str, str] = {
    "unknown_field": "unknown field(s): {fields}",
    "reason_ids_not_unique": "reason ids must be unique",
    "scale_not_allowed": "scale {scale} is not allowed for {kind}; use {allowed}",
    "when_at_most_out_of_range": "follow_up.when_at_most must be within {low}..{high}",
    "languages_not_unique": "languages must be unique",
    "default_language_not_listed": "default_language must be one of languages",
    "question_ids_not_unique": "question ids must be unique",
    "fixed_staff_missing": "staff_prompt 'fixed' needs fixed_staff_id",
    "text_missing": "{path} has no text for {languages}",
}


def broken(code: str, **context: Any) -> PydanticCustomError:
    """The validation error of the survey rule `code` (a key of RULES)."""
    return PydanticCustomError(code, RULES[code], context)


#: Validation context that turns unknown keys into errors: an admin's survey file is checked
#: strictly, while a kiosk ignores fields that a newer server adds to /config.
STRICT_KEYS = {"forbid_extra": True}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_keys(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and info.context and info.context.get("forbid_extra"):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise broken("unknown_field", fields=", ".join(map(str, unknown)))
        return data


class Reason(_Model):
    """One follow-up reason chip."""

    id: Identifier
    text: Texts


class FollowUp(_Model):
    """Reason chips shown when the answer is at most `when_at_most`."""

    when_at_most: int
    text: Texts
    reasons: list[Reason] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _unique_reasons(self) -> FollowUp:
        ids = [r.id for r in self.reasons]
        if len(ids) != len(set(ids)):
            raise broken("reason_ids_not_unique")
        return self


class Question(_Model):
    """One question: its kind, scale, texts, optional follow-up and comment box."""

    id: Identifier
    kind: QuestionKind
    scale: int
    text: Texts
    follow_up: FollowUp | None = None
    comment: bool = False

    @model_validator(mode="after")
    def _scale_fits_kind(self) -> Question:
        allowed = ALLOWED_SCALES[self.kind]
        if self.scale not in allowed:
            raise broken(
                "scale_not_allowed", scale=self.scale, kind=self.kind, allowed=str(allowed)
            )
        if self.follow_up is not None:
            low, high = value_range(self.kind, self.scale)
            if not low <= self.follow_up.when_at_most <= high:
                raise broken("when_at_most_out_of_range", low=low, high=high)
        return self

    @property
    def values(self) -> range:
        """Every value a customer can give."""
        low, high = value_range(self.kind, self.scale)
        return range(low, high + 1)

    def reason_ids(self) -> frozenset[str]:
        return frozenset(r.id for r in self.follow_up.reasons) if self.follow_up else frozenset()


class SurveyDefinition(_Model):
    """A survey as an admin writes it: the /config `survey` object without id and version."""

    languages: list[LanguageCode] = Field(min_length=1, max_length=20)
    default_language: LanguageCode
    questions: list[Question] = Field(min_length=1, max_length=20)
    staff_prompt: StaffPrompt = "none"
    fixed_staff_id: str | None = None
    thank_you: Texts
    #: What admins call the survey on the dashboard; kiosks never show it.
    name: Name | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SurveyDefinition:
        if len(set(self.languages)) != len(self.languages):
            raise broken("languages_not_unique")
        if self.default_language not in self.languages:
            raise broken("default_language_not_listed")
        ids = [q.id for q in self.questions]
        if len(ids) != len(set(ids)):
            raise broken("question_ids_not_unique")
        if self.staff_prompt == "fixed" and not self.fixed_staff_id:
            raise broken("fixed_staff_missing")
        for path, texts in self._all_texts():
            missing = [lang for lang in self.languages if lang not in texts]
            if missing:
                raise broken("text_missing", path=path, languages=", ".join(missing))
        return self

    def _all_texts(self) -> list[tuple[str, dict[str, str]]]:
        found: list[tuple[str, dict[str, str]]] = [("thank_you", self.thank_you)]
        for i, q in enumerate(self.questions):
            found.append((f"questions[{i}].text", q.text))
            if q.follow_up:
                found.append((f"questions[{i}].follow_up.text", q.follow_up.text))
                for j, r in enumerate(q.follow_up.reasons):
                    found.append((f"questions[{i}].follow_up.reasons[{j}].text", r.text))
        return found

    def question(self, question_id: str) -> Question | None:
        """The question with this id, or None."""
        return next((q for q in self.questions if q.id == question_id), None)


class Survey(SurveyDefinition):
    """A stored survey version, as /config sends it."""

    id: Identifier
    version: int = Field(ge=1)
