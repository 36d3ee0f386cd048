"""Surveys, versioned: a survey row plus one body per version."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from server.store.schema import survey_versions, surveys
from shared.clock import utcnow
from shared.ids import new_entity_id
from shared.survey import Survey, SurveyDefinition


def _body(definition: SurveyDefinition) -> str:
    return definition.model_dump_json()


def create(conn: Connection, definition: SurveyDefinition) -> tuple[str, int]:
    """Store a new survey at version 1; return (id, version)."""
    survey_id = new_entity_id("srv")
    now = utcnow()
    conn.execute(surveys.insert().values(id=survey_id, latest_version=1, created_at=now))
    conn.execute(
        survey_versions.insert().values(
            survey_id=survey_id, version=1, body=_body(definition), created_at=now
        )
    )
    return survey_id, 1


def add_version(conn: Connection, survey_id: str, definition: SurveyDefinition) -> int | None:
    """Store the next version of a survey; None when the survey does not exist."""
    latest = conn.execute(
        select(surveys.c.latest_version).where(surveys.c.id == survey_id)
    ).scalar_one_or_none()
    if latest is None:
        return None
    version = latest + 1
    conn.execute(update(surveys).where(surveys.c.id == survey_id).values(latest_version=version))
    conn.execute(
        survey_versions.insert().values(
            survey_id=survey_id, version=version, body=_body(definition), created_at=utcnow()
        )
    )
    return version


def exists(conn: Connection, survey_id: str) -> bool:
    """Whether a survey with this id exists."""
    found = conn.execute(select(surveys.c.id).where(surveys.c.id == survey_id)).first()
    return found is not None


def get_version(conn: Connection, survey_id: str, version: int) -> Survey | None:
    """One stored version as a Survey, or None."""
    body = conn.execute(
        select(survey_versions.c.body).where(
            survey_versions.c.survey_id == survey_id, survey_versions.c.version == version
        )
    ).scalar_one_or_none()
    if body is None:
        return None
    return _with_id(body, survey_id, version)


def latest(conn: Connection, survey_id: str) -> Survey | None:
    """The newest version of a survey, or None."""
    version = conn.execute(
        select(surveys.c.latest_version).where(surveys.c.id == survey_id)
    ).scalar_one_or_none()
    return None if version is None else get_version(conn, survey_id, version)


def _with_id(body: str, survey_id: str, version: int) -> Survey:
    definition = SurveyDefinition.model_validate_json(body)
    return Survey(id=survey_id, version=version, **dict(definition))
