"""Device health: ok, warning or critical, from how long a kiosk has been silent.

One rule, asked by both the devices page and the silent-kiosk alert (`server.alerts`):
silent for DEVICE_CRITICAL_SILENT_S is critical at any time; silent for
DEVICE_WARNING_SILENT_S is a warning only while its store is open (a kiosk switched off
overnight is not news), and ok while the store is closed, with `waiting_for_opening` set so the
alert can leave an open episode as it is until the store opens again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from server.store import as_utc
from server.store.locations import opening_hours
from shared.opening_hours import is_open

State = Literal["ok", "warning", "critical"]


@dataclass(frozen=True)
class Health:
    """A device's health now: its state, seconds since its last contact, and whether a
    warning is only held back because its store is closed."""

    state: State
    silent_s: float
    waiting_for_opening: bool = False


def classify(silent_s: float, store_open: bool, warning_s: float, critical_s: float) -> Health:
    """The health of a device silent for `silent_s` seconds whose store is (not) open now."""
    if silent_s >= critical_s:
        return Health("critical", silent_s)
    if silent_s >= warning_s:
        if store_open:
            return Health("warning", silent_s)
        return Health("ok", silent_s, waiting_for_opening=True)
    return Health("ok", silent_s)


def of_device(
    device: Mapping[str, Any],
    location: Mapping[str, Any],
    now: datetime,
    warning_s: float,
    critical_s: float,
) -> Health | None:
    """The health of an enrolled device at its location (timezone, opening hours); None when
    it never enrolled or its token is revoked (it has no health to watch)."""
    if device.get("revoked_at") is not None or device.get("enrolled_at") is None:
        return None
    last = as_utc(device.get("last_contact_at") or device["enrolled_at"])
    assert last is not None
    store_open = is_open(opening_hours(dict(location)), now, location["timezone"])
    return classify((now - last).total_seconds(), store_open, warning_s, critical_s)


def device_state(
    device: Mapping[str, Any],
    now: datetime,
    warning_s: float,
    critical_s: float,
    location: Mapping[str, Any] | None = None,
) -> str:
    """What the devices page and /metrics call a device: revoked, not enrolled, or its health
    at its location (None: a location always open)."""
    if device["revoked_at"] is not None:
        return "revoked"
    if device["enrolled_at"] is None or device["last_contact_at"] is None:
        return "not enrolled"
    place = location or {"timezone": "UTC", "opening_hours": None}
    health = of_device(device, place, now, warning_s, critical_s)
    assert health is not None
    return health.state
