"""Touchpoints: named places in a location (entrance, checkout …) where its kiosks stand.

Every write here changes what /config sends to the location's kiosks (the touchpoint's name
and kind, and the survey shown there), so each one gives the location a new config stamp.
"""

from __future__ import annotations

from typing import Any, get_args

from sqlalchemy import Connection, select, update

from server.store import locations
from server.store.schema import devices, touchpoints
from shared.clock import utcnow
from shared.ids import new_entity_id
from shared.protocol import TouchpointKind

#: The kinds a touchpoint may have, in the order forms offer them.
KINDS: tuple[str, ...] = get_args(TouchpointKind)
#: How the dashboard names each kind.
KIND_LABELS = {
    "entrance": "Entrance",
    "checkout": "Checkout",
    "service_desk": "Service desk",
    "fitting_room": "Fitting room",
    "other": "Other",
}
#: How the chain overview names all touchpoints of a kind ("checkouts, chain-wide").
PLURAL_LABELS = {
    "entrance": "Entrances",
    "checkout": "Checkouts",
    "service_desk": "Service desks",
    "fitting_room": "Fitting rooms",
    "other": "Other touchpoints",
}


class WrongLocationError(ValueError):
    """The touchpoint is not at the device's location."""


def create(
    conn: Connection,
    location_id: str,
    name: str,
    kind: str | None = None,
    survey_id: str | None = None,
) -> str:
    """Insert a touchpoint of the location and return its id."""
    touchpoint_id = new_entity_id("tp")
    conn.execute(
        touchpoints.insert().values(
            id=touchpoint_id,
            location_id=location_id,
            name=name,
            kind=kind,
            survey_id=survey_id,
            archived=False,
            created_at=utcnow(),
        )
    )
    if survey_id is not None:
        locations.note_assignment(conn, location_id, survey_id)
    locations.touch_config(conn, location_id)
    return touchpoint_id


def get(conn: Connection, touchpoint_id: str) -> dict[str, Any] | None:
    """One touchpoint as a dict, or None."""
    row = (
        conn.execute(select(touchpoints).where(touchpoints.c.id == touchpoint_id))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def of_location(
    conn: Connection, location_id: str, include_archived: bool = True
) -> list[dict[str, Any]]:
    """The location's touchpoints by name."""
    query = (
        select(touchpoints)
        .where(touchpoints.c.location_id == location_id)
        .order_by(touchpoints.c.name, touchpoints.c.id)
    )
    if not include_archived:
        query = query.where(touchpoints.c.archived.is_(False))
    return [dict(row) for row in conn.execute(query).mappings()]


def of_locations(conn: Connection, location_ids: list[str] | None) -> list[dict[str, Any]]:
    """Touchpoints of these locations (None: all), by location and name."""
    query = select(touchpoints).order_by(
        touchpoints.c.location_id, touchpoints.c.name, touchpoints.c.id
    )
    if location_ids is not None:
        query = query.where(touchpoints.c.location_id.in_(location_ids))
    return [dict(row) for row in conn.execute(query).mappings()]


def locations_of(conn: Connection, touchpoint_ids: list[str]) -> dict[str, str]:
    """The location of each of these touchpoints that exists, by touchpoint id."""
    rows = conn.execute(
        select(touchpoints.c.id, touchpoints.c.location_id).where(
            touchpoints.c.id.in_(touchpoint_ids)
        )
    )
    return {row.id: row.location_id for row in rows}


def _update(conn: Connection, touchpoint_id: str, **values: Any) -> bool:
    location_id = conn.execute(
        update(touchpoints)
        .where(touchpoints.c.id == touchpoint_id)
        .values(**values)
        .returning(touchpoints.c.location_id)
    ).scalar_one_or_none()
    if location_id is None:
        return False
    locations.touch_config(conn, location_id)
    return True


def rename(conn: Connection, touchpoint_id: str, name: str) -> bool:
    """Give the touchpoint a new name; False when it does not exist."""
    return _update(conn, touchpoint_id, name=name)


def set_kind(conn: Connection, touchpoint_id: str, kind: str | None) -> bool:
    """Set or clear the touchpoint's kind; False when it does not exist."""
    return _update(conn, touchpoint_id, kind=kind)


def set_archived(conn: Connection, touchpoint_id: str, archived: bool) -> bool:
    """Archive (or restore) a touchpoint; False when it does not exist.

    Archiving keeps its answers and the devices placed there: they keep reporting under it
    until moved. It only leaves the admin's choice of places for new placements.
    """
    return _update(conn, touchpoint_id, archived=archived)


def assign_survey(conn: Connection, touchpoint_id: str, survey_id: str | None) -> bool:
    """Show this survey (None: the location's) at the touchpoint; False when it does not exist."""
    touchpoint = get(conn, touchpoint_id)
    if touchpoint is None:
        return False
    if survey_id is not None:
        locations.note_assignment(conn, touchpoint["location_id"], survey_id)
    return _update(conn, touchpoint_id, survey_id=survey_id)


def place_device(conn: Connection, device_id: str, touchpoint_id: str | None) -> bool:
    """Place the device at a touchpoint of its location (None: at none).

    False when no such device; `WrongLocationError` when the touchpoint is elsewhere or unknown.
    """
    device = conn.execute(
        select(devices.c.location_id).where(devices.c.id == device_id)
    ).scalar_one_or_none()
    if device is None:
        return False
    if touchpoint_id is not None:
        touchpoint = get(conn, touchpoint_id)
        if touchpoint is None or touchpoint["location_id"] != device:
            raise WrongLocationError(touchpoint_id)
    conn.execute(
        update(devices).where(devices.c.id == device_id).values(touchpoint_id=touchpoint_id)
    )
    locations.touch_config(conn, device)
    return True
