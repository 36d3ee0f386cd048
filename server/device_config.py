"""The body of GET /api/v1/config and its ETag.

The ETag is not a hash of the body, which would mean building the body on every poll: it
hashes what the body is made of — the device's own fields, its location's config stamp and
the kiosk settings. Every store write that changes what /config sends for a location gives
that location a new stamp (`locations.touch_config`), so checking an ETag costs one
primary-key read and works across processes (nothing is cached in memory).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from server.settings import Settings
from server.store import locations, staff, surveys, touchpoints


def kiosk_settings(settings: Settings) -> dict[str, int]:
    """The kiosk timings from the server's settings."""
    return {
        "idle_reset_s": settings.idle_reset_s,
        "thank_you_s": settings.thank_you_s,
        "burst_max_taps": settings.burst_max_taps,
        "burst_window_s": settings.burst_window_s,
    }


def etag(device: Mapping[str, Any], config_stamp: str, settings: Settings) -> str:
    """The config's ETag: changes whenever anything /config sends for this device does.

    A function of its inputs only, which every call reads anew from the database, so its
    answers are kept (`_ETAGS`): a steady kiosk's config checks and heartbeats ask for the
    same one again and again, and the JSON and hash cost about as much as the token look-up.
    """
    kiosk = kiosk_settings(settings)
    key = (device["id"], device["name"], device["location_id"], config_stamp, *kiosk.values())
    found = _ETAGS.get(key)
    if found is None:
        if len(_ETAGS) >= _ETAGS_MAX:
            _ETAGS.clear()
        found = _ETAGS[key] = _etag(device, config_stamp, kiosk)
    return found


#: ETags by everything they are made of (`etag`), at most `_ETAGS_MAX` (a fleet's devices).
_ETAGS: dict[tuple[Any, ...], str] = {}
_ETAGS_MAX = 10_000


def _etag(device: Mapping[str, Any], config_stamp: str, kiosk: dict[str, int]) -> str:
    parts = {
        "device": [device["id"], device["name"], device["location_id"]],
        "config_stamp": config_stamp,
        # Kiosk settings come from the process's settings: a restart with new ones changes them.
        "kiosk": kiosk,
    }
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def current_etag(device: Mapping[str, Any], settings: Settings) -> str:
    """The ETag of a device row read with its location's stamp (`devices.by_token`)."""
    return etag(device, device["config_stamp"], settings)


def build(conn: Connection, device: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """The device's config: its location and touchpoint, the newest version of the survey
    shown there (the touchpoint's own, else the location's), staff."""
    location = locations.get(conn, device["location_id"])
    assert location is not None  # a device's location is a foreign key
    touchpoint = None
    if device.get("touchpoint_id"):
        touchpoint = touchpoints.get(conn, device["touchpoint_id"])
    survey_id = (touchpoint or {}).get("survey_id") or location["survey_id"]
    survey_body = None
    if survey_id:
        survey = surveys.latest(conn, survey_id)
        if survey is not None:
            dumped = survey.model_dump(mode="json")
            survey_body = {"id": dumped.pop("id"), "version": dumped.pop("version"), **dumped}
    body: dict[str, Any] = {
        "device": {"id": device["id"], "name": device["name"]},
        "location": {
            "id": location["id"],
            "name": location["name"],
            "timezone": location["timezone"],
            "opening_hours": locations.opening_hours(location),
        },
        "touchpoint": None
        if touchpoint is None
        else {"id": touchpoint["id"], "name": touchpoint["name"], "kind": touchpoint["kind"]},
        "survey": survey_body,
        "staff": staff.active_at(conn, location["id"]),
        "kiosk": kiosk_settings(settings),
    }
    return {"etag": etag(device, location["config_stamp"], settings), **body}
