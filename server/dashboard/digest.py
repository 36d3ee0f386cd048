"""One's own e-mailed digest: how often, at what time, numbers and dates for which locale;
a preview in the browser, and "send to me now"."""

from __future__ import annotations

import logging
import smtplib

from flask import Response, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from server import digests, settings
from server.dashboard.access import make_blueprint, require_user
from server.db import get_db, get_engine
from server.digests import content, periods, render
from server.store import digests as store
from server.store import pending_rollups
from shared.clock import utcnow

bp = make_blueprint("digest", __name__, "/account/digest")
log = logging.getLogger(__name__)

PERIOD_LABELS = {
    "daily": "Daily (yesterday, every morning)",
    "weekly": "Weekly (last Monday–Sunday, on Monday)",
    "monthly": "Monthly (last calendar month, on the 1st)",
    "none": "None (no digest)",
}
#: The preview's own policy: the digest is mail HTML, styled inline, so the dashboard's
#: no-inline-styles policy would strip it; scripts stay forbidden.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def _kind() -> str:
    """The period asked for (`?period=`), else the user's own choice."""
    asked = request.args.get("period", "")
    if asked in periods.KINDS:
        return asked
    conn = get_db()
    with conn.begin():
        return digests.default_kind(conn, require_user())


def _page(chosen: store.Choice, error: str | None = None, field: str | None = None) -> str:
    user = require_user()
    conn = get_db()
    with conn.begin():
        zone = content.home_timezone(conn, user)
    return render_template(
        "dashboard/digest.html",
        chosen=chosen,
        labels=PERIOD_LABELS,
        zone=zone,
        error=error,
        error_field=field,
        mail_configured=bool(settings.current().smtp_host),
    )


@bp.get("")
def edit() -> str:
    """The digest settings form, with links to the preview and "send to me now"."""
    user = require_user()
    conn = get_db()
    with conn.begin():
        chosen = store.choice(conn, user.id) or store.Choice()
    return _page(chosen)


@bp.post("")
def save() -> BaseResponse | tuple[str, int]:
    """Store the digest choice; a bad field is a 400 naming it."""
    user = require_user()
    period = request.form.get("period", "")
    raw_time = request.form.get("time", "")[:20]
    raw_locale = request.form.get("locale", "")[:40]
    given = store.Choice(period, raw_time, raw_locale)
    if period not in store.PERIODS:
        return _page(given, "Choose daily, weekly, monthly or none.", "period"), 400
    try:
        at = periods.parse_time(raw_time)
    except ValueError as exc:
        return _page(given, f"Time: {exc}.", "time"), 400
    try:
        locale = render.valid_locale(raw_locale or "en")
    except ValueError as exc:
        return _page(given, f"Locale: {exc}.", "locale"), 400
    conn = get_db()
    with conn.begin():
        store.set_choice(conn, user.id, store.Choice(period, at.strftime("%H:%M"), locale))
    flash("Digest settings saved.")
    return redirect(url_for("digest.edit"))


@bp.get("/preview")
def preview() -> Response:
    """The digest as it would be mailed now, with its chart from the chart route."""
    user = require_user()
    kind = _kind()
    image = url_for("digest.chart", period=kind)
    conn = pending_rollups.caught_up(get_db())
    with conn.begin():
        made = digests.make(conn, settings.current(), user, kind, utcnow(), image_src=image)
    response = Response(made.written.html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@bp.get("/chart.png")
def chart() -> Response:
    """The preview's chart, the same PNG the mail carries inline."""
    user = require_user()
    kind = _kind()
    conn = pending_rollups.caught_up(get_db())
    with conn.begin():
        made = digests.make(conn, settings.current(), user, kind, utcnow())
    return Response(made.chart_png, mimetype="image/png")


@bp.post("/send")
def send_now() -> BaseResponse:
    """Mail one's own digest now, whatever its schedule (not counted as the period's)."""
    user = require_user()
    kind = request.form.get("period", "")
    try:
        made = digests.send_now(
            get_engine(), settings.current(), user, kind if kind in periods.KINDS else None
        )
    except (OSError, smtplib.SMTPException, RuntimeError) as exc:
        log.warning("digest for %s not sent on request: %r", user.email, exc)
        flash(f"The digest was not sent: {exc}")
    else:
        flash(f"Sent “{made.written.subject}” to {user.email}.")
    return redirect(url_for("digest.edit"))
