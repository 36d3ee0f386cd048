"""Who is signed in, and what they may see.

The session cookie carries the user's id and their session version; every request reloads
the user and drops the cookie when the version moved on (logout, password change,
deactivation), so ending sessions works with Flask's signed cookies.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from server.db import get_db
from server.store import users
from server.store.users import User

#: CSRF for the dashboard's forms: `init_app` binds it, `_guard` checks every unsafe request.
csrf = CSRFProtect()


def current_user() -> User | None:
    """The signed-in user of this request, or None."""
    user: User | None = g.get("user")
    return user


def load_user() -> None:
    """Put the cookie's user on `g`, or nobody when the cookie is stale."""
    g.user = None
    user_id, version = session.get("uid"), session.get("sv")
    if not user_id:
        return
    conn = get_db()
    with conn.begin():
        user = users.get(conn, str(user_id))
    if user is None or not user.active or user.session_version != version:
        session.clear()
        return
    g.user = user


def sign_in(user: User) -> None:
    """Start a fresh session for this user (nothing from the old cookie carries over)."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["sv"] = user.session_version


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the overview.

    Browsers drop tabs and line breaks from a URL and read a backslash as `/`, so
    `/<tab>/evil.example` would become `//evil.example`: refuse control characters, whitespace
    and backslashes first, then anything that parses with a scheme or a host.
    """
    fallback = url_for("overview.chain")
    if not target or any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def require_user() -> User:
    """The signed-in user; otherwise abort with a redirect to the login page."""
    user = current_user()
    if user is None:
        target = request.full_path if request.method == "GET" else None
        abort(redirect(url_for("account.login", next=target)))
    return user


def require_admin() -> User:
    """The signed-in admin, or 403."""
    user = require_user()
    if not user.is_admin:
        abort(403)
    return user


def require_location(location_id: str) -> User:
    """The signed-in user when they may see this location, or 403."""
    user = require_user()
    if not user.may_see(location_id):
        abort(403)
    return user


def scope(user: User) -> frozenset[str] | None:
    """The locations the user may see; None means all of them."""
    return None if user.is_admin else user.location_ids


def _guard() -> None:
    load_user()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def _forbidden(_exc: Any) -> tuple[str, int]:
    return render_template("dashboard/error.html", status=403, message="Not allowed."), 403


def _bad_csrf(exc: CSRFError) -> tuple[str, int]:
    message = f"The form expired or was not sent from this site ({exc.description})."
    return render_template("dashboard/error.html", status=400, message=message), 400


def make_blueprint(name: str, import_name: str, url_prefix: str = "") -> Blueprint:
    """A dashboard blueprint: loads the user and checks CSRF before each of its views."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix or None)
    bp.before_request(_guard)
    bp.register_error_handler(403, _forbidden)
    bp.register_error_handler(CSRFError, _bad_csrf)
    return bp


def init_app(app: Flask) -> None:
    """Give templates the signed-in user."""

    @app.context_processor
    def _user() -> dict[str, Any]:
        return {"user": g.get("user")}


def make_admin_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """A dashboard blueprint whose every view is for admins only (managers get 403)."""
    bp = make_blueprint(name, import_name, url_prefix)

    @bp.before_request
    def _admins_only() -> None:
        require_admin()

    return bp
