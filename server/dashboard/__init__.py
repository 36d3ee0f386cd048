"""The dashboard: server-rendered pages for managers, head office and IT.

`init_app` sets the session cookie's flags, CSRF (checked on the dashboard's own forms only:
the device and reports APIs authenticate with bearer tokens, not cookies), the security
headers, and registers one blueprint per area.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response, redirect, url_for

from server import settings
from server.dashboard import access
from server.dashboard.access import csrf

#: No inline scripts or styles anywhere: every script and stylesheet is a file under /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _csp() -> str:
    # Signing out sends the browser from the sign-out form on to the single sign-on
    # provider's sign-out page: browsers hold that redirect to form-action too.
    from flask import current_app

    from server.dashboard.sso import provider_origin

    origin = provider_origin(current_app)
    return CSP.replace("form-action 'self'", f"form-action 'self' {origin}") if origin else CSP


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", _csp())
    from flask import g

    if g.get("user") is not None:
        # A signed-in page or export must not be kept by a shared proxy or on disk.
        headers["Cache-Control"] = "no-store"
    if settings.current().tls:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    """Cookie flags, CSRF, security headers and the dashboard's blueprints."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a token lives as long as the session
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # access.guard checks the dashboard's forms
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = settings.of(app).tls
    app.config["SESSION_COOKIE_NAME"] = "smiletap_session"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings.of(app).session_lifetime_h)
    csrf.init_app(app)
    app.after_request(_security_headers)

    from server.dashboard import (
        account,
        admin_destinations,
        admin_locations,
        admin_people,
        admin_surveys,
        alerts,
        business,
        devices,
        digest,
        followups,
        kpi_upload,
        location,
        overview,
        sso,
        two_step,
    )

    modules = (account, sso, two_step, digest, overview, location, followups, devices, alerts)
    rest = (kpi_upload, business, admin_locations, admin_surveys, admin_people, admin_destinations)
    for module in (*modules, *rest):
        app.register_blueprint(module.bp)

    @app.get("/")
    def home() -> Response:
        return redirect(url_for("overview.chain"))  # type: ignore[return-value]

    sso.init_app(app)
    access.init_app(app)
