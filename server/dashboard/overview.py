"""The chain overview: every location the user may see, side by side."""

from __future__ import annotations

from flask import current_app, render_template, request

from server.dashboard import period as periods
from server.dashboard.access import make_blueprint, require_user, scope
from server.dashboard.present import LABELS, metrics, sort_rows
from server.db import get_db
from server.scores import build_groups
from server.store import locations, rollups

bp = make_blueprint("overview", __name__, "/dashboard")

SORT_KEYS = ("name", "n", *LABELS)


@bp.get("/")
def chain() -> str:
    """n, NPS, CSAT, CES and smiley share per location, each with its 95 % interval."""
    user = require_user()
    period = periods.from_request()
    min_n = int(current_app.config["MIN_N"])
    allowed = scope(user)
    conn = get_db()
    with conn.begin():
        places = locations.visible(conn, allowed)
        ids = [p["id"] for p in places]
        counted = rollups.counts(conn, "location", period.day_from, period.day_to, ids, False)
    groups = {g["key"]["location_id"]: g for g in build_groups(counted, "location", min_n)}
    rows = []
    for place in places:
        group = groups.get(place["id"], {"n": 0, "ranked": False})
        rows.append(
            {
                "id": place["id"],
                "name": place["name"],
                "timezone": place["timezone"],
                "n": group["n"],
                "ranked": group["ranked"],
                "metrics": metrics(group),
            }
        )
    sort = request.args.get("sort", "name")
    if sort not in SORT_KEYS:
        sort = "name"
    descending = request.args.get("dir", "desc" if sort != "name" else "asc") == "desc"
    return render_template(
        "dashboard/overview.html",
        rows=sort_rows(rows, sort, descending),
        period=period,
        presets=periods.PRESETS,
        sort=sort,
        descending=descending,
        labels=LABELS,
        min_n=min_n,
    )
