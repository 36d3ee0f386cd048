"""Staff members of a location."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from server.store import locations
from server.store.schema import staff
from shared.clock import utcnow
from shared.ids import new_entity_id


def create(conn: Connection, location_id: str, display_name: str) -> str:
    """Insert an active staff member and return the id."""
    staff_id = new_entity_id("stf")
    conn.execute(
        staff.insert().values(
            id=staff_id,
            location_id=location_id,
            display_name=display_name,
            active=True,
            created_at=utcnow(),
        )
    )
    locations.touch_config(conn, location_id)
    return staff_id


def active_at(conn: Connection, location_id: str) -> list[dict[str, str]]:
    """The active staff of a location, by name, as /config lists them."""
    rows = conn.execute(
        select(staff.c.id, staff.c.display_name)
        .where(staff.c.location_id == location_id, staff.c.active.is_(True))
        .order_by(staff.c.display_name, staff.c.id)
    )
    return [{"id": r.id, "display_name": r.display_name} for r in rows]


def exists_at(conn: Connection, location_id: str, staff_id: str) -> bool:
    """Whether this staff member belongs to the location (active or not: taps may be late)."""
    row = conn.execute(
        select(staff.c.id).where(staff.c.id == staff_id, staff.c.location_id == location_id)
    ).first()
    return row is not None


def roster(conn: Connection, location_id: str) -> list[dict[str, Any]]:
    """Every staff member of a location, active first, then by name."""
    rows = conn.execute(
        select(staff)
        .where(staff.c.location_id == location_id)
        .order_by(staff.c.active.desc(), staff.c.display_name, staff.c.id)
    ).mappings()
    return [dict(row) for row in rows]


def get(conn: Connection, staff_id: str) -> dict[str, Any] | None:
    """One staff member, or None."""
    row = conn.execute(select(staff).where(staff.c.id == staff_id)).mappings().first()
    return dict(row) if row else None


def rename(conn: Connection, staff_id: str, display_name: str) -> bool:
    """Change the name a staff member shows under; False when unknown."""
    result = conn.execute(
        update(staff).where(staff.c.id == staff_id).values(display_name=display_name)
    )
    _touch_config_of(conn, staff_id)
    return result.rowcount == 1


def set_active(conn: Connection, staff_id: str, active: bool) -> bool:
    """(De)activate a staff member: inactive ones leave /config, their answers stay."""
    result = conn.execute(update(staff).where(staff.c.id == staff_id).values(active=active))
    _touch_config_of(conn, staff_id)
    return result.rowcount == 1


def names(conn: Connection, location_id: str) -> dict[str, dict[str, Any]]:
    """Every staff member of a location (active or not), by id: name and whether active."""
    rows = conn.execute(
        select(staff.c.id, staff.c.display_name, staff.c.active).where(
            staff.c.location_id == location_id
        )
    )
    return {r.id: {"name": r.display_name, "active": r.active} for r in rows}


def _touch_config_of(conn: Connection, staff_id: str) -> None:
    # The staff list is part of /config at the member's location.
    location_id = conn.execute(
        select(staff.c.location_id).where(staff.c.id == staff_id)
    ).scalar_one_or_none()
    if location_id is not None:
        locations.touch_config(conn, location_id)
