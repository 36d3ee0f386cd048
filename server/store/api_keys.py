"""API keys for the reports API: a hash, a role and, for managers, a location scope."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from server.store.devices import sha256_hex
from server.store.schema import api_key_locations, api_keys
from shared.clock import utcnow
from shared.ids import new_entity_id

ROLES = ("admin", "manager")
KEY_PREFIX = "stk_"


@dataclass(frozen=True)
class ApiKey:
    """A valid key: its role and, for a manager, the locations it may see."""

    id: str
    role: str
    location_ids: frozenset[str]

    def may_see(self, location_id: str) -> bool:
        """Whether this key may read the location's data."""
        return self.role == "admin" or location_id in self.location_ids


def create(
    conn: Connection, role: str, location_ids: list[str], label: str | None = None
) -> tuple[str, str]:
    """Make a key; return (id, key). The key itself is shown once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = new_entity_id("key")
    conn.execute(
        api_keys.insert().values(
            id=key_id,
            key_hash=sha256_hex(key),
            role=role,
            created_at=utcnow(),
            label=label or None,
        )
    )
    for location_id in sorted(set(location_ids)):
        conn.execute(api_key_locations.insert().values(api_key_id=key_id, location_id=location_id))
    return key_id, key


def lookup(conn: Connection, key: str) -> ApiKey | None:
    """The unrevoked key matching this secret, or None."""
    row = conn.execute(
        select(api_keys.c.id, api_keys.c.role).where(
            api_keys.c.key_hash == sha256_hex(key), api_keys.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    scope = conn.execute(
        select(api_key_locations.c.location_id).where(api_key_locations.c.api_key_id == row.id)
    ).scalars()
    return ApiKey(id=row.id, role=row.role, location_ids=frozenset(scope))


def all_keys(conn: Connection) -> list[dict[str, Any]]:
    """Every key (never the secret): id, label, role, scope, created and revoked times."""
    rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at.desc())).mappings()
    scopes: dict[str, list[str]] = {}
    for link in conn.execute(select(api_key_locations)):
        scopes.setdefault(link.api_key_id, []).append(link.location_id)
    return [
        {
            **{k: v for k, v in row.items() if k != "key_hash"},
            "locations": scopes.get(row["id"], []),
        }
        for row in rows
    ]


def revoke(conn: Connection, key_id: str) -> bool:
    """Revoke a key; its next request is 401. False when unknown or revoked already."""
    result = conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount == 1
