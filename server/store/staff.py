"""Staff members of a location."""

from __future__ import annotations

from sqlalchemy import Connection, select

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
