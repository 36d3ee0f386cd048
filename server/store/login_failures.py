"""Failed dashboard sign-ins, and how long the next try from the same place must wait.

Failures are counted per (account, address) and per address — never per account alone, so
a stranger failing on purpose cannot keep the owner out: from their own address the owner
still gets in. Past a few free failures each further try waits twice as long as the one
before (1 s, 2 s, 4 s, … up to a cap). Rows live in the database, so every process sees the
same counts. (Flask-Limiter and `limits` keep their counters in memory, Redis, Memcached or
MongoDB only, so they cannot share the database as this does.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, select

from server.store import as_utc
from server.store.schema import login_failures
from server.store.users import normalize_email
from shared.clock import utcnow

_EMAIL_CHARS = 254
_ADDRESS_CHARS = 64


@dataclass(frozen=True)
class Throttle:
    """Free failures per (account, address) and per address, the window, the longest wait."""

    per_account_address: int
    per_address: int
    window_s: float
    max_delay_s: float


def delay_s(failures: int, free: int, max_delay_s: float) -> float:
    """The wait after `failures` failures when `free` of them cost nothing: 0, then 1 s, 2 s…"""
    if failures < free:
        return 0.0
    return min(max_delay_s, 2.0 ** min(failures - free, 62))


def record(conn: Connection, email: str, address: str, now: datetime | None = None) -> None:
    """Count one failed sign-in to this account from this address."""
    conn.execute(
        login_failures.insert().values(
            email=normalize_email(email)[:_EMAIL_CHARS],
            address=address[:_ADDRESS_CHARS],
            at=now or utcnow(),
        )
    )


def wait_s(
    conn: Connection, email: str, address: str, throttle: Throttle, now: datetime | None = None
) -> int:
    """Whole seconds before this account may be tried from this address again; 0: now."""
    now = now or utcnow()
    since = now - timedelta(seconds=throttle.window_s)
    # Old rows only ever matter for one window; dropping them keeps the table small.
    conn.execute(delete(login_failures).where(login_failures.c.at < since))
    recent = select(func.count(), func.max(login_failures.c.at)).where(login_failures.c.at >= since)
    from_address = recent.where(login_failures.c.address == address[:_ADDRESS_CHARS])
    pair = from_address.where(login_failures.c.email == normalize_email(email)[:_EMAIL_CHARS])
    waits = [0.0]
    for query, free in (
        (pair, throttle.per_account_address),
        (from_address, throttle.per_address),
    ):
        count, newest = conn.execute(query).one()
        last = as_utc(newest)
        if count and last is not None:
            until = last + timedelta(seconds=delay_s(count, free, throttle.max_delay_s))
            waits.append((until - now).total_seconds())
    return math.ceil(max(waits))


def clear(conn: Connection, email: str, address: str) -> None:
    """Forget this account's failures from this address after it signs in from there.

    Failures from other addresses stay: an owner's sign-in must not reset a guesser's wait.
    """
    conn.execute(
        delete(login_failures).where(
            login_failures.c.email == normalize_email(email)[:_EMAIL_CHARS],
            login_failures.c.address == address[:_ADDRESS_CHARS],
        )
    )
