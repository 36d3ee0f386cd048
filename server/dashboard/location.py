"""One location: scores, its touchpoints side by side, trend, weekday × hour heatmap,
distribution, staff, reasons, export; every part narrowed to one touchpoint on request."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Response, abort, jsonify, render_template, request

from server import links, settings, survey_labels
from server.dashboard import business
from server.dashboard import period as periods
from server.dashboard.access import make_blueprint, require_location
from server.dashboard.present import (
    LABELS,
    METRICS,
    UNITS,
    answer_chip,
    headline,
    kinds_present,
    median_time,
    metric,
    metrics,
)
from server.db import get_db, get_engine
from server.export import responses_csv_response
from server.scores import build_groups
from server.store import (
    followups,
    locations,
    pending_rollups,
    rollups,
    staff,
    submissions,
    touchpoints,
)

bp = make_blueprint("location", __name__, "/dashboard/locations")

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HEAT_MIN_N = 3  # fewer answers in a cell: shown as "few", not coloured


def scoped_location(location_id: str) -> dict[str, Any]:
    require_location(location_id)  # before the lookup: a manager learns nothing of others
    conn = get_db()
    with conn.begin():
        found = locations.get(conn, location_id)
    if found is None:
        abort(404)
    return found


NO_TOUCHPOINT = "none"  # the selector's value for answers taken at no touchpoint


def touchpoint_places(location_id: str) -> list[dict[str, Any]]:
    conn = get_db()
    with conn.begin():
        return touchpoints.of_location(conn, location_id)


def narrowed_touchpoint(places: list[dict[str, Any]]) -> tuple[str | None, list[str | None] | None]:
    """The chosen touchpoint (`?touchpoint=`: an id of this location, or `none`) and the
    filter it makes; anything else shows the whole location."""
    chosen = request.args.get("touchpoint")
    if chosen == NO_TOUCHPOINT:
        return chosen, [None]
    if chosen and any(p["id"] == chosen for p in places):
        return chosen, [chosen]
    return None, None


def _touchpoint_rows(
    groups: list[dict[str, Any]], places: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per touchpoint (those with answers, and the unarchived ones without)."""
    by_id = {g["key"]["touchpoint_id"]: g for g in groups}
    rows = []
    for place in places:
        group = by_id.pop(place["id"], None)
        if group is None and place["archived"]:
            continue
        rows.append(_touchpoint_row(place["id"], place["name"], place, group))
    if None in by_id:
        rows.append(_touchpoint_row(NO_TOUCHPOINT, "At no touchpoint", None, by_id[None]))
    return rows


def _touchpoint_row(
    value: str, name: str, place: dict[str, Any] | None, group: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "value": value,
        "name": name,
        "kind": touchpoints.KIND_LABELS.get((place or {}).get("kind") or "", ""),
        "archived": bool(place and place["archived"]),
        "n": group["n"] if group else 0,
        "ranked": bool(group and group["ranked"]),
        "metrics": metrics(group or {}),
    }


def reason_labels(survey_id: str | None) -> dict[tuple[str, str], str]:
    """(question id, reason id) → reason text, and (question id, '') → question text."""
    conn = get_db()
    with conn.begin():
        return survey_labels.labels(conn, survey_id)


def _heatmap(groups: list[dict[str, Any]]) -> dict[str, Any]:
    kind = headline(groups)
    cells = {(g["key"]["weekday"], g["key"]["hour"]): g for g in groups}
    hours = sorted({h for _, h in cells}) or [9, 17]
    rows = []
    for weekday in range(1, 8):
        row = []
        for hour in range(hours[0], hours[-1] + 1):
            group = cells.get((weekday, hour))
            found = metric(group, kind) if group and kind else None
            n = found.n if found else 0
            level = min(4, int(found.fraction * 5)) if found and n >= HEAT_MIN_N else None
            row.append({"hour": hour, "n": n, "metric": found, "level": level})
        rows.append({"weekday": WEEKDAYS[weekday - 1], "cells": row})
    return {"kind": kind, "hours": list(range(hours[0], hours[-1] + 1)), "rows": rows}


def _staff_rows(groups: list[dict[str, Any]], names: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for group in groups:
        staff_id = group["key"]["staff_id"]
        person = names.get(staff_id or "", {})
        rows.append(
            {
                "name": person.get("name") or staff_id or "No staff named",
                "active": person.get("active", True),
                "n": group["n"],
                "ranked": group["ranked"],
                "metrics": metrics(group),
            }
        )
    rows.sort(key=lambda r: (not r["ranked"], r["name"].lower()))
    return rows


@bp.get("/<location_id>")
def page(location_id: str) -> str:
    """Everything about one location for the chosen period (and touchpoint)."""
    place = scoped_location(location_id)
    period = periods.from_request([place["timezone"]])
    places = touchpoint_places(location_id)
    chosen, narrow = narrowed_touchpoint(places)
    min_n = settings.current().min_n
    everywhere, wanted = period.filters([location_id]), period.filters([location_id], narrow)
    conn = pending_rollups.caught_up(get_db())
    with conn.begin():
        by_touchpoint = build_groups(
            rollups.counts(conn, "touchpoint", everywhere), "touchpoint", min_n
        )
        totals = build_groups(rollups.counts(conn, "location", wanted), "location", min_n)
        by_staff = build_groups(rollups.counts(conn, "staff", wanted), "staff", min_n)
        heat = build_groups(rollups.counts(conn, "weekday_hour", wanted), "weekday_hour", min_n)
        names = staff.names(conn, location_id)
        burst = rollups.burst_answers(conn, location_id, period.day_from, period.day_to, narrow)
        reasons, reasons_read = submissions.top_reasons(
            conn, location_id, period.day_from, period.day_to, touchpoint_ids=narrow
        )
        comments = submissions.latest_comments(
            conn, location_id, period.day_from, period.day_to, narrow
        )
        followed = followups.followup_stats(conn, [location_id], period.day_from, period.day_to)
        chosen_score = business.choice("score", METRICS, headline(totals) or "nps")
        chosen_kpi = business.choice("kpi", links.KPIS, "conversion")
        panel = business.location_panel(conn, location_id, period, narrow, chosen_score, chosen_kpi)
    total = totals[0] if totals else {"n": 0, "ranked": False}
    labels = reason_labels(place["survey_id"])
    for comment in comments:
        comment["chip"] = answer_chip(comment["kind"], comment["scale"], comment["value"])
    compared = _touchpoint_rows(by_touchpoint, places)
    link_args = {**period.args, **({"touchpoint": chosen} if chosen else {})}
    panel_args = {**link_args, "score": chosen_score, "kpi": chosen_kpi}
    return render_template(
        "dashboard/location.html",
        place=place,
        period=period,
        presets=periods.PRESETS,
        link_args=link_args,
        touchpoint_choices=[(row["value"], row["name"]) for row in compared],
        chosen_touchpoint=chosen,
        touchpoints=compared,
        total=total,
        scores=metrics(total),
        heatmap=_heatmap(heat),
        staff=_staff_rows(by_staff, names),
        reasons=[(labels.get((q, r), r), labels.get((q, ""), q), n) for q, r, n in reasons],
        reasons_read=reasons_read,
        comments=comments,
        followed=followed,
        followed_median=median_time(followed.median_seconds),
        burst=burst,
        min_n=min_n,
        labels=kinds_present([*totals, *by_touchpoint]),
        panel=panel,
        panel_args=panel_args,
        score_choices=kinds_present(totals) or {chosen_score: LABELS[chosen_score]},
        kpi_choices=business.KPI_LABELS,
        currency=settings.current().currency,
    )


def _trend(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """Each kind's daily series from the first to the last day with answers (not the whole
    period: a week of data in a 90-day period would sit squeezed at the right edge)."""
    by_day = {g["key"]["date"]: g for g in groups}
    if not by_day:
        return {"labels": [], "series": {}}
    first, last = date.fromisoformat(min(by_day)), date.fromisoformat(max(by_day))
    labels = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    series: dict[str, dict[str, Any]] = {}
    for name in METRICS:
        points = [metric(by_day[d], name) if d in by_day else None for d in labels]
        if any(points):
            series[name] = {
                "label": LABELS[name],
                "unit": UNITS[name],
                "value": [p.value if p else None for p in points],
                "lo": [p.lo if p else None for p in points],
                "hi": [p.hi if p else None for p in points],
                "n": [p.n if p else 0 for p in points],
            }
    return {"labels": labels, "series": series}


def _distribution(rows: list[dict[str, Any]]) -> dict[str, Any]:
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = f"{row['kind']}-{row['scale']}"
        entry = found.setdefault(key, {"kind": row["kind"], "scale": row["scale"], "counts": {}})
        entry["counts"][row["value"]] = entry["counts"].get(row["value"], 0) + int(row["n"])
    out = {}
    for key, entry in sorted(found.items()):
        low = 0 if entry["kind"] == "nps" else 1
        high = 10 if entry["kind"] == "nps" else entry["scale"]
        values = list(range(low, high + 1))
        out[key] = {
            "title": f"{LABELS[entry['kind']].rstrip(' +')} (1..{high})"
            if low == 1
            else "NPS (0..10)",
            "labels": [str(v) for v in values],
            "counts": [entry["counts"].get(v, 0) for v in values],
        }
    return out


@bp.get("/<location_id>/chart.json")
def chart_data(location_id: str) -> Response:
    """The trend per store-local day with its intervals, and the answer distribution."""
    place = scoped_location(location_id)
    period = periods.from_request([place["timezone"]])
    _, narrow = narrowed_touchpoint(touchpoint_places(location_id))
    min_n = settings.current().min_n
    wanted = period.filters([location_id], narrow)
    conn = pending_rollups.caught_up(get_db())
    with conn.begin():
        days = build_groups(rollups.counts(conn, "day", wanted), "day", min_n)
        values = rollups.counts(conn, "location", wanted)
    return jsonify({"trend": _trend(days), "distribution": _distribution(values)})


@bp.get("/<location_id>/business.json")
def business_data(location_id: str) -> Response:
    """The business panel's charts: response rate and coverage, the score beside a KPI, and
    the score-KPI points with the link's verdict, per day (per ISO week past 92 days)."""
    place = scoped_location(location_id)
    period = periods.from_request([place["timezone"]])
    _, narrow = narrowed_touchpoint(touchpoint_places(location_id))
    score = business.choice("score", METRICS, "nps")
    kpi = business.choice("kpi", links.KPIS, "conversion")
    conn = pending_rollups.caught_up(get_db())
    with conn.begin():
        panel = business.location_panel(conn, location_id, period, narrow, score, kpi)
    panel.pop("total")
    return jsonify(panel)


@bp.get("/<location_id>/responses.csv")
def export(location_id: str) -> Response:
    """One CSV row per answer for the period (burst taps left out)."""
    place = scoped_location(location_id)
    period = periods.from_request([place["timezone"]])
    _, narrow = narrowed_touchpoint(touchpoint_places(location_id))
    filename = f"responses-{location_id}-{period.day_from}-{period.day_to}.csv"
    return responses_csv_response(get_engine(), period.filters([location_id], narrow), filename)
