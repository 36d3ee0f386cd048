"""Failed enrollment attempts, kept in the database so the limit holds across processes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, delete, func, select

from server.store.schema import enroll_failures
from shared.clock import utcnow


def record_failure(conn: Connection, address: str) -> None:
    """Count one failed attempt from this address."""
    conn.execute(enroll_failures.insert().values(address=address[:64], at=utcnow()))


def is_limited(
    conn: Connection, address: str, per_address: int, overall: int, window_s: float
) -> bool:
    """Whether this address, or everyone together, failed too often within the window."""
    since = utcnow() - timedelta(seconds=window_s)
    # Old rows only ever matter for one window; dropping them keeps the table small.
    conn.execute(delete(enroll_failures).where(enroll_failures.c.at < since))
    recent = select(func.count()).select_from(enroll_failures).where(enroll_failures.c.at >= since)
    total = conn.execute(recent).scalar_one()
    mine = conn.execute(recent.where(enroll_failures.c.address == address[:64])).scalar_one()
    return mine >= per_address or total >= overall
