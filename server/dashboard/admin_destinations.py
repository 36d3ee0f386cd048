"""Admin: alert destinations (Integrations) — add one for every location or chosen ones, see
its delivery log, send a test message, pause, resume or delete it.

Admins only: a destination sends alerts of the locations it covers out of the building, so it
is the same decision as the server-wide webhook (docs/admin-guide.md "Integrations"). A
generic webhook's signing secret is made here and shown once, on the page the creating POST
answers; no later page shows it.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from server import destinations, settings, webhooks
from server.dashboard.access import current_user, make_admin_blueprint
from server.db import get_db
from server.store import as_utc, locations
from server.store import destinations as store
from shared.clock import utcnow

bp = make_admin_blueprint("admin_destinations", __name__, "/dashboard/admin/integrations")


def _list_page(status: int = 200, **extra: Any) -> tuple[str, int]:
    conn = get_db()
    with conn.begin():
        rows = store.all_destinations(conn)
        places = locations.all_locations(conn)
    for row in rows:
        if row["last"]:
            row["last"]["sent_at"] = as_utc(row["last"]["sent_at"])
    page = render_template(
        "dashboard/admin/destinations.html",
        rows=rows,
        places=places,
        names={p["id"]: p["name"] for p in places},
        kinds=destinations.KIND_NAMES,
        **extra,
    )
    return page, status


@bp.get("/")
def index() -> tuple[str, int]:
    """Every destination with its scope and latest try, and the form for a new one."""
    return _list_page()


@bp.post("/")
def create() -> Response | tuple[str, int]:
    """Add a destination; a generic webhook's signing secret is shown on this answer only."""
    allow = webhooks.AllowList.parse(settings.current().webhook_allow)
    chosen = request.form.getlist("location_id")
    conn = get_db()
    with conn.begin():
        known = {p["id"] for p in locations.all_locations(conn)}
        try:
            new = destinations.from_form(request.form, chosen, known, allow)
        except destinations.BadDestinationError as exc:
            error, field = f"{_LABELS[exc.field]}: {exc}.", exc.field
        else:
            me = current_user()
            created_by = me.email if me else "?"
            destination_id, secret = store.create(
                conn, new.name, new.kind, new.url, new.location_ids, created_by
            )
            error = field = ""
    if error:
        form = {k: request.form.get(k, "") for k in ("name", "kind", "url", "scope")}
        return _list_page(400, error=error, error_field=field, form=form, chosen=chosen)
    if secret is None:
        flash(f"Destination {new.name} added. Send a test message to check it.")
        return redirect(url_for("admin_destinations.detail", destination_id=destination_id))
    return _detail_page(destination_id, new_secret=secret)


_LABELS = {"name": "Name", "kind": "Kind", "url": "URL", "location_id": "Locations"}


def _detail_page(destination_id: str, **extra: Any) -> tuple[str, int]:
    conn = get_db()
    with conn.begin():
        destination = store.get(conn, destination_id)
        if destination is None:
            abort(404)
        tries = store.log(conn, destination_id)
        names = {p["id"]: p["name"] for p in locations.all_locations(conn)}
    destination.pop("secret", None)  # never into a template
    destination["created_at"] = as_utc(destination["created_at"])
    for row in tries:
        row["sent_at"] = as_utc(row["sent_at"])
        row["retry_at"] = as_utc(row["retry_at"])
    page = render_template(
        "dashboard/admin/destination.html",
        destination=destination,
        tries=tries,
        names=names,
        kinds=destinations.KIND_NAMES,
        **extra,
    )
    return page, 200


@bp.get("/<destination_id>")
def detail(destination_id: str) -> tuple[str, int]:
    """One destination: its settings and its delivery log, newest first."""
    return _detail_page(destination_id)


@bp.post("/<destination_id>/test")
def send_test(destination_id: str) -> Response:
    """Post a test message now (enabled or not) and log it like any try."""
    conn = get_db()
    with conn.begin():
        destination = store.get(conn, destination_id)
    if destination is None:
        abort(404)
    current = settings.current()
    link = current.public_url.rstrip("/") + url_for("alerts.index")
    now = utcnow()
    body = destinations.test_body(destination, link, now)
    outcome = destinations.send(current, destination, body)
    with conn.begin():
        store.record(conn, destination_id, None, 1, now, outcome.status_code, outcome.error, None)
    if outcome.ok:
        flash(f"Test message delivered (HTTP {outcome.status_code}).")
    else:
        flash(f"Test message failed: {outcome.error}")
    return redirect(url_for("admin_destinations.detail", destination_id=destination_id))


@bp.post("/<destination_id>/enabled")
def set_enabled(destination_id: str) -> Response:
    """Pause (no alerts, pending retries dropped) or resume a destination."""
    enabled = request.form.get("enabled") == "1"
    conn = get_db()
    with conn.begin():
        if not store.set_enabled(conn, destination_id, enabled):
            abort(404)
    flash("Destination resumed." if enabled else "Destination paused; pending retries dropped.")
    return redirect(url_for("admin_destinations.detail", destination_id=destination_id))


@bp.post("/<destination_id>/delete")
def delete(destination_id: str) -> Response:
    """Delete a destination and its log."""
    conn = get_db()
    with conn.begin():
        if not store.remove(conn, destination_id):
            abort(404)
    flash("Destination deleted.")
    return redirect(url_for("admin_destinations.index"))
