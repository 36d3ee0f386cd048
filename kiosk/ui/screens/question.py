"""The question screen: the question text above one big target per answer value."""

from __future__ import annotations

from pathlib import Path

from kivy.properties import ListProperty, ObjectProperty, OptionProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.answering import SurveySession
from kiosk.i18n import language_name
from kiosk.ui import words
from kiosk.ui.language import chip_font_name_for, font_name_for
from kiosk.ui.screens import KioskScreen
from kiosk.ui.widgets.face import KINDS
from shared.answer_scale import mood
from shared.survey import Question


def answer_options(question: Question, language: str) -> list[dict[str, object]]:
    """What the answer row shows per value: its mood (0 unhappiest … 1 happiest) and the word
    under it — a caption under every face, the scale's end words under its lowest and highest
    key."""
    kind = question.kind if question.kind in KINDS else "smiley"
    values = list(question.values)
    low, high = values[0], values[-1]
    options: list[dict[str, object]] = [
        {"value": value, "mood": mood(value, low, high), "word": "", "align": "center"}
        for value in values
    ]
    if kind == "smiley":
        for option, word in zip(options, words.face_words(language, question.scale), strict=True):
            option["word"] = word
    else:
        options[0]["word"], options[-1]["word"] = words.scale_ends(language, kind)
        options[0]["align"], options[-1]["align"] = "left", "right"
    return options


class QuestionScreen(KioskScreen):
    """Shows one question; fires `on_answer(value)` when a target is pressed and
    `on_pick_language(code)` when the customer picks a language chip."""

    question_id = StringProperty("")
    question_text = StringProperty("")
    kind = OptionProperty("smiley", options=("smiley", "nps", "ces", "csat"))
    options = ListProperty([])
    targets = ListProperty([])
    languages = ListProperty([])  # (code, own name, font) triples; chips when > 1
    language = StringProperty("")
    language_grid = ObjectProperty(None, allownone=True)

    __events__ = ("on_answer", "on_pick_language")

    def show(self, session: SurveySession, data_dir: Path) -> None:
        """The session's current question, in its language, with the survey's language chips."""
        question = session.question
        # A chip in the current language uses its whole face (the screen opens it anyway);
        # another language's chip, a face cut to its own name (the CJK face stays closed).
        self.languages = [
            (
                code,
                language_name(code),
                font_name_for(code, data_dir)
                if code == session.language
                else chip_font_name_for(code, language_name(code), data_dir),
            )
            for code in session.survey.languages
        ]
        self.language = session.language
        self.question_id = question.id
        self.question_text = session.text(question.text)
        self.kind = question.kind if question.kind in KINDS else "smiley"
        self.options = answer_options(question, session.language)

    def on_answer(self, value: int) -> None:
        """Fired with the value the customer pressed."""

    def on_pick_language(self, code: str) -> None:
        """Fired with the language the customer picked."""

    def target_groups(self) -> dict[str, list[tuple[str, Widget]]]:
        """The answer targets (by value, at the face's centre), then the language chips."""
        groups = {self.question_id: [(str(int(t.value)), t.drawing) for t in self.targets]}
        if len(self.languages) > 1:
            groups["languages"] = [(chip.key, chip) for chip in self.language_grid.chips]
        return groups
