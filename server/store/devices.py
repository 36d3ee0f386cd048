"""Devices, their one-time enrollment codes and their tokens (both stored only as hashes)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from server.db import Checkout, Prepared
from server.store import as_utc
from server.store.schema import devices, enroll_codes, id_conflicts, locations
from shared.clock import utcnow
from shared.ids import new_entity_id

#: No vowels (no words), no look-alikes. 10 letters of 20 = 43 bits.
CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
CODE_LENGTH = 10


def sha256_hex(text: str) -> str:
    """The hex SHA-256 of a secret, which is all the database keeps."""
    return hashlib.sha256(text.encode()).hexdigest()


def new_code() -> str:
    """A random enrollment code formatted `XXXXX-XXXXX`."""
    letters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{letters[:5]}-{letters[5:]}"


def normalize_code(code: str) -> str:
    """A typed code without dashes, spaces or case, so `bcdfg hjklm` matches."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def create(conn: Connection, location_id: str, name: str, touchpoint_id: str | None = None) -> str:
    """Insert a device (not yet enrolled) and return its id; the caller checked that the
    touchpoint is at the location."""
    device_id = new_entity_id("dev")
    conn.execute(
        devices.insert().values(
            id=device_id,
            location_id=location_id,
            name=name,
            touchpoint_id=touchpoint_id,
            created_at=utcnow(),
        )
    )
    return device_id


def get(conn: Connection, device_id: str) -> dict[str, Any] | None:
    """One device row as a dict, or None."""
    row = conn.execute(select(devices).where(devices.c.id == device_id)).mappings().first()
    return dict(row) if row else None


def issue_code(conn: Connection, device_id: str, ttl_hours: float) -> tuple[str, datetime]:
    """Make a new one-time code for the device; return it and when it expires."""
    code = new_code()
    now = utcnow()
    expires_at = now + timedelta(hours=ttl_hours)
    conn.execute(
        enroll_codes.insert().values(
            code_hash=sha256_hex(normalize_code(code)),
            device_id=device_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return code, expires_at


def redeem_code(conn: Connection, code: str, info: dict[str, str]) -> tuple[str, str] | None:
    """Use a code: give its device a new token; return (device_id, token) or None if invalid."""
    now = utcnow()
    code_hash = sha256_hex(normalize_code(code))
    # The guarded UPDATE makes the code single-use even when two requests race.
    used = conn.execute(
        update(enroll_codes)
        .where(
            enroll_codes.c.code_hash == code_hash,
            enroll_codes.c.used_at.is_(None),
            enroll_codes.c.expires_at > now,
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:
        return None
    device_id = conn.execute(
        select(enroll_codes.c.device_id).where(enroll_codes.c.code_hash == code_hash)
    ).scalar_one()
    token = secrets.token_urlsafe(32)
    conn.execute(
        update(devices)
        .where(devices.c.id == device_id)
        .values(
            token_hash=sha256_hex(token),
            enrolled_at=now,
            revoked_at=None,
            last_contact_at=now,
            app_version=info.get("app_version"),
            platform=info.get("platform"),
            hostname=info.get("hostname"),
        )
    )
    return device_id, token


#: Compiled once and run on the driver's cursor (`db.Prepared`): the token look-up runs on
#: every device call, and SQLAlchemy's execution costs several times SQLite's look-up. It
#: reads the location's config stamp (a config check is this one read) and time zone
#: (ingest dates taps with it).
_BY_TOKEN = Prepared(
    select(devices, locations.c.config_stamp, locations.c.timezone.label("location_timezone"))
    .join(locations, locations.c.id == devices.c.location_id)
    .where(devices.c.token_hash == bindparam("token_hash"), devices.c.revoked_at.is_(None))
)


def by_token(conn: Connection | Checkout, token: str) -> dict[str, Any] | None:
    """The enrolled, unrevoked device this token belongs to, or None.

    The row carries its location's `config_stamp` and `location_timezone` too. Outside a
    transaction the look-up runs alone (`db.Prepared`), as `db.read_once` would run it.
    """
    return _BY_TOKEN.first(conn, {"token_hash": sha256_hex(token)})


def revoke(conn: Connection, device_id: str) -> bool:
    """Revoke the device's token and any unused codes; False when no such device."""
    now = utcnow()
    result = conn.execute(
        update(devices).where(devices.c.id == device_id).values(revoked_at=now, token_hash=None)
    )
    conn.execute(
        update(enroll_codes)
        .where(enroll_codes.c.device_id == device_id, enroll_codes.c.used_at.is_(None))
        .values(used_at=now)
    )
    return result.rowcount == 1


def move(conn: Connection, device_id: str, location_id: str) -> bool:
    """Point the device at another location; False when no such device.

    Its next /config carries the new location (and so a new ETag); answers it still holds
    for the old one are then rejected `location_mismatch`, and stored answers keep theirs.
    It leaves its touchpoint, which belongs to the old location.
    """
    result = conn.execute(
        update(devices)
        .where(devices.c.id == device_id)
        .values(location_id=location_id, touchpoint_id=None)
    )
    return result.rowcount == 1


#: A heartbeat whose clock skew moved less than this (network jitter) reports nothing new.
SKEW_NEWS_S = 1.0


def contact_due(device: dict[str, Any], now: datetime, interval_s: float) -> bool:
    """Whether a call at `now` must be written as the device's last contact.

    Polls write it at most once per `interval_s`, so the stored last contact is never later
    than the true one and less than `interval_s` earlier.
    """
    last = as_utc(device["last_contact_at"])
    return last is None or (now - last).total_seconds() >= interval_s


_CONTACT = update(devices).where(devices.c.id == bindparam("device_id"))


def record_contact(
    conn: Connection, device_id: str, skew_s: float | None, now: datetime | None = None
) -> None:
    """Note that the device called now, and its clock skew when the call carried one."""
    values: dict[str, Any] = {"device_id": device_id, "last_contact_at": now or utcnow()}
    if skew_s is not None:
        values["clock_skew_s"] = skew_s
    conn.execute(_CONTACT, values)


def skew_is_news(device: dict[str, Any], skew_s: float) -> bool:
    """Whether a measured clock skew differs from the stored one by more than jitter."""
    stored = device["clock_skew_s"]
    return stored is None or abs(float(stored) - float(skew_s)) >= SKEW_NEWS_S


def heartbeat_is_news(device: dict[str, Any], status: dict[str, Any]) -> bool:
    """Whether a heartbeat's status differs from what is stored for the device."""
    for name, value in status.items():
        stored = device[name]
        if name == "clock_skew_s":
            if skew_is_news(device, value):
                return True
        elif isinstance(value, datetime) or isinstance(stored, datetime):
            if as_utc(stored) != as_utc(value):
                return True
        elif stored != value:
            return True
    return False


def record_heartbeat(
    conn: Connection, device_id: str, status: dict[str, Any], now: datetime | None = None
) -> None:
    """Store what the kiosk reports about itself; the call is its last contact."""
    moment = now or utcnow()
    conn.execute(
        update(devices)
        .where(devices.c.id == device_id)
        .values(last_heartbeat_at=moment, last_contact_at=moment, **status)
    )


def watched(conn: Connection) -> list[dict[str, Any]]:
    """Enrolled, unrevoked devices with their location and last contact."""
    d = devices.c
    query = select(d.id, d.name, d.location_id, d.last_contact_at, d.enrolled_at).where(
        d.revoked_at.is_(None), d.enrolled_at.is_not(None)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def listing(conn: Connection, location_ids: frozenset[str] | None) -> list[dict[str, Any]]:
    """Every device (all, or at these locations) with its location's name and its id-conflict
    count."""
    conflicts = (
        select(id_conflicts.c.device_id, func.count().label("conflicts"))
        .group_by(id_conflicts.c.device_id)
        .subquery()
    )
    query = (
        select(
            devices,
            locations.c.name.label("location_name"),
            func.coalesce(conflicts.c.conflicts, 0).label("conflicts"),
        )
        .select_from(
            devices.join(locations, devices.c.location_id == locations.c.id).outerjoin(
                conflicts, conflicts.c.device_id == devices.c.id
            )
        )
        .order_by(locations.c.name, devices.c.name, devices.c.id)
    )
    if location_ids is not None:
        query = query.where(devices.c.location_id.in_(sorted(location_ids)))
    return [dict(r) for r in conn.execute(query).mappings()]
