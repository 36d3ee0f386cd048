"""Surveys, versioned: a survey row plus one body per version; the admin list of them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from server.db import Prepared
from server.store import locations as location_store
from server.store.schema import locations, survey_versions, surveys
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
    version = int(latest) + 1
    conn.execute(update(surveys).where(surveys.c.id == survey_id).values(latest_version=version))
    conn.execute(
        survey_versions.insert().values(
            survey_id=survey_id, version=version, body=_body(definition), created_at=utcnow()
        )
    )
    location_store.touch_config_of_survey(conn, survey_id)
    return version


def exists(conn: Connection, survey_id: str) -> bool:
    """Whether a survey with this id exists."""
    found = conn.execute(select(surveys.c.id).where(surveys.c.id == survey_id)).first()
    return found is not None


#: Run on the driver's cursor (`db.Prepared`): ingest reads it on every upload.
_VERSION_BODY = Prepared(
    select(survey_versions.c.body).where(
        survey_versions.c.survey_id == bindparam("survey_id"),
        survey_versions.c.version == bindparam("version"),
    )
)


def get_version(conn: Connection, survey_id: str, version: int) -> Survey | None:
    """One stored version as a Survey, or None."""
    body = version_body(conn, survey_id, version)
    if body is None:
        return None
    return parsed_version(body, survey_id, version)


def version_body(conn: Connection, survey_id: str, version: int) -> str | None:
    """One stored version's definition as stored (JSON), or None."""
    params = {"survey_id": survey_id, "version": version}
    row = _VERSION_BODY.first(conn, params)
    return None if row is None else str(row["body"])


def parsed_version(body: str, survey_id: str, version: int) -> Survey:
    """A stored version's definition (`version_body`) as a Survey."""
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


def summaries(conn: Connection) -> list[dict[str, Any]]:
    """Every survey: id, name, newest version, when that version was made, locations showing it."""
    shown = (
        select(locations.c.survey_id, func.count().label("locations"))
        .group_by(locations.c.survey_id)
        .subquery()
    )
    v = survey_versions.c
    rows = conn.execute(
        select(
            surveys.c.id,
            surveys.c.latest_version,
            v.created_at.label("updated_at"),
            v.body,
            func.coalesce(shown.c.locations, 0).label("locations"),
        )
        .select_from(
            surveys.join(
                survey_versions,
                (v.survey_id == surveys.c.id) & (v.version == surveys.c.latest_version),
            ).outerjoin(shown, shown.c.survey_id == surveys.c.id)
        )
        .order_by(surveys.c.created_at, surveys.c.id)
    ).mappings()
    found = []
    for row in rows:
        item = dict(row)
        item["name"] = json.loads(item.pop("body")).get("name")
        found.append(item)
    return found


def versions(conn: Connection, survey_id: str) -> list[dict[str, Any]]:
    """The versions of a survey, newest first: version and when it was made."""
    v = survey_versions.c
    rows = conn.execute(
        select(v.version, v.created_at).where(v.survey_id == survey_id).order_by(v.version.desc())
    ).mappings()
    return [dict(row) for row in rows]
