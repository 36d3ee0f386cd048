"""Each dashboard user's digest choice, and the digests the schedule has sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from server.store.schema import digests_sent, users

PERIODS = ("daily", "weekly", "monthly", "none")


@dataclass(frozen=True)
class Choice:
    """How often a user gets a digest (`none`: never), at what store-local time, and the
    locale its numbers and dates are written for."""

    period: str = "weekly"
    time: str = "07:00"
    locale: str = "en"


def choice(conn: Connection, user_id: str) -> Choice | None:
    """The user's digest choice, or None for an unknown user."""
    c = users.c
    row = conn.execute(
        select(c.digest_period, c.digest_time, c.digest_locale).where(c.id == user_id)
    ).first()
    return Choice(row.digest_period, row.digest_time, row.digest_locale) if row else None


def set_choice(conn: Connection, user_id: str, chosen: Choice) -> None:
    """Store the user's digest choice (validated by the caller)."""
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(digest_period=chosen.period, digest_time=chosen.time, digest_locale=chosen.locale)
    )


def subscribers(conn: Connection) -> list[tuple[str, Choice]]:
    """(user id, choice) of every active user who wants a digest, by e-mail."""
    c = users.c
    rows = conn.execute(
        select(c.id, c.digest_period, c.digest_time, c.digest_locale)
        .where(c.active.is_(True), c.digest_period != "none")
        .order_by(c.email)
    ).all()
    return [(r.id, Choice(r.digest_period, r.digest_time, r.digest_locale)) for r in rows]


def was_sent(conn: Connection, user_id: str, period_key: str) -> bool:
    """Whether the schedule has sent this user the digest of this period."""
    c = digests_sent.c
    query = select(c.user_id).where(c.user_id == user_id, c.period_key == period_key)
    return conn.execute(query).first() is not None


def mark_sent(conn: Connection, user_id: str, period_key: str, at: datetime) -> bool:
    """Record the digest as sent; False when it was recorded already."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(digests_sent)
        .values(user_id=user_id, period_key=period_key, sent_at=at)
        .on_conflict_do_nothing()
        .returning(digests_sent.c.user_id)
    )
    return conn.execute(stmt).first() is not None
