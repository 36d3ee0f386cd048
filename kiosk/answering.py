"""One customer's pass through the survey: builds the Submission and stores every answer.

Plain Python (no Kivy), so the tap → store → thank-you order is testable without a window.
The submission id and `tapped_at` are made at the first tap and the row is committed then;
later answers update the same row, which stays `in_progress` (not uploaded) until the last
question is answered or the kiosk resets after `idle_reset_s`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kiosk.store import LocalStore
from shared.ids import new_submission_id
from shared.protocol import Answer, ConfigResponse, Submission
from shared.survey import Question, Survey


def local_now() -> datetime:
    """The device clock, aware, with the machine's UTC offset."""
    return datetime.now().astimezone()


class NoSurvey(Exception):
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
            raise NoSurvey("no survey is assigned to this location")
        self.config = config
        self.survey: Survey = config.survey
        self.store = store
        self.clock = clock
        self.language = self.survey.default_language
        self.submission: Submission | None = None
        self.index = 0

    @property
    def question(self) -> Question:
        """The question to show now."""
        return self.survey.questions[self.index]

    @property
    def started(self) -> bool:
        return self.submission is not None

    @property
    def done(self) -> bool:
        return self.index >= len(self.survey.questions)

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
        more = self.index + 1 < len(self.survey.questions)
        if self.submission is None:
            submission = Submission(
                id=new_submission_id(),
                survey_id=self.survey.id,
                survey_version=self.survey.version,
                location_id=self.config.location.id,
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
        self.index += 1
        return self.submission

    def finish(self) -> None:
        """Close the submission (the customer left or answered everything) for upload."""
        if self.submission is not None:
            self.store.finish_submission(self.submission.id)
