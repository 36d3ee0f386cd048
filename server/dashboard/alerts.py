"""The alerts page: open episodes and recent ones, acknowledging them, and muting a location's
rules for a while (a manager sees and changes their locations only)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from server.alerts import MUTE_DURATIONS, RULE_NAMES
from server.dashboard.access import make_blueprint, require_location, require_user, scope
from server.db import get_db
from server.store import alerts, as_utc, followups, locations
from server.store.users import User
from shared.clock import utcnow
from shared.names import BadNameError, single_line_name

bp = make_blueprint("alerts", __name__, "/dashboard/alerts")


def _times(row: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        row[name] = as_utc(row[name])
    return row


@bp.get("/")
def index() -> str:
    """Open alerts first, then the most recent closed ones; mutes in force and past."""
    return _render({})


def _render(errors: dict[int, str]) -> str:
    """The page; `errors`: a refused close form's message by alert id."""
    user = require_user()
    conn = get_db()
    with conn.begin():
        rows = alerts.listing(conn, scope(user))
        mutes = alerts.mutes(conn, scope(user))
        places = locations.visible(conn, scope(user))
    now = utcnow()
    for mute in mutes:
        _times(mute, "muted_at", "muted_until", "lifted_at")
        mute["active"] = mute["lifted_at"] is None and mute["muted_until"] > now
        mute["title"] = RULE_NAMES.get(mute["rule"], "Every rule") if mute["rule"] else "Every rule"
    active = [m for m in mutes if m["active"]]
    for row in rows:
        _times(row, "opened_at", "closed_at", "acknowledged_at")
        row["note_error"] = errors.get(row["id"])
        row["title"] = RULE_NAMES.get(row["rule"], row["rule"])
        row["mute"] = next(
            (
                m
                for m in active
                if m["location_id"] == row["location_id"] and m["rule"] in (None, row["rule"])
            ),
            None,
        )
    return render_template(
        "dashboard/alerts.html",
        alerts=rows,
        mutes=mutes,
        muted={m["id"]: m for m in mutes},
        places=places,
        rules=RULE_NAMES,
        durations=MUTE_DURATIONS,
        errors=errors,
        note_max=followups.NOTE_MAX_LENGTH,
    )


def _back() -> Response:
    return redirect(url_for("alerts.index"))


def _allowed(user: User, location_id: str, found: bool) -> None:
    """403 for a location the user may not see; 404 (admins) for what does not exist."""
    if not found:
        abort(404 if user.is_admin else 403)  # a manager learns nothing of other locations
    require_location(location_id)


@bp.post("/<int:alert_id>/acknowledge")
def acknowledge(alert_id: int) -> Response:
    """Record that the signed-in user has seen an open alert."""
    user = require_user()
    conn = get_db()
    with conn.begin():
        episode = alerts.get(conn, alert_id)
        _allowed(user, episode["location_id"] if episode else "", episode is not None)
        done = alerts.acknowledge(conn, alert_id, user.id)
    flash("Alert acknowledged." if done else "That alert was closed or acknowledged already.")
    return _back()


@bp.post("/<int:alert_id>/close")
def close(alert_id: int) -> Response | tuple[str, int]:
    """Close an open alert by hand with a short note saying what was done (as a follow-up is
    marked handled). Should its condition still hold at the next check, a new alert opens."""
    user = require_user()
    conn = get_db()
    with conn.begin():
        episode = alerts.get(conn, alert_id)
    _allowed(user, episode["location_id"] if episode else "", episode is not None)
    try:
        note = single_line_name(request.form.get("note", ""), followups.NOTE_MAX_LENGTH)
    except BadNameError as exc:
        return _render({alert_id: f"The note {exc}."}), 400
    with conn.begin():
        done = alerts.close_by_hand(conn, alert_id, user.id, note)
    flash("Alert closed." if done else "That alert was closed already.")
    return _back()


@bp.post("/mutes")
def mute() -> Response:
    """Hold back one rule's (or every rule's) notifications at a location for a while."""
    location_id = request.form.get("location_id", "")
    user = require_location(location_id)  # before the lookup: a manager learns nothing
    rule = request.form.get("rule", "")
    duration = MUTE_DURATIONS.get(request.form.get("duration", ""))
    if (rule and rule not in RULE_NAMES) or duration is None:
        abort(400)
    conn = get_db()
    with conn.begin():
        place = locations.get(conn, location_id)
        if place is None:
            abort(404)
        until = utcnow() + duration[1]
        alerts.mute(conn, location_id, rule or None, until, user.id)
    what = RULE_NAMES[rule] if rule else "Every alert"
    flash(f"{what} at {place['name']} muted for {duration[0]}: nothing is sent until then.")
    return _back()


@bp.post("/mutes/<int:mute_id>/lift")
def lift(mute_id: int) -> Response:
    """End a mute early: notifications are sent again from the next check."""
    user = require_user()
    conn = get_db()
    with conn.begin():
        found = alerts.get_mute(conn, mute_id)
        _allowed(user, found["location_id"] if found else "", found is not None)
        done = alerts.lift_mute(conn, mute_id, user.id, utcnow())
    flash("Mute lifted." if done else "That mute had ended already.")
    return _back()
