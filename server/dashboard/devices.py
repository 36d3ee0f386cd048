"""Devices for IT: health at a glance, create one with a one-time code and QR, move, revoke."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from server import settings
from server.dashboard.access import make_blueprint, require_admin, require_user, scope
from server.dashboard.present import ago, duration, store_time
from server.dashboard.qr import qr_svg
from server.db import get_db
from server.device_health import device_state
from server.store import as_utc, devices, locations, touchpoints
from shared.clock import utcnow
from shared.names import BadNameError, single_line_name

bp = make_blueprint("devices", __name__, "/dashboard/devices")


@bp.get("/")
def index() -> str:
    """Every device the user may see, with its state."""
    user = require_user()
    allowed = scope(user)
    conn = get_db()
    with conn.begin():
        rows = devices.listing(conn, allowed)
        places = locations.visible(conn, allowed)
        spots = touchpoints.of_locations(conn, None if allowed is None else sorted(allowed))
    by_id = {p["id"]: p for p in places}
    spot_names = {t["id"]: t["name"] for t in spots}
    spots_at: dict[str, list[dict[str, Any]]] = {}
    for spot in spots:
        if not spot["archived"]:
            spots_at.setdefault(spot["location_id"], []).append(spot)
    now = utcnow()
    warning = settings.current().device_warning_silent_s
    critical = settings.current().device_critical_silent_s
    for row in rows:
        row["touchpoint_name"] = spot_names.get(row["touchpoint_id"] or "")
        row["touchpoints"] = spots_at.get(row["location_id"], [])
        row["state"] = device_state(row, now, warning, critical, by_id.get(row["location_id"]))
        last = as_utc(row["last_contact_at"])
        row["silent_s"] = (now - last).total_seconds() if last else None
        row["oldest_pending_at"] = as_utc(row["oldest_pending_at"])
        row["last_contact_at"] = last
        timezone = by_id[row["location_id"]]["timezone"] if row["location_id"] in by_id else "UTC"
        row["last_contact_ago"] = ago(last, now) if last else None
        row["last_contact_local"] = store_time(last, timezone) if last else None
        oldest = row["oldest_pending_at"]
        row["oldest_pending_for"] = duration((now - oldest).total_seconds()) if oldest else None
        row["oldest_pending_local"] = store_time(oldest, timezone) if oldest else None
    return render_template("dashboard/devices.html", devices=rows, places=places)


@bp.post("/")
def create() -> str:
    """Create a device at a location and show its one-time code and QR once."""
    require_admin()
    location_id = request.form.get("location_id", "")
    try:
        name = single_line_name(request.form.get("name", "")[:200])
    except BadNameError as exc:
        flash("Give the device a name." if exc.code == "empty" else f"Name: {exc}.")
        return redirect(url_for("devices.index"))  # type: ignore[return-value]
    conn = get_db()
    with conn.begin():
        if locations.get(conn, location_id) is None:
            abort(400)
        device_id = devices.create(conn, location_id, name)
        ttl = settings.current().enroll_code_ttl_h
        code, expires_at = devices.issue_code(conn, device_id, ttl)
    server_url = request.host_url.rstrip("/")
    payload = json.dumps({"server": server_url, "code": code}, separators=(",", ":"))
    return render_template(
        "dashboard/device_created.html",
        device_id=device_id,
        name=name,
        code=code,
        expires_at=expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        server_url=server_url,
        qr=qr_svg(payload),
    )


@bp.post("/<device_id>/move")
def move(device_id: str) -> Response:
    """Move a device to another location; its kiosk follows at its next config fetch."""
    require_admin()
    location_id = request.form.get("location_id", "")
    conn = get_db()
    with conn.begin():
        place = locations.get(conn, location_id)
        if place is None:
            abort(400)
        if not devices.move(conn, device_id, location_id):
            abort(404)
    flash(f"Device {device_id} moved to {place['name']}; it follows at its next config fetch.")
    return redirect(url_for("devices.index"))


@bp.post("/<device_id>/touchpoint")
def place(device_id: str) -> Response:
    """Place a device at a touchpoint of its location (or at none); its kiosk shows the
    touchpoint's survey from its next config fetch, and files taps there from then on."""
    require_admin()
    touchpoint_id = request.form.get("touchpoint_id") or None
    conn = get_db()
    with conn.begin():
        try:
            if not touchpoints.place_device(conn, device_id, touchpoint_id):
                abort(404)
        except touchpoints.WrongLocationError:
            abort(400)
        spot = touchpoints.get(conn, touchpoint_id) if touchpoint_id else None
    where = spot["name"] if spot else "no touchpoint"
    flash(f"Device {device_id} placed at {where}; it follows at its next config fetch.")
    return redirect(url_for("devices.index"))


@bp.get("/<device_id>/revoke")
def confirm_revoke(device_id: str) -> str:
    """The confirmation step before a revoke, naming the device and its location."""
    require_admin()
    conn = get_db()
    with conn.begin():
        device = devices.get(conn, device_id)
        place = locations.get(conn, device["location_id"]) if device else None
    if device is None:
        abort(404)
    return render_template(
        "dashboard/device_revoke.html", device=device, location_name=place["name"] if place else ""
    )


@bp.post("/<device_id>/revoke")
def revoke(device_id: str) -> Response:
    """Revoke a device's token; it gets 401 from its next request."""
    require_admin()
    conn = get_db()
    with conn.begin():
        if not devices.revoke(conn, device_id):
            abort(404)
    flash(f"Device {device_id} revoked.")
    return redirect(url_for("devices.index"))
