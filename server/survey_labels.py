"""The words a report shows for a survey's questions and follow-up reasons."""

from __future__ import annotations

from sqlalchemy import Connection

from server.store import surveys


def labels(conn: Connection, survey_id: str | None) -> dict[tuple[str, str], str]:
    """(question id, reason id) → reason text, and (question id, '') → question text, in the
    survey's default language; empty without a survey."""
    if not survey_id:
        return {}
    survey = surveys.latest(conn, survey_id)
    if survey is None:
        return {}
    lang = survey.default_language
    found: dict[tuple[str, str], str] = {}
    for question in survey.questions:
        found[(question.id, "")] = question.text.get(lang, question.id)
        for reason in question.follow_up.reasons if question.follow_up else []:
            found[(question.id, reason.id)] = reason.text.get(lang, reason.id)
    return found
