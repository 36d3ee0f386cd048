"""Admin: dashboard users (create with role and locations, deactivate) and API keys."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import Connection
from werkzeug.wrappers import Response

from server import passwords, settings
from server.dashboard.access import current_user, make_admin_blueprint
from server.db import get_db
from server.store import api_keys, locations, users
from shared.names import first_control_character

bp = make_admin_blueprint("admin_people", __name__, "/dashboard/admin")


def _scope_from_form(conn: Any, role: str) -> tuple[list[str], str | None]:
    """The chosen locations (checked to exist), or an error; managers need at least one."""
    chosen = sorted(set(request.form.getlist("location_id")))
    known = {p["id"] for p in locations.all_locations(conn)}
    if any(c not in known for c in chosen):
        return [], "Locations: unknown location."
    if role == "manager" and not chosen:
        return [], "Locations: a manager needs at least one location."
    return ([] if role == "admin" else chosen), None


def _scoped_page(
    template: str,
    listed: str,
    list_rows: Callable[[Connection], Sequence[Any]],
    status: int,
    extra: dict[str, Any],
) -> tuple[str, int]:
    """An admin page listing rows (as `listed`) next to every location, for the scope form."""
    conn = get_db()
    with conn.begin():
        rows = list_rows(conn)
        places = locations.all_locations(conn)
    names = {p["id"]: p["name"] for p in places}
    page = render_template(template, places=places, names=names, **{listed: rows}, **extra)
    return page, status


def _users_page(status: int = 200, **extra: Any) -> tuple[str, int]:
    return _scoped_page("dashboard/admin/users.html", "people", users.all_users, status, extra)


@bp.get("/users")
def user_list() -> tuple[str, int]:
    """Every user with role, locations and state, and the form for a new one."""
    return _users_page()


@bp.post("/users")
def create_user() -> Response | tuple[str, int]:
    """Create a user with a first password, a role and (for managers) locations."""
    email = users.normalize_email(request.form.get("email", ""))[:254]
    role = request.form.get("role", "")
    password = request.form.get("password", "")
    form = {"email": email, "role": role}
    error = None
    if "@" not in email or len(email) < 3 or first_control_character(email):
        error = "E-mail: give an address like name@example.com (one line)."
    elif role not in users.ROLES:
        error = "Role: choose admin or manager."
    else:
        try:
            passwords.check_new_password(password, email)
        except passwords.WeakPasswordError as exc:
            error = f"Password: {exc}."
    memory_kib = settings.current().password_hash_memory_kib
    conn = get_db()
    with conn.begin():
        scope, scope_error = _scope_from_form(conn, role) if not error else ([], None)
        error = error or scope_error
        if not error:
            try:
                users.create(
                    conn, email, passwords.hash_password(password, memory_kib), role, scope
                )
            except users.DuplicateEmailError:
                error = "E-mail: a user with this address exists already."
    if error:
        return _users_page(400, error=error, form=form)
    flash(f"User {email} created; give them the password by a separate channel.")
    return redirect(url_for("admin_people.user_list"))


@bp.post("/users/<user_id>/active")
def set_user_active(user_id: str) -> Response:
    """Deactivate (ends their sessions at once) or reactivate a user."""
    me = current_user()
    active = request.form.get("active") == "1"
    if me is not None and me.id == user_id and not active:
        flash("You cannot deactivate yourself.")
        return redirect(url_for("admin_people.user_list"))
    conn = get_db()
    with conn.begin():
        if not users.set_active(conn, user_id, active):
            abort(404)
    flash("User reactivated." if active else "User deactivated; their sessions ended.")
    return redirect(url_for("admin_people.user_list"))


def _keys_page(status: int = 200, **extra: Any) -> tuple[str, int]:
    return _scoped_page("dashboard/admin/api_keys.html", "keys", api_keys.all_keys, status, extra)


@bp.get("/api-keys")
def key_list() -> tuple[str, int]:
    """Every API key (never the secret), and the form for a new one."""
    return _keys_page()


@bp.post("/api-keys")
def create_key() -> tuple[str, int]:
    """Make a key and show it once; only its hash is stored."""
    role = request.form.get("role", "")
    label = request.form.get("label", "").strip()[:200]
    if first_control_character(label):
        return _keys_page(400, error="Label: must be one line without control characters.")
    if role not in api_keys.ROLES:
        return _keys_page(400, error="Role: choose admin or manager.")
    conn = get_db()
    with conn.begin():
        scope, error = _scope_from_form(conn, role)
        if not error:
            key_id, key = api_keys.create(conn, role, scope, label)
    if error:
        return _keys_page(400, error=error)
    return _keys_page(200, new_key=key, new_key_id=key_id)


@bp.post("/api-keys/<key_id>/revoke")
def revoke_key(key_id: str) -> Response:
    """Revoke a key: its next request is 401."""
    conn = get_db()
    with conn.begin():
        if not api_keys.revoke(conn, key_id):
            abort(404)
    flash(f"API key {key_id} revoked.")
    return redirect(url_for("admin_people.key_list"))
