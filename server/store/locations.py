"""Locations: name, IANA time zone and the assigned survey."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from server.store.schema import locations
from shared.clock import utcnow
from shared.ids import new_entity_id


def create(conn: Connection, name: str, timezone: str) -> str:
    """Insert a location and return its id."""
    location_id = new_entity_id("loc")
    conn.execute(
        locations.insert().values(id=location_id, name=name, timezone=timezone, created_at=utcnow())
    )
    return location_id


def get(conn: Connection, location_id: str) -> dict[str, Any] | None:
    """One location as a dict, or None."""
    row = conn.execute(select(locations).where(locations.c.id == location_id)).mappings().first()
    return dict(row) if row else None


def timezones(conn: Connection, location_ids: set[str]) -> dict[str, str]:
    """The time zone of each of these locations."""
    rows = conn.execute(
        select(locations.c.id, locations.c.timezone).where(locations.c.id.in_(location_ids))
    )
    return {r.id: r.timezone for r in rows}


def assign_survey(conn: Connection, location_id: str, survey_id: str) -> bool:
    """Point the location at a survey; False when the location does not exist."""
    result = conn.execute(
        update(locations).where(locations.c.id == location_id).values(survey_id=survey_id)
    )
    return result.rowcount == 1
