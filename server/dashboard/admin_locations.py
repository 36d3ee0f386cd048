"""Admin: locations (name, time zone, opening hours, webhook), staff rosters, touchpoints and
survey assignment."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from server import alerts, opening_hours, settings
from server.dashboard.access import make_admin_blueprint
from server.db import get_db
from server.store import locations, staff, surveys, touchpoints
from shared.clock import is_valid_timezone
from shared.names import BadNameError, check_single_line, single_line_name

bp = make_admin_blueprint("admin_locations", __name__, "/dashboard/admin/locations")

NAME_MAX = 200


def _name(field: str = "name") -> str:
    return request.form.get(field, "").strip()[:NAME_MAX]


def _name_problem(name: str) -> str | None:
    """A flash message when a staff member's name is not one line, else None."""
    try:
        single_line_name(name, NAME_MAX)
    except BadNameError as exc:
        return f"Name: {exc}."
    return None


def _settings_from_form() -> tuple[dict[str, Any], str | None, str | None]:
    """(values, error field, error message) from the location form."""
    name, timezone = _name(), request.form.get("timezone", "").strip()
    webhook = request.form.get("webhook_url", "").strip()[:500]
    values: dict[str, Any] = {"name": name, "timezone": timezone, "webhook_url": webhook}
    try:
        single_line_name(name, NAME_MAX)
    except BadNameError as exc:
        return values, "name", f"Name: {exc}."
    if not is_valid_timezone(timezone):
        return values, "timezone", f"Time zone: {timezone!r} is not an IANA time zone."
    try:
        check_single_line(webhook)
    except BadNameError as exc:
        return values, "webhook_url", f"Webhook URL: {exc}."
    if webhook and not webhook.startswith(("https://", "http://")):
        return values, "webhook_url", "Webhook URL: must start with https:// or http://."
    try:
        values["opening_hours"] = opening_hours.parse_form(request.form)
    except opening_hours.BadHoursError as exc:
        return values, exc.field, f"Opening hours: {exc}."
    try:
        values["alert_rules"] = alerts.rules_from_form(request.form)
    except alerts.BadRulesError as exc:
        return values, exc.field, f"Alert rules: {exc}."
    return values, None, None


@bp.get("/")
def index() -> str:
    """Every location with its time zone and survey, and a form for a new one."""
    conn = get_db()
    with conn.begin():
        places = locations.all_locations(conn)
    return render_template(
        "dashboard/admin/locations.html", places=places, hours=opening_hours.rows(None)
    )


@bp.post("/")
def create() -> Response | tuple[str, int]:
    """Create a location from the form."""
    values, field, error = _settings_from_form()
    conn = get_db()
    with conn.begin():
        if error:
            places = locations.all_locations(conn)
            page = render_template(
                "dashboard/admin/locations.html",
                places=places,
                hours=opening_hours.rows(None),
                error=error,
                error_field=field,
                form=values,
            )
            return page, 400
        location_id = locations.create(conn, values["name"], values["timezone"])
        values.pop("alert_rules", None)  # a new location starts with the defaults
        locations.update_settings(conn, location_id, **values)
    flash(f"Location {values['name']} created.")
    return redirect(url_for("admin_locations.edit", location_id=location_id))


def _edit_page(location: dict[str, Any], **extra: Any) -> str:
    conn = get_db()
    with conn.begin():
        roster = staff.roster(conn, location["id"])
        places = touchpoints.of_location(conn, location["id"])
        choices = surveys.summaries(conn)
    return render_template(
        "dashboard/admin/location_edit.html",
        place=location,
        hours=opening_hours.rows(locations.opening_hours(location)),
        always_open=location.get("opening_hours") is None,
        roster=roster,
        touchpoints=places,
        kinds=touchpoints.KIND_LABELS,
        surveys=choices,
        rules=alerts.rules_for(location, settings.current()),
        **extra,
    )


def _found(location_id: str) -> dict[str, Any]:
    conn = get_db()
    with conn.begin():
        found = locations.get(conn, location_id)
    if found is None:
        abort(404)
    return found


@bp.get("/<location_id>")
def edit(location_id: str) -> str:
    """A location's settings, roster and survey."""
    return _edit_page(_found(location_id))


@bp.post("/<location_id>")
def save(location_id: str) -> Response | tuple[str, int]:
    """Save name, time zone, opening hours and webhook."""
    place = _found(location_id)
    values, field, error = _settings_from_form()
    if error:
        shown = {**place, "name": values["name"], "timezone": values["timezone"]}
        return _edit_page(shown, error=error, error_field=field), 400
    conn = get_db()
    with conn.begin():
        locations.update_settings(conn, location_id, **values)
    flash("Location saved.")
    return redirect(url_for("admin_locations.edit", location_id=location_id))


@bp.post("/<location_id>/survey")
def assign(location_id: str) -> Response:
    """Show a survey's newest version on the location's kiosks."""
    _found(location_id)
    survey_id = request.form.get("survey_id", "")
    conn = get_db()
    with conn.begin():
        if not surveys.exists(conn, survey_id):
            abort(400)
        locations.assign_survey(conn, location_id, survey_id)
    flash(f"Survey {survey_id} assigned; kiosks pick it up at their next config check.")
    return redirect(url_for("admin_locations.edit", location_id=location_id))


@bp.post("/<location_id>/staff")
def add_staff(location_id: str) -> Response:
    """Add a staff member to the roster."""
    _found(location_id)
    name = _name("display_name")
    if not name:
        flash("Give the staff member a name.")
    elif (problem := _name_problem(name)) is not None:
        flash(problem)
    else:
        conn = get_db()
        with conn.begin():
            staff.create(conn, location_id, name)
        flash(f"{name} added.")
    return redirect(url_for("admin_locations.edit", location_id=location_id))


def _of_location(found: dict[str, Any] | None, location_id: str) -> dict[str, Any]:
    """The row (a staff member, a touchpoint), or 404 when none or another location's."""
    if found is None or found["location_id"] != location_id:
        abort(404)
    return found


def _member(location_id: str, staff_id: str) -> dict[str, Any]:
    conn = get_db()
    with conn.begin():
        return _of_location(staff.get(conn, staff_id), location_id)


@bp.post("/<location_id>/staff/<staff_id>/rename")
def rename_staff(location_id: str, staff_id: str) -> Response:
    """Rename a staff member (their answers keep the id)."""
    _member(location_id, staff_id)
    name = _name("display_name")
    if name and (problem := _name_problem(name)) is not None:
        flash(problem)
    elif name:
        conn = get_db()
        with conn.begin():
            staff.rename(conn, staff_id, name)
        flash(f"Renamed to {name}.")
    return redirect(url_for("admin_locations.edit", location_id=location_id))


@bp.post("/<location_id>/staff/<staff_id>/active")
def set_staff_active(location_id: str, staff_id: str) -> Response:
    """Deactivate (or reactivate) a staff member: history stays, the kiosk list drops them."""
    member = _member(location_id, staff_id)
    active = request.form.get("active") == "1"
    conn = get_db()
    with conn.begin():
        staff.set_active(conn, staff_id, active)
    flash(f"{member['display_name']} {'reactivated' if active else 'deactivated'}.")
    return redirect(url_for("admin_locations.edit", location_id=location_id))


def _touchpoint_form() -> tuple[str, str | None, str | None, str | None]:
    """(name, kind, survey id, problem) from a touchpoint form; '' picks none."""
    name = _name()
    kind = request.form.get("kind") or None
    survey_id = request.form.get("survey_id") or None
    if not name:
        return name, kind, survey_id, "Give the touchpoint a name."
    if (problem := _name_problem(name)) is not None:
        return name, kind, survey_id, problem
    if kind is not None and kind not in touchpoints.KINDS:
        return name, kind, survey_id, "Kind: choose one of the list."
    conn = get_db()
    with conn.begin():
        if survey_id is not None and not surveys.exists(conn, survey_id):
            return name, kind, survey_id, "Survey: choose one of the list."
    return name, kind, survey_id, None


@bp.post("/<location_id>/touchpoints")
def add_touchpoint(location_id: str) -> Response:
    """Add a touchpoint (entrance, checkout …), optionally with its own survey."""
    _found(location_id)
    name, kind, survey_id, problem = _touchpoint_form()
    if problem is not None:
        flash(problem)
    else:
        conn = get_db()
        with conn.begin():
            touchpoints.create(conn, location_id, name, kind, survey_id)
        flash(f"{name} added; place kiosks there on the devices page.")
    return redirect(url_for("admin_locations.edit", location_id=location_id))


def _touchpoint(location_id: str, touchpoint_id: str) -> dict[str, Any]:
    conn = get_db()
    with conn.begin():
        return _of_location(touchpoints.get(conn, touchpoint_id), location_id)


@bp.post("/<location_id>/touchpoints/<touchpoint_id>")
def save_touchpoint(location_id: str, touchpoint_id: str) -> Response:
    """Rename a touchpoint, change its kind or its own survey (its answers keep the id)."""
    _touchpoint(location_id, touchpoint_id)
    name, kind, survey_id, problem = _touchpoint_form()
    if problem is not None:
        flash(problem)
    else:
        conn = get_db()
        with conn.begin():
            touchpoints.rename(conn, touchpoint_id, name)
            touchpoints.set_kind(conn, touchpoint_id, kind)
            touchpoints.assign_survey(conn, touchpoint_id, survey_id)
        flash(f"{name} saved; its kiosks pick it up at their next config check.")
    return redirect(url_for("admin_locations.edit", location_id=location_id))


@bp.post("/<location_id>/touchpoints/<touchpoint_id>/archived")
def set_touchpoint_archived(location_id: str, touchpoint_id: str) -> Response:
    """Archive (or restore) a touchpoint: its answers stay in the reports."""
    found = _touchpoint(location_id, touchpoint_id)
    archived = request.form.get("archived") == "1"
    conn = get_db()
    with conn.begin():
        touchpoints.set_archived(conn, touchpoint_id, archived)
    flash(f"{found['name']} {'archived' if archived else 'restored'}.")
    return redirect(url_for("admin_locations.edit", location_id=location_id))
