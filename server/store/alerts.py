"""Alert episodes and mutes.

An episode is one row: opened when its rule first holds, closed when it stops holding. At most
one is open per (location, rule, subject), so a rule that holds for hours notifies once. A
user may acknowledge an open episode; a mute (a location, one rule or every rule, until a
time) holds notifications back while episodes are still recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

from server.store.schema import alert_mutes, alerts, locations, users
from shared.clock import utcnow


def open_episodes(conn: Connection) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every open episode by (location, rule, subject)."""
    rows = conn.execute(select(alerts).where(alerts.c.state == "open")).mappings()
    return {(r["location_id"], r["rule"], r["subject"]): dict(r) for r in rows}


def open_episode(
    conn: Connection, location_id: str, rule: str, subject: str, severity: str, message: str
) -> int:
    """Start an episode and return its id."""
    result = conn.execute(
        alerts.insert().values(
            location_id=location_id,
            rule=rule,
            subject=subject,
            severity=severity,
            state="open",
            message=message,
            opened_at=utcnow(),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def escalate(conn: Connection, alert_id: int, severity: str, message: str) -> None:
    """Raise an open episode's severity (e.g. a silent kiosk from warning to critical)."""
    conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id)
        .values(
            severity=severity,
            message=message,
            notified_at=None,
            muted_by=None,
            pending_channels=None,  # the escalated notice goes out whole, tries start again
            delivery_attempts=0,
            retry_at=None,
        )
    )


def close_episode(conn: Connection, alert_id: int) -> None:
    """End an episode: the next time its rule holds is a new one."""
    conn.execute(
        update(alerts).where(alerts.c.id == alert_id).values(state="closed", closed_at=utcnow())
    )


def mark_notified(conn: Connection, alert_id: int) -> None:
    """Record that an episode's notification went out (on every channel still due)."""
    conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id)
        .values(
            notified_at=utcnow(),
            pending_channels=None,
            retry_at=None,
            delivery_attempts=alerts.c.delivery_attempts + 1,
        )
    )


def mark_delivery_failed(
    conn: Connection, alert_id: int, channels: set[str], retry_at: datetime | None
) -> None:
    """Record a try whose `channels` failed: due again at `retry_at`, or never (None)."""
    conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id)
        .values(
            pending_channels=",".join(sorted(channels)) if retry_at is not None else None,
            retry_at=retry_at,
            delivery_attempts=alerts.c.delivery_attempts + 1,
        )
    )


def due_retries(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Episodes with a failed delivery whose next try is due, oldest first."""
    rows = conn.execute(
        select(alerts)
        .where(alerts.c.retry_at <= now, alerts.c.pending_channels.is_not(None))
        .order_by(alerts.c.id)
    )
    return [dict(r) for r in rows.mappings()]


def drop_retry(conn: Connection, alert_id: int) -> None:
    """Nothing more to try for this episode (a mute now holds it back)."""
    conn.execute(
        update(alerts).where(alerts.c.id == alert_id).values(pending_channels=None, retry_at=None)
    )


def get(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    """One episode, or None."""
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).mappings().first()
    return dict(row) if row else None


def acknowledge(conn: Connection, alert_id: int, user_id: str) -> bool:
    """Record who acknowledged an open episode and when; False if closed or acknowledged."""
    result = conn.execute(
        update(alerts)
        .where(
            alerts.c.id == alert_id,
            alerts.c.state == "open",
            alerts.c.acknowledged_at.is_(None),
        )
        .values(acknowledged_at=utcnow(), acknowledged_by=user_id)
    )
    return result.rowcount == 1


def close_by_hand(conn: Connection, alert_id: int, user_id: str, note: str) -> bool:
    """Close an open episode with a note (what was done); False if it was closed already.
    Should its rule still hold at the next check, that is a new episode."""
    result = conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.state == "open")
        .values(state="closed", closed_at=utcnow(), closed_by=user_id, close_note=note)
    )
    return result.rowcount == 1


def mark_muted(conn: Connection, alert_id: int, mute_id: int) -> None:
    """Record that a mute held an episode's notification back."""
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(muted_by=mute_id))


def listing(
    conn: Connection, location_ids: frozenset[str] | None, limit: int = 100
) -> list[dict[str, Any]]:
    """Open episodes first, then the most recent closed ones, with location names and the
    e-mail of whoever acknowledged them or closed them by hand."""
    acknowledger, closer = users.alias("acknowledger"), users.alias("closer")
    query = (
        select(
            alerts,
            locations.c.name.label("location_name"),
            acknowledger.c.email.label("acknowledged_by_email"),
            closer.c.email.label("closed_by_email"),
        )
        .select_from(
            alerts.join(locations, alerts.c.location_id == locations.c.id)
            .outerjoin(acknowledger, alerts.c.acknowledged_by == acknowledger.c.id)
            .outerjoin(closer, alerts.c.closed_by == closer.c.id)
        )
        .order_by((alerts.c.state == "open").desc(), alerts.c.opened_at.desc(), alerts.c.id.desc())
        .limit(limit)
    )
    if location_ids is not None:
        query = query.where(alerts.c.location_id.in_(sorted(location_ids)))
    return [dict(r) for r in conn.execute(query).mappings()]


def mute(
    conn: Connection, location_id: str, rule: str | None, until: datetime, user_id: str
) -> int:
    """Hold back the notifications of a location's rule (None: every rule) until `until`."""
    result = conn.execute(
        alert_mutes.insert().values(
            location_id=location_id,
            rule=rule,
            muted_at=utcnow(),
            muted_until=until,
            muted_by=user_id,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get_mute(conn: Connection, mute_id: int) -> dict[str, Any] | None:
    """One mute, or None."""
    row = conn.execute(select(alert_mutes).where(alert_mutes.c.id == mute_id)).mappings().first()
    return dict(row) if row else None


def lift_mute(conn: Connection, mute_id: int, user_id: str, now: datetime) -> bool:
    """End a mute early; False if it had ended already."""
    m = alert_mutes.c
    result = conn.execute(
        update(alert_mutes)
        .where(m.id == mute_id, m.lifted_at.is_(None), m.muted_until > now)
        .values(lifted_at=now, lifted_by=user_id)
    )
    return result.rowcount == 1


def active_mute(conn: Connection, location_id: str, rule: str, now: datetime) -> int | None:
    """The id of a mute that holds this location's rule at `now`, or None."""
    m = alert_mutes.c
    found = conn.execute(
        select(m.id)
        .where(
            m.location_id == location_id,
            or_(m.rule.is_(None), m.rule == rule),
            m.muted_until > now,
            m.lifted_at.is_(None),
        )
        .order_by(m.muted_until.desc(), m.id)
        .limit(1)
    ).scalar()
    return None if found is None else int(found)


def mutes(
    conn: Connection, location_ids: frozenset[str] | None, limit: int = 50
) -> list[dict[str, Any]]:
    """The latest mutes with location names and who muted or lifted them, newest first."""
    m = alert_mutes.c
    muter, lifter = users.alias("muter"), users.alias("lifter")
    query = (
        select(
            alert_mutes,
            locations.c.name.label("location_name"),
            muter.c.email.label("muted_by_email"),
            lifter.c.email.label("lifted_by_email"),
        )
        .select_from(
            alert_mutes.join(locations, m.location_id == locations.c.id)
            .join(muter, m.muted_by == muter.c.id)
            .outerjoin(lifter, m.lifted_by == lifter.c.id)
        )
        .order_by(m.muted_at.desc(), m.id.desc())
        .limit(limit)
    )
    if location_ids is not None:
        query = query.where(m.location_id.in_(sorted(location_ids)))
    return [dict(r) for r in conn.execute(query).mappings()]


def by_ids(conn: Connection, alert_ids: list[int]) -> list[dict[str, Any]]:
    """These episodes, in id order."""
    rows = conn.execute(select(alerts).where(alerts.c.id.in_(alert_ids)).order_by(alerts.c.id))
    return [dict(r) for r in rows.mappings()]
