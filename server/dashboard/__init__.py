"""The dashboard: server-rendered pages for managers, head office and IT.

`init_app` sets the session cookie's flags, CSRF (checked on the dashboard's own forms only:
the device and reports APIs authenticate with bearer tokens, not cookies), the security
headers, and registers one blueprint per area.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask, Request, Response, g, redirect, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from server import settings
from server.dashboard import access
from server.dashboard.access import csrf

#: No inline scripts or styles anywhere: every script and stylesheet is a file under /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _csp(app: Flask, made_from: settings.Settings) -> str:
    # Signing out sends the browser from the sign-out form on to the single sign-on
    # provider's sign-out page: browsers hold that redirect to form-action too. Kept with the
    # app's settings it was made from (a 304 is text/html too, so every config check asked).
    kept = app.extensions.get(_CSP_KEY)
    if kept is not None and kept[0] is made_from:
        return kept[1]  # type: ignore[no-any-return]
    from server.dashboard.sso import provider_origin

    origin = provider_origin(app)
    csp = CSP.replace("form-action 'self'", f"form-action 'self' {origin}") if origin else CSP
    app.extensions[_CSP_KEY] = (made_from, csp)
    return csp


_CSP_KEY = "smiletap_csp"

#: Set on every response that has none of its own.
_ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)
_ALWAYS_LOWER = tuple((name.lower(), name, value) for name, value in _ALWAYS)


def _security_headers_for(app: Flask) -> Callable[[Response], Response]:
    """The app's hook setting the security headers on every response.

    Made per app, so it holds the app (its settings are still looked up at each response, so
    `settings.override` shows at once) instead of finding it through `current_app` three
    times a request: it runs on every device call.
    """

    def _security_headers(response: Response) -> Response:
        headers = response.headers
        # One pass over the headers instead of a search per `setdefault` (each set searched
        # the list twice): these ran on every device call, whose answers set none of them.
        present = {name.lower() for name, _value in headers.items()}
        for lower, name, value in _ALWAYS_LOWER:
            if lower not in present:
                headers.add(name, value)
        made_from = settings.of(app)
        if response.mimetype == "text/html" and "content-security-policy" not in present:
            headers.add("Content-Security-Policy", _csp(app, made_from))
        if g.get("user") is not None:
            # A signed-in page or export must not be kept by a shared proxy or on disk.
            headers["Cache-Control"] = "no-store"
        if made_from.tls:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    return _security_headers


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, opened without its signer when there are no cookies.

    Flask builds the signer (an itsdangerous serializer over the secret key and its
    fallbacks) and parses the cookies before it looks for its own, on every request; the
    kiosks' calls, most of the server's traffic, send none. The answer is the same: a new
    empty session.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # No Cookie header at all: not even the cookies need parsing.
        if app.secret_key and not request.environ.get("HTTP_COOKIE"):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        # Untouched and empty (every device call): Flask would set no cookie and no Vary,
        # after reading seven cookie settings from the config first.
        if not session and not session.accessed and not session.modified:
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    """Cookie flags, CSRF, security headers and the dashboard's blueprints."""
    app.session_interface = _SessionInterface()
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a token lives as long as the session
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # access.guard checks the dashboard's forms
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = settings.of(app).tls
    app.config["SESSION_COOKIE_NAME"] = "smiletap_session"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings.of(app).session_lifetime_h)
    csrf.init_app(app)
    app.after_request(_security_headers_for(app))

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
