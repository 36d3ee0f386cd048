"""Turning two-step sign-in on (QR code, confirm with a code, recovery codes once) and off."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from server import passwords, settings, two_step
from server.dashboard.access import make_blueprint, require_user
from server.dashboard.account import client_address, throttle
from server.dashboard.qr import qr_svg
from server.db import get_db
from server.store import login_failures, users
from server.store import two_step as two_step_store
from server.store.users import User

bp = make_blueprint("two_step", __name__, url_prefix="/account/two-step")

#: The secret being set up lives in the (signed) session until a code confirms it.
_ENROLLING = "totp_enrolling"


def _enrol_page(user: User, error: str | None = None, status: int = 200) -> tuple[str, int]:
    secret = session.get(_ENROLLING)
    if not isinstance(secret, str):
        secret = two_step.new_secret()
        session[_ENROLLING] = secret
    page = render_template(
        "dashboard/two_step_enrol.html",
        qr=qr_svg(two_step.provisioning_uri(secret, user.email)),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        error=error,
    )
    return page, status


@bp.get("/")
def index() -> str | tuple[str, int]:
    """Two-step sign-in: its state and how to turn it off, or the set-up page."""
    user = require_user()
    if user.two_step:
        return render_template("dashboard/two_step_on.html")
    return _enrol_page(user)


@bp.post("/confirm")
def confirm() -> Response | str | tuple[str, int]:
    """A code from the app proves it holds the secret: turn on, show the recovery codes once."""
    user = require_user()
    secret = session.get(_ENROLLING)
    if user.two_step or not isinstance(secret, str):
        return redirect(url_for("two_step.index"))
    step = two_step.matching_step(secret, request.form.get("code", "")[:64])
    if step is None:
        return _enrol_page(user, "That code does not match: check the phone's time and retry.", 400)
    codes = two_step.new_recovery_codes()
    hashes = two_step.hash_recovery_codes(codes, settings.current().password_hash_memory_kib)
    conn = get_db()
    with conn.begin():
        two_step_store.turn_on(conn, user.id, secret, step, hashes)
    session.pop(_ENROLLING, None)
    return render_template("dashboard/two_step_codes.html", codes=codes)


@bp.post("/disable")
def disable() -> Response | str | tuple[str, int]:
    """Turn two-step sign-in off: needs the password and a code (or a recovery code)."""
    user = require_user()
    conn = get_db()
    with conn.begin():
        wait = login_failures.wait_s(conn, user.email, client_address(), throttle())
        if wait:
            message = f"Too many wrong tries from here. Try again in {wait} s."
            page = render_template("dashboard/two_step_on.html", error=message)
            return make_response(page, 429, {"Retry-After": str(wait)})
        found = users.credentials(conn, user.email)
        right_password = found is not None and passwords.verify_password(
            found[1], request.form.get("password", "")
        )
        code = request.form.get("code", "")[:64]
        if not (right_password and two_step.check(conn, user.id, code)):
            login_failures.record(conn, user.email, client_address())
            error = "The password or the code is wrong."
            return render_template("dashboard/two_step_on.html", error=error), 400
        two_step_store.turn_off(conn, user.id)
    flash("Two-step sign-in is off.")
    return redirect(url_for("two_step.index"))
