"""Dashboard users and the locations a manager may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, select, update

from server.store.schema import user_locations, users
from shared.clock import utcnow
from shared.ids import new_entity_id

ROLES = ("admin", "manager")


class DuplicateEmailError(ValueError):
    """A user with this e-mail exists already."""


@dataclass(frozen=True)
class User:
    """A signed-in user: role, scope and the session version their cookie must carry."""

    id: str
    email: str
    role: str
    session_version: int
    active: bool
    location_ids: frozenset[str]
    two_step: bool = False  # a TOTP code is asked for after the password

    @property
    def is_admin(self) -> bool:
        """Whether the user sees and changes everything."""
        return self.role == "admin"

    def may_see(self, location_id: str) -> bool:
        """Whether the user may read this location's pages, charts and export."""
        return self.is_admin or location_id in self.location_ids


def normalize_email(email: str) -> str:
    """E-mail as stored and compared: trimmed and lower-case."""
    return email.strip().lower()


def create(
    conn: Connection, email: str, password_hash: str, role: str, location_ids: list[str]
) -> str:
    """Insert an active user and return the id."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    email = normalize_email(email)
    if conn.execute(select(users.c.id).where(users.c.email == email)).first():
        raise DuplicateEmailError(email)
    user_id = new_entity_id("usr")
    now = utcnow()
    conn.execute(
        users.insert().values(
            id=user_id,
            email=email,
            password_hash=password_hash,
            role=role,
            session_version=1,
            active=True,
            created_at=now,
            password_changed_at=now,
        )
    )
    for location_id in sorted(set(location_ids)):
        conn.execute(user_locations.insert().values(user_id=user_id, location_id=location_id))
    return user_id


def _scope(conn: Connection, user_id: str) -> frozenset[str]:
    rows = conn.execute(
        select(user_locations.c.location_id).where(user_locations.c.user_id == user_id)
    ).scalars()
    return frozenset(rows)


def _user(conn: Connection, row: Any) -> User:
    return User(
        id=row.id,
        email=row.email,
        role=row.role,
        session_version=row.session_version,
        active=row.active,
        location_ids=_scope(conn, row.id),
        two_step=row.totp_secret is not None,
    )


def get(conn: Connection, user_id: str) -> User | None:
    """One user, or None."""
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _user(conn, row) if row else None


def credentials(conn: Connection, email: str) -> tuple[User, str] | None:
    """The user with this e-mail and their password hash, or None."""
    row = conn.execute(select(users).where(users.c.email == normalize_email(email))).first()
    return (_user(conn, row), row.password_hash) if row else None


def set_password(conn: Connection, user_id: str, password_hash: str) -> int:
    """Store a new hash and bump the session version; return the new version."""
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            password_hash=password_hash,
            password_changed_at=utcnow(),
            session_version=users.c.session_version + 1,
        )
    )
    return int(
        conn.execute(select(users.c.session_version).where(users.c.id == user_id)).scalar_one()
    )


def end_sessions(conn: Connection, user_id: str) -> None:
    """Make every cookie issued to this user so far invalid."""
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(session_version=users.c.session_version + 1)
    )


def set_active(conn: Connection, user_id: str, active: bool) -> bool:
    """Activate or deactivate a user (deactivating ends their sessions)."""
    result = conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(active=active, session_version=users.c.session_version + 1)
    )
    return result.rowcount == 1


def all_users(conn: Connection) -> list[User]:
    """Every user, by e-mail."""
    rows = conn.execute(select(users).order_by(users.c.email)).all()
    return [_user(conn, row) for row in rows]


def _sees(location_id: str) -> ColumnElement[bool]:
    """Active users who may see this location: admins and the location's managers."""
    managers = select(user_locations.c.user_id).where(user_locations.c.location_id == location_id)
    return users.c.active.is_(True) & ((users.c.role == "admin") | users.c.id.in_(managers))


def alert_recipients(conn: Connection, location_id: str) -> list[str]:
    """E-mail addresses of active admins and of the active managers of this location."""
    rows = conn.execute(
        select(users.c.email).where(_sees(location_id)).order_by(users.c.email)
    ).scalars()
    return list(rows)


def who_may_see(conn: Connection, location_id: str) -> dict[str, str]:
    """Id → e-mail of each active user who may see this location (by e-mail): the people a
    follow-up can be assigned to there."""
    rows = conn.execute(
        select(users.c.id, users.c.email).where(_sees(location_id)).order_by(users.c.email)
    )
    return {row.id: row.email for row in rows}
