"""Reads the admin pages need across entities: surveys with their assignments."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, select

from server.store.schema import locations, survey_versions, surveys


def survey_list(conn: Connection) -> list[dict[str, Any]]:
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


def survey_versions_of(conn: Connection, survey_id: str) -> list[dict[str, Any]]:
    """The versions of a survey, newest first: version and when it was made."""
    v = survey_versions.c
    rows = conn.execute(
        select(v.version, v.created_at).where(v.survey_id == survey_id).order_by(v.version.desc())
    ).mappings()
    return [dict(row) for row in rows]
