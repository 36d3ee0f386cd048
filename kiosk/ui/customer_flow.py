"""The customer's pass through the screens: question → follow-up → comment → staff → thanks.

`CustomerFlow` holds the `SurveySession` of the customer at the kiosk, fills the customer
screens from it and stores each choice before the next screen shows. The app decides whether
anyone can be asked at all (enrolled, open, the store takes writes), owns the timers and
switches screens; the flow decides what to ask next.

Logged at INFO for the end-to-end tests: `tap recorded <id> value=<v>`, `reasons recorded
<id> reasons=<a,b>`, `comment recorded <id>`, `staff recorded <id> staff=<staff id or ->`,
`language: <code>`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.answering import SurveySession
from kiosk.i18n import language_name
from kiosk.ui import words
from kiosk.ui.language import current as ui_language
from kiosk.ui.language import font_name_for
from kiosk.ui.widgets.face import KINDS
from shared.protocol import ConfigResponse, Submission

if TYPE_CHECKING:
    from kiosk.app import SmiletapKioskApp
    from kiosk.ui.screens.comment import CommentScreen
    from kiosk.ui.screens.followup import FollowUpScreen
    from kiosk.ui.screens.question import QuestionScreen
    from kiosk.ui.screens.staff import StaffScreen
    from shared.survey import Question

log = logging.getLogger("kiosk")


def answer_options(question: Question, language: str) -> list[dict[str, object]]:
    """What the answer row shows per value: its mood (0 unhappiest … 1 happiest) and the word
    under it — a caption under every face, the scale's end words under its lowest and highest
    key."""
    kind = question.kind if question.kind in KINDS else "smiley"
    values = list(question.values)
    low, high = values[0], values[-1]
    options: list[dict[str, object]] = [
        {"value": value, "mood": (value - low) / (high - low), "word": "", "align": "center"}
        for value in values
    ]
    if kind == "smiley":
        for option, word in zip(options, words.face_words(language, question.scale), strict=True):
            option["word"] = word
    else:
        options[0]["word"], options[-1]["word"] = words.scale_ends(language, kind)
        options[0]["align"], options[-1]["align"] = "left", "right"
    return options


class CustomerFlow:
    """Wires the customer screens of `app` to one `SurveySession` at a time."""

    def __init__(self, app: SmiletapKioskApp) -> None:
        self.app = app
        self.session: SurveySession | None = None
        app.question_screen.bind(on_answer=self._on_answer, on_pick_language=self._on_language)
        app.followup_screen.bind(on_done=self._on_reasons)
        app.comment_screen.bind(on_comment=self._on_comment)
        app.staff_screen.bind(on_pick_staff=self._on_staff)

    def start(self, config: ConfigResponse) -> None:
        """A new customer: the previous one's answers go out, the first question shows."""
        self.end()
        self.session = SurveySession(config, self.app.store)
        self.app.use_language(self.session.language)  # each customer starts in the default
        self.show_question()

    def end(self) -> None:
        """Nobody is answering any more: what the customer gave can be uploaded."""
        if self.session is not None:
            self.session.finish()
        self.session = None

    def drop(self) -> None:
        """The store refused a step: forget the session (its stored part is still sent)."""
        self.session = None

    # --- what to show -------------------------------------------------------------------------

    def show_step(self) -> None:
        """Show what the session asks for next."""
        session = self.session
        assert session is not None
        step = session.step
        app = self.app
        if step == "question":
            self.show_question()
        elif step == "followup":
            follow_up = session.answered_question.follow_up
            assert follow_up is not None
            reasons = [(r.id, session.text(r.text)) for r in follow_up.reasons]
            app.followup_screen.show(session.text(follow_up.text), reasons)
            app.show("followup")
        elif step == "comment":
            app.comment_screen.text = ""
            app.show("comment")
        elif step == "staff":
            app.staff_screen.show([(s.id, s.display_name) for s in session.config.staff])
            app.show("staff")
        else:
            self._show_thanks()

    def show_question(self) -> None:
        session = self.session
        assert session is not None
        question = session.question
        screen = self.app.question_screen
        data_dir = self.app.settings.data_dir
        screen.languages = [
            (code, language_name(code), font_name_for(code, data_dir))
            for code in session.survey.languages
        ]
        screen.language = session.language
        screen.question_id = question.id
        screen.question_text = session.text(question.text)
        screen.kind = question.kind if question.kind in KINDS else "smiley"
        screen.options = answer_options(question, session.language)
        self.app.show("question")

    def _show_thanks(self) -> None:
        session = self.session
        assert session is not None
        session.finish()
        message = session.text(session.survey.thank_you) or ui_language.gettext(words.THANK_YOU)
        self.app.show_thanks(message, session.config.kiosk.thank_you_s)

    # --- the customer's choices ---------------------------------------------------------------

    def _on_answer(self, _screen: QuestionScreen, value: int) -> None:
        session = self.session
        if session is None or session.done or self.app.manager.current != "question":
            return
        try:
            submission = session.answer(value)  # committed to disk before anything else shows
        except (sqlite3.Error, OSError) as exc:
            self.app.store_refused(f"tap (value={value})", exc)
            return
        log.info("tap recorded %s value=%s", submission.id, value)
        self.show_step()

    def _on_language(self, _screen: QuestionScreen, code: str) -> None:
        session = self.session
        if session is None or code == session.language:
            return
        session.set_language(code)
        self.app.use_language(code)
        log.info("language: %s", code)
        self.show_question()

    def _on_reasons(self, _screen: FollowUpScreen, reasons: list[str]) -> None:
        self._after_step(lambda session: session.add_reasons(reasons), "reasons", reasons)

    def _on_comment(self, _screen: CommentScreen, comment: str | None) -> None:
        self._after_step(lambda session: session.add_comment(comment), "comment", None)

    def _on_staff(self, _screen: StaffScreen, staff_id: str | None) -> None:
        self._after_step(lambda session: session.choose_staff(staff_id), "staff", staff_id)

    def _after_step(
        self, record: Callable[[SurveySession], Submission], what: str, detail: object
    ) -> None:
        """Store one step's choice on the same submission, then show what comes next."""
        session = self.session
        if session is None or session.step != what.replace("reasons", "followup"):
            return  # a second press on a screen already left
        try:
            submission = record(session)
        except (sqlite3.Error, OSError) as exc:
            self.app.store_refused(what, exc)
            return
        if what == "reasons":
            log.info("reasons recorded %s reasons=%s", submission.id, ",".join(detail))
        elif what == "staff":
            log.info("staff recorded %s staff=%s", submission.id, detail or "-")
        else:
            log.info("comment recorded %s", submission.id)
        self.show_step()
