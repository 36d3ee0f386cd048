"""Leases and locks that let one process of many run a scheduled job."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import Connection, delete, text
from sqlalchemy.dialects import postgresql, sqlite

from server.store.schema import job_leases
from shared.clock import utcnow


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for a job name (PostgreSQL advisory locks)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def try_advisory_lock(conn: Connection, name: str) -> bool:
    """Take PostgreSQL's transaction-scoped advisory lock for this name, without waiting."""
    query = text("SELECT pg_try_advisory_xact_lock(:key)")
    return bool(conn.execute(query, {"key": advisory_key(name)}).scalar_one())


def try_take(conn: Connection, name: str, holder: str, ttl_s: float) -> bool:
    """Take the lease when nobody holds it or it has expired; True when this call got it.

    One statement (INSERT … ON CONFLICT DO UPDATE … WHERE expired), so two processes that try
    at the same moment cannot both win.
    """
    now = utcnow()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(job_leases).values(
        name=name, holder=holder, expires_at=now + timedelta(seconds=ttl_s)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
        where=job_leases.c.expires_at < now,
    ).returning(job_leases.c.name)
    return conn.execute(stmt).first() is not None


def release(conn: Connection, name: str, holder: str) -> None:
    """Give the lease back early (the job failed, so the next process may retry)."""
    conn.execute(delete(job_leases).where(job_leases.c.name == name, job_leases.c.holder == holder))
