"""Signing in (with the two-step code when the user has one) and out; changing one's password."""

from __future__ import annotations

import dataclasses
import time

from flask import (
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from server import passwords, settings, sso, two_step
from server.dashboard import sso as sso_views
from server.dashboard.access import make_blueprint, require_user, safe_next, sign_in
from server.db import get_db
from server.store import login_failures, users

bp = make_blueprint("account", __name__)

#: Seconds between the right password and the code before the password must be typed again.
PENDING_S = 300


def throttle() -> login_failures.Throttle:
    """How failed sign-ins (passwords and two-step codes alike) slow the next try down."""
    config = settings.current()
    return login_failures.Throttle(
        per_account_address=config.login_fails_per_account_address,
        per_address=config.login_fails_per_address,
        window_s=config.login_fail_window_s,
        max_delay_s=config.login_delay_max_s,
    )


def client_address() -> str:
    return request.remote_addr or "unknown"


def _login_page(status: int = 200, **values: str) -> tuple[str, int]:
    """The sign-in page: the password form unless turned off, the single sign-on button."""
    config = settings.current()
    page = render_template(
        "dashboard/login.html",
        password_login=config.password_login,
        sso_name=config.oidc_name if sso.configured(config) else None,
        **values,
    )
    return page, status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """The sign-in form; slowed down per (account, address) and per address."""
    if request.method == "GET":
        return _login_page(next=request.args.get("next", ""))
    if not settings.current().password_login:
        return _login_page(error="Sign-in with a password is turned off here.", status=403)
    email = request.form.get("email", "")[:254]
    password = request.form.get("password", "")
    conn = get_db()
    with conn.begin():
        wait = login_failures.wait_s(conn, email, client_address(), throttle())
        if wait:
            message = f"Too many failed sign-ins from here. Try again in {wait} s."
            page, _ = _login_page(error=message, email=email)
            return make_response(page, 429, {"Retry-After": str(wait)})
        found = users.credentials(conn, email)
        password_hash = found[1] if found else passwords.dummy_hash(_hash_memory_kib())
        ok = passwords.verify_password(password_hash, password)
        if not (found and ok and found[0].active):
            login_failures.record(conn, email, client_address())
            message = "Wrong e-mail or password."
            return _login_page(error=message, email=email, status=401)
        login_failures.clear(conn, email, client_address())
    target = safe_next(request.form.get("next"))
    if found[0].two_step:
        session.clear()
        session["pending"] = {
            "uid": found[0].id,
            "sv": found[0].session_version,
            "next": target,
            "until": time.time() + PENDING_S,
        }
        return redirect(url_for("account.login_code"))
    sign_in(found[0])
    return redirect(target)


def _pending_user() -> users.User | None:
    """The user who gave the right password moments ago and still owes a code, or None."""
    pending = session.get("pending")
    if not isinstance(pending, dict) or float(pending.get("until", 0)) < time.time():
        return None
    conn = get_db()
    with conn.begin():
        user = users.get(conn, str(pending.get("uid", "")))
    if user is None or not user.active or user.session_version != pending.get("sv"):
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> Response | str | tuple[str, int]:
    """The second step: a code from the authenticator app, or a recovery code."""
    user = _pending_user()
    if user is None:
        session.pop("pending", None)
        flash("Sign in again: the sign-in waited too long for its code.")
        return redirect(url_for("account.login"))
    if request.method == "GET":
        return render_template("dashboard/login_code.html")
    conn = get_db()
    with conn.begin():
        wait = login_failures.wait_s(conn, user.email, client_address(), throttle())
        if wait:
            message = f"Too many wrong codes from here. Try again in {wait} s."
            page = render_template("dashboard/login_code.html", error=message)
            return make_response(page, 429, {"Retry-After": str(wait)})
        if not two_step.check(conn, user.id, request.form.get("code", "")[:64]):
            login_failures.record(conn, user.email, client_address())
            message = "Wrong or already used code."
            return render_template("dashboard/login_code.html", error=message), 401
        login_failures.clear(conn, user.email, client_address())
    target = str(session["pending"].get("next") or "")
    sign_in(user)
    return redirect(safe_next(target))


def _hash_memory_kib() -> int:
    return settings.current().password_hash_memory_kib


@bp.post("/logout")
def logout() -> Response:
    """Sign out here and on every other device (and at the single sign-on provider)."""
    user = require_user()
    id_token = session.get(sso_views.ID_TOKEN)
    conn = get_db()
    with conn.begin():
        users.end_sessions(conn, user.id)
    session.clear()
    # Signed in through the provider: end its session too when it offers that.
    return redirect(sso_views.end_session_url(id_token) or url_for("account.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> Response | str | tuple[str, int]:
    """Change one's password; every other session of the user ends."""
    user = require_user()
    if request.method == "GET":
        return render_template("dashboard/password.html")
    current = request.form.get("current", "")
    new = request.form.get("new", "")
    conn = get_db()
    with conn.begin():
        found = users.credentials(conn, user.email)
        if found is None or not passwords.verify_password(found[1], current):
            error = "The current password is wrong."
        elif new != request.form.get("confirm", ""):
            error = "The new passwords do not match."
        else:
            try:
                passwords.check_new_password(new, user.email)
                error = None
            except passwords.WeakPasswordError as exc:
                error = f"New password: {exc}."
        if error:
            return render_template("dashboard/password.html", error=error), 400
        version = users.set_password(
            conn, user.id, passwords.hash_password(new, _hash_memory_kib())
        )
    sign_in(dataclasses.replace(user, session_version=version))
    flash("Password changed. Your other sessions are signed out.")
    return redirect(url_for("overview.chain"))
