"""The alerts page: open episodes and recent ones (a manager sees their locations only)."""

from __future__ import annotations

from flask import render_template

from server.alerts import RULE_NAMES
from server.dashboard.access import make_blueprint, require_user, scope
from server.db import get_db
from server.store import alerts, as_utc

bp = make_blueprint("alerts", __name__, "/dashboard/alerts")


@bp.get("/")
def index() -> str:
    """Open alerts first, then the most recent closed ones."""
    user = require_user()
    conn = get_db()
    with conn.begin():
        rows = alerts.listing(conn, scope(user))
    for row in rows:
        row["opened_at"] = as_utc(row["opened_at"])
        row["closed_at"] = as_utc(row["closed_at"])
        row["title"] = RULE_NAMES.get(row["rule"], row["rule"])
    return render_template("dashboard/alerts.html", alerts=rows)
