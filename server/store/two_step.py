"""A user's second sign-in step: the TOTP secret, the last time step used, recovery codes."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from server.store.schema import recovery_codes, users
from shared.clock import utcnow


def secret(conn: Connection, user_id: str) -> tuple[str, int | None] | None:
    """The user's TOTP secret and the last time step accepted, or None when two-step is off."""
    row = conn.execute(
        select(users.c.totp_secret, users.c.totp_last_step).where(users.c.id == user_id)
    ).first()
    if row is None or row.totp_secret is None:
        return None
    return row.totp_secret, row.totp_last_step


def turn_on(conn: Connection, user_id: str, totp_secret: str, step: int, hashes: list[str]) -> None:
    """Store a confirmed secret (its confirming code's step used) and fresh recovery codes."""
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(totp_secret=totp_secret, totp_last_step=step)
    )
    replace_recovery_codes(conn, user_id, hashes)


def replace_recovery_codes(conn: Connection, user_id: str, hashes: list[str]) -> None:
    """Drop the user's recovery codes and keep these (argon2 hashes) instead."""
    conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
    if hashes:
        conn.execute(
            recovery_codes.insert(), [{"user_id": user_id, "code_hash": h} for h in hashes]
        )


def turn_off(conn: Connection, user_id: str) -> None:
    """Forget the secret and the recovery codes."""
    conn.execute(
        update(users).where(users.c.id == user_id).values(totp_secret=None, totp_last_step=None)
    )
    replace_recovery_codes(conn, user_id, [])


def use_step(conn: Connection, user_id: str, step: int) -> bool:
    """Mark this time step used; False when it (or a later one) was used already.

    One conditional UPDATE, so two requests racing with the same code cannot both pass.
    """
    result = conn.execute(
        update(users)
        .where(
            users.c.id == user_id,
            users.c.totp_secret.is_not(None),
            (users.c.totp_last_step.is_(None)) | (users.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return result.rowcount == 1


def unused_recovery_codes(conn: Connection, user_id: str) -> list[tuple[int, str]]:
    """(id, hash) of the user's recovery codes not used yet."""
    rows = conn.execute(
        select(recovery_codes.c.id, recovery_codes.c.code_hash).where(
            recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
        )
    ).all()
    return [(row.id, row.code_hash) for row in rows]


def use_recovery_code(conn: Connection, code_id: int) -> bool:
    """Mark one recovery code used; False when it was used already (a racing request)."""
    result = conn.execute(
        update(recovery_codes)
        .where(recovery_codes.c.id == code_id, recovery_codes.c.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return result.rowcount == 1
