"""A location's "to follow up" list: comments and low answers with reasons, newest first,
each assigned to a colleague or marked handled with a note (a manager: their locations only).

The list's filters live in the query string, and each action's form posts back to a URL that
carries them, so after an action (or a refused one) the manager sees the same list again.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from server.dashboard import period as periods
from server.dashboard.access import make_blueprint, require_location, require_user
from server.dashboard.location import (
    NO_TOUCHPOINT,
    narrowed_touchpoint,
    reason_labels,
    scoped_location,
    touchpoint_places,
)
from server.dashboard.present import answer_chip, median_time, store_time
from server.db import get_db
from server.store import followups, users
from server.store.users import User
from shared.names import BadNameError, single_line_name

bp = make_blueprint("followups", __name__, "/dashboard")

#: The status filter's choices; "todo" (open or assigned) is the default.
STATUS_CHOICES = {
    "todo": ("To do (open or assigned)", ("open", "assigned")),
    "open": ("Open", ("open",)),
    "assigned": ("Assigned", ("assigned",)),
    "handled": ("Handled", ("handled",)),
    "all": ("All", followups.STATUSES),
}
#: The filters an action's form carries back to the list.
FILTER_ARGS = ("status", "mine", "touchpoint", "period", "from", "to")


def _filters() -> dict[str, str]:
    return {k: request.args[k] for k in FILTER_ARGS if request.args.get(k)}


def _render(location_id: str, errors: dict[str, dict[str, str]], status: int = 200) -> Any:
    """The list as the query string filters it; `errors`: a refused form's message by
    submission id and field."""
    place = scoped_location(location_id)
    user = require_user()
    period = periods.from_request([place["timezone"]])
    places = touchpoint_places(location_id)
    chosen, narrow = narrowed_touchpoint(places)
    status_key = request.args.get("status", "todo")
    if status_key not in STATUS_CHOICES:
        status_key = "todo"
    mine = request.args.get("mine") == "1"
    conn = get_db()
    with conn.begin():
        items = followups.listing(
            conn,
            location_id,
            period.day_from,
            period.day_to,
            STATUS_CHOICES[status_key][1],
            user.id if mine else None,
            narrow,
        )
        said = followups.answers_of(conn, [i["submission_id"] for i in items])
        colleagues = users.who_may_see(conn, location_id)
        stats = followups.followup_stats(conn, [location_id], period.day_from, period.day_to)
    labels = reason_labels(place["survey_id"])
    names = {p["id"]: p["name"] for p in places}
    for item in items:
        item["when"] = store_time(item["effective_at"], place["timezone"])
        item["touchpoint"] = names.get(item["touchpoint_id"] or "", "")
        item["answers"] = [_answer(a, labels) for a in said[item["submission_id"]]]
        if item["handled_at"]:
            item["handled_when"] = store_time(item["handled_at"], place["timezone"])
    choices = [(p["id"], p["name"]) for p in places] + [(NO_TOUCHPOINT, "At no touchpoint")]
    filters = _filters()
    return (
        render_template(
            "dashboard/followups.html",
            place=place,
            period=period,
            presets=periods.PRESETS,
            touchpoint_choices=choices if places else [],
            chosen_touchpoint=chosen,
            status_key=status_key,
            status_choices={k: v[0] for k, v in STATUS_CHOICES.items()},
            mine=mine,
            items=items,
            colleagues=colleagues,
            stats=stats,
            median_text=median_time(stats.median_seconds),
            errors=errors,
            filters=filters,
            note_max=followups.NOTE_MAX_LENGTH,
        ),
        status,
    )


def _answer(row: dict[str, Any], labels: dict[tuple[str, str], str]) -> dict[str, Any]:
    question = row["question_id"]
    return {
        "question": labels.get((question, ""), question),
        "chip": answer_chip(row["kind"], row["scale"], row["value"]),
        "reasons": [labels.get((question, r), r) for r in json.loads(row["reasons"] or "[]")],
        "comment": row["comment"] or "",
    }


@bp.get("/locations/<location_id>/followups")
def index(location_id: str) -> Any:
    """What customers said that needs following up at one location, newest first."""
    return _render(location_id, {})


def _item(submission_id: str) -> tuple[User, dict[str, Any]]:
    """The signed-in user and a follow-up they may act on: 403 for another location's (a
    manager learns nothing of it), 404 for what needs no follow-up or does not exist."""
    user = require_user()
    conn = get_db()
    with conn.begin():
        item = followups.get(conn, submission_id)
    if item is None:
        abort(404 if user.is_admin else 403)
    require_location(item["location_id"])
    return user, item


def _back(item: dict[str, Any]) -> Response:
    args: dict[str, Any] = {**_filters(), "location_id": item["location_id"]}
    return redirect(url_for("followups.index", **args))


@bp.post("/followups/<submission_id>/handle")
def handle(submission_id: str) -> Any:
    """Mark a follow-up handled with a short note saying what was done."""
    user, item = _item(submission_id)
    try:
        note = single_line_name(request.form.get("note", ""), followups.NOTE_MAX_LENGTH)
    except BadNameError as exc:
        error = {submission_id: {"note": f"The note {exc}."}}
        return _render(item["location_id"], error, 400)
    conn = get_db()
    with conn.begin():
        done = followups.handle(conn, submission_id, item, note, user.id)
    flash("Marked handled." if done else "That was handled already.")
    return _back(item)


@bp.post("/followups/<submission_id>/assign")
def assign(submission_id: str) -> Any:
    """Give a follow-up to a colleague who may see its location."""
    user, item = _item(submission_id)
    assignee_id = request.form.get("assignee_id", "")
    conn = get_db()
    with conn.begin():
        colleagues = users.who_may_see(conn, item["location_id"])
        allowed = assignee_id in colleagues
        done = allowed and followups.assign(conn, submission_id, item, assignee_id, user.id)
    if not allowed:
        message = "Assign to: choose a colleague who can see this location."
        return _render(item["location_id"], {submission_id: {"assignee_id": message}}, 400)
    flash(f"Assigned to {colleagues[assignee_id]}." if done else "That was handled already.")
    return _back(item)
