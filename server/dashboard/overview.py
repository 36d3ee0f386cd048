"""The chain overview: the chain's own scores, who moved clearly, open alerts, then every
location the user may see side by side."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from server import settings
from server.alerts import RULE_NAMES
from server.dashboard import period as periods
from server.dashboard.access import make_blueprint, require_user, scope
from server.dashboard.present import LABELS, kinds_present, metrics, sort_rows
from server.db import get_db
from server.scores import build_groups
from server.store import alerts, as_utc, locations, pending_rollups, rollups, touchpoints
from shared.scoring import clear_move

bp = make_blueprint("overview", __name__, "/dashboard")

SORT_KEYS = ("name", "n", *LABELS)


def _pooled(counted: list[dict[str, Any]], min_n: int) -> dict[str, Any]:
    """All the rows' answers as one group: the chain's (or the user's locations') own score."""
    groups = build_groups([{**r, "location_id": "all"} for r in counted], "location", min_n)
    return groups[0] if groups else {"n": 0, "ranked": False}


def _moves(
    now: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]], names: dict[str, str]
) -> list[dict[str, Any]]:
    """Locations whose score this period is clearly apart from the previous one's (the 95 %
    intervals do not overlap: the drop alert's test), per kind, biggest change first."""
    found = []
    for location_id, group in now.items():
        old = before.get(location_id)
        if old is None:
            continue
        for kind, current in metrics(group).items():
            previous = metrics(old)[kind]
            if current is None or previous is None:
                continue
            direction = clear_move((current.lo, current.hi), (previous.lo, previous.hi))
            if direction:
                found.append(
                    {
                        "id": location_id,
                        "name": names[location_id],
                        "kind": kind,
                        "label": LABELS[kind],
                        "direction": "up" if direction > 0 else "down",
                        "now": current,
                        "before": previous,
                        "change": current.fraction - previous.fraction,
                    }
                )
    return sorted(found, key=lambda m: -abs(m["change"]))


@bp.get("/")
def chain() -> str:
    """The chain's scores, movers and open alerts; n, NPS, CSAT, CES and smiley share per
    location, each with its 95 % interval; all answers, or those at one kind of touchpoint."""
    user = require_user()
    min_n = settings.current().min_n
    allowed = scope(user)
    conn = pending_rollups.caught_up(get_db())
    kind = request.args.get("kind")
    if kind not in touchpoints.KINDS:
        kind = None
    with conn.begin():
        places = locations.visible(conn, allowed)
        ids = [p["id"] for p in places]
        period = periods.from_request(p["timezone"] for p in places)
        before = period.previous()
        # One kind of touchpoint chain-wide ("checkouts"): only answers taken at those.
        at: list[str | None] | None = None
        if kind is not None:
            at = [t["id"] for t in touchpoints.of_locations(conn, ids) if t["kind"] == kind]
        counted = rollups.counts(conn, "location", period.filters(ids, at))
        earlier = rollups.counts(conn, "location", before.filters(ids, at))
        open_alerts = [a for a in alerts.listing(conn, allowed) if a["state"] == "open"]
    grouped = build_groups(counted, "location", min_n)
    groups = {g["key"]["location_id"]: g for g in grouped}
    previous = {g["key"]["location_id"]: g for g in build_groups(earlier, "location", min_n)}
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
    for alert in open_alerts:
        alert["title"] = RULE_NAMES.get(alert["rule"], alert["rule"])
        alert["opened_at"] = as_utc(alert["opened_at"])
    sort = request.args.get("sort", "name")
    if sort not in SORT_KEYS:
        sort = "name"
    descending = request.args.get("dir", "desc" if sort != "name" else "asc") == "desc"
    pooled = _pooled(counted, min_n)
    return render_template(
        "dashboard/overview.html",
        rows=sort_rows(rows, sort, descending),
        chain=pooled,
        chain_scores=metrics(pooled),
        moves=_moves(groups, previous, {p["id"]: p["name"] for p in places}),
        before=before,
        open_alerts=open_alerts,
        period=period,
        presets=periods.PRESETS,
        sort=sort,
        descending=descending,
        labels=kinds_present(grouped),
        min_n=min_n,
        kind=kind,
        kind_choices=list(touchpoints.PLURAL_LABELS.items()),
    )
