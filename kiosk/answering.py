"""One customer's pass through the survey: builds the Submission and stores every answer.

Plain Python (no Kivy), so the tap → store → thank-you order is testable without a window.
The submission id and `tapped_at` are made at the first tap and the row is committed then;
later answers, follow-up reasons, a comment and the staff choice update the same row, which
stays `in_progress` (not uploaded) until nothing is left to ask or the kiosk resets after
`idle_reset_s`.

After each answer the session queues the extra steps it calls for, in this order:
`followup` (the value is at most `follow_up.when_at_most`), `comment` (`question.comment`),
and after the last question `staff` (`staff_prompt == "ask"` and a roster to pick from).
The staff picker comes last so that the customer's one tap is always the first thing asked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from kiosk.store import LocalStore
from shared.ids import new_submission_id
from shared.protocol import Answer, ConfigResponse, Submission
from shared.survey import Question, Survey


class Step(StrEnum):
    """What the session asks for now (the screen of the same name shows it)."""

    QUESTION = "question"
    FOLLOWUP = "followup"
    COMMENT = "comment"
    STAFF = "staff"
    THANKS = "thanks"


def local_now() -> datetime:
    """The device clock, aware, with the machine's UTC offset."""
    return datetime.now().astimezone()


class NoSurveyError(Exception):
    """The config has no survey assigned: there is nothing to ask."""


class SurveySession:
    """The answers of the customer at the kiosk right now."""

    def __init__(
        self,
        config: ConfigResponse,
        store: LocalStore,
        clock: Callable[[], datetime] = local_now,
    ) -> None:
        if config.survey is None:
            raise NoSurveyError("no survey is assigned to this location")
        self.config = config
        self.survey: Survey = config.survey
        self.store = store
        self.clock = clock
        self.language = self.survey.default_language
        self.submission: Submission | None = None
        self.index = 0
        self.steps: list[Step] = []

    @property
    def question(self) -> Question:
        """The question to show now."""
        return self.survey.questions[self.index]

    @property
    def started(self) -> bool:
        return self.submission is not None

    @property
    def done(self) -> bool:
        """Every question is answered and no extra step is left."""
        return self.index >= len(self.survey.questions) and not self.steps

    @property
    def step(self) -> Step:
        """What to show now: `question`, `followup`, `comment`, `staff` or `thanks`."""
        if self.steps:
            return self.steps[0]
        return Step.THANKS if self.done else Step.QUESTION

    @property
    def answered_question(self) -> Question:
        """The question answered last (the one a follow-up or comment belongs to)."""
        return self.survey.questions[self.index - 1]

    def set_language(self, language: str) -> None:
        """The customer picked a language; an already stored submission records it."""
        if language not in self.survey.languages:
            raise ValueError(f"{language} is not a language of this survey")
        self.language = language
        if self.submission is not None:
            self._save(language=language)

    def text(self, texts: dict[str, str]) -> str:
        """A text in the session's language, else the default one, else any."""
        return (
            texts.get(self.language)
            or texts.get(self.survey.default_language)
            or next(iter(texts.values()), "")
        )

    def answer(self, value: int) -> Submission:
        """Record the answer to the current question on disk, then move to the next one."""
        question = self.question
        if value not in question.values:
            raise ValueError(f"{value} is not a value of question {question.id}")
        answer = Answer(question_id=question.id, value=value)
        self.index += 1
        self.steps = self._steps_after(question, value)
        more = not self.done
        if self.submission is None:
            touchpoint = self.config.touchpoint
            submission = Submission(
                id=new_submission_id(),
                survey_id=self.survey.id,
                survey_version=self.survey.version,
                location_id=self.config.location.id,
                # Where the kiosk stood when the customer tapped: a kiosk moved with a
                # backlog still files these answers where they were given.
                touchpoint_id=None if touchpoint is None else touchpoint.id,
                staff_id=self.survey.fixed_staff_id
                if self.survey.staff_prompt == "fixed"
                else None,
                language=self.language,
                tapped_at=self.clock(),
                answers=[answer],
            )
            kiosk = self.config.kiosk
            self.submission = self.store.record_submission(
                submission,
                in_progress=more,
                burst_max_taps=kiosk.burst_max_taps,
                burst_window_s=kiosk.burst_window_s,
            )
        else:
            self.submission = self.submission.model_copy(
                update={"answers": [*self.submission.answers, answer]}
            )
            self.store.update_submission(self.submission, in_progress=more)
        return self.submission

    def _steps_after(self, question: Question, value: int) -> list[Step]:
        steps = []
        follow_up = question.follow_up
        if follow_up is not None and value <= follow_up.when_at_most:
            steps.append(Step.FOLLOWUP)
        if question.comment:
            steps.append(Step.COMMENT)
        last = self.index >= len(self.survey.questions)
        if last and self.survey.staff_prompt == "ask" and self.config.staff:
            steps.append(Step.STAFF)
        return steps

    def add_reasons(self, reasons: list[str]) -> Submission:
        """The follow-up's chosen reason ids (maybe none) join the last answer on disk."""
        known = self.answered_question.reason_ids()
        unknown = [r for r in reasons if r not in known]
        if unknown:
            raise ValueError(f"unknown reasons {unknown}")
        return self._finish_step(Step.FOLLOWUP, reasons=list(reasons))

    def add_comment(self, comment: str | None) -> Submission:
        """The customer's comment (None when skipped) joins the last answer on disk."""
        return self._finish_step(Step.COMMENT, comment=(comment or "").strip()[:2000] or None)

    def choose_staff(self, staff_id: str | None) -> Submission:
        """The staff member the customer picked (None when skipped)."""
        if staff_id is not None and staff_id not in {s.id for s in self.config.staff}:
            raise ValueError(f"unknown staff member {staff_id}")
        self._expect_step(Step.STAFF)
        self.steps.pop(0)
        return self._save(staff_id=staff_id)

    def _expect_step(self, step: Step) -> None:
        if self.step != step or self.submission is None:
            raise RuntimeError(f"{step} is not the current step ({self.step})")

    def _finish_step(self, step: Step, **answer_fields: object) -> Submission:
        self._expect_step(step)
        assert self.submission is not None
        self.steps.pop(0)
        answers = list(self.submission.answers)
        answers[-1] = answers[-1].model_copy(update=answer_fields)
        return self._save(answers=answers)

    def _save(self, **fields: object) -> Submission:
        """Update the stored submission; it stays open while anything is left to ask."""
        assert self.submission is not None
        self.submission = self.submission.model_copy(update=fields)
        self.store.update_submission(self.submission, in_progress=not self.done)
        return self.submission

    def finish(self) -> None:
        """Close the submission (the customer left or answered everything) for upload."""
        if self.submission is not None:
            self.store.finish_submission(self.submission.id)
