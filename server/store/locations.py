"""Locations: name, IANA time zone, opening hours, alert webhook and the assigned survey."""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, update

from server.db import Prepared
from server.store.schema import locations, survey_assignments, touchpoints
from shared.clock import utcnow
from shared.ids import new_entity_id


def new_config_stamp() -> str:
    """A fresh stamp: random, so a database restored from a backup never reuses one."""
    return secrets.token_hex(8)


def touch_config(conn: Connection, location_id: str) -> None:
    """Note that what /config sends to this location's kiosks changed."""
    conn.execute(
        update(locations)
        .where(locations.c.id == location_id)
        .values(config_stamp=new_config_stamp())
    )


def touch_config_of_survey(conn: Connection, survey_id: str) -> None:
    """Note a change to /config at every location showing this survey (itself or at one of
    its touchpoints)."""
    at_touchpoints = select(touchpoints.c.location_id).where(touchpoints.c.survey_id == survey_id)
    conn.execute(
        update(locations)
        .where(or_(locations.c.survey_id == survey_id, locations.c.id.in_(at_touchpoints)))
        .values(config_stamp=new_config_stamp())
    )


def config_stamp(conn: Connection, location_id: str) -> str | None:
    """The location's config stamp (a primary-key read), or None when it does not exist."""
    stamp: str | None = conn.execute(
        select(locations.c.config_stamp).where(locations.c.id == location_id)
    ).scalar_one_or_none()
    return stamp


def create(conn: Connection, name: str, timezone: str) -> str:
    """Insert a location and return its id."""
    location_id = new_entity_id("loc")
    conn.execute(
        locations.insert().values(
            id=location_id,
            name=name,
            timezone=timezone,
            created_at=utcnow(),
            config_stamp=new_config_stamp(),
        )
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
        update(locations)
        .where(locations.c.id == location_id)
        .values(survey_id=survey_id, config_stamp=new_config_stamp())
    )
    if result.rowcount != 1:
        return False
    note_assignment(conn, location_id, survey_id)
    return True


def note_assignment(conn: Connection, location_id: str, survey_id: str) -> None:
    """Remember that the location shows this survey (itself or at one of its touchpoints), so
    ingest accepts its answers from then on."""
    ever = select(survey_assignments.c.survey_id).where(
        survey_assignments.c.location_id == location_id,
        survey_assignments.c.survey_id == survey_id,
    )
    if conn.execute(ever).first() is None:
        conn.execute(
            survey_assignments.insert().values(
                location_id=location_id, survey_id=survey_id, first_assigned_at=utcnow()
            )
        )


def surveys_ever_assigned(conn: Connection, location_id: str) -> set[str]:
    """Every survey this location was ever assigned (its current one included)."""
    return {row["survey_id"] for row in _EVER_ASSIGNED.all(conn, {"location_id": location_id})}


#: Run on the driver's cursor (`db.Prepared`): ingest reads it on every upload.
_EVER_ASSIGNED = Prepared(
    select(survey_assignments.c.survey_id).where(
        survey_assignments.c.location_id == bindparam("location_id")
    )
)


def all_locations(conn: Connection) -> list[dict[str, Any]]:
    """Every location, by name."""
    rows = conn.execute(select(locations).order_by(locations.c.name, locations.c.id)).mappings()
    return [dict(row) for row in rows]


def update_settings(
    conn: Connection,
    location_id: str,
    *,
    name: str,
    timezone: str,
    opening_hours: dict[str, list[str]] | None,
    webhook_url: str | None,
    alert_rules: dict[str, Any] | None = None,
) -> bool:
    """Save a location's name, time zone, opening hours, webhook and (when given) alert rules."""
    rules = {} if alert_rules is None else {"alert_rules": json.dumps(alert_rules)}
    result = conn.execute(
        update(locations)
        .where(locations.c.id == location_id)
        .values(
            name=name,
            timezone=timezone,
            opening_hours=None if opening_hours is None else json.dumps(opening_hours),
            webhook_url=webhook_url or None,
            # Name, time zone and hours are in /config; a webhook-only save costs one full pull.
            config_stamp=new_config_stamp(),
            **rules,
        )
    )
    return result.rowcount == 1


def opening_hours(location: dict[str, Any]) -> dict[str, list[str]] | None:
    """The stored opening hours by ISO weekday ("1".."7"), or None (always open)."""
    raw = location.get("opening_hours")
    return None if not raw else dict(json.loads(raw))


def visible(conn: Connection, location_ids: frozenset[str] | None) -> list[dict[str, Any]]:
    """Locations by name: all of them (None) or only these ids."""
    query = select(locations).order_by(locations.c.name, locations.c.id)
    if location_ids is not None:
        query = query.where(locations.c.id.in_(sorted(location_ids)))
    return [dict(row) for row in conn.execute(query).mappings()]
