"""The reports API: scores per location, touchpoint, staff, day or weekday × hour, and a CSV
export; every report narrows to touchpoints with `touchpoint_id`."""

from __future__ import annotations

import re
from datetime import date

import orjson
from flask import Blueprint, Response, jsonify, request

from server import kpi_report, links, settings
from server.auth import require_api_key
from server.db import get_db, get_engine, reading
from server.errors import ApiError
from server.export import responses_csv_response
from server.json_response import json_response
from server.scores import groups_json
from server.store import no_collection, pending_rollups, rollups
from server.store.api_keys import ApiKey
from server.store.filters import Filters

bp = Blueprint("reports", __name__, url_prefix="/api/v1/reports")

ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
MAX_DAYS = 3700  # about ten years: bounds the work one request can ask for
MIN_N_PATTERN = re.compile(r"[0-9]{1,9}")
MAX_MIN_N = 999_999_999


@bp.after_request
def _no_store(response: Response) -> Response:
    # Every answer here is data read with a key: a proxy or a disk cache must not keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


def _date_arg(name: str) -> date:
    raw = request.args.get(name)
    if not raw:
        raise ApiError("invalid_query", f"{name} is required (YYYY-MM-DD)", name)
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError("invalid_query", f"{name} must be a date YYYY-MM-DD", name) from None


def _bool_arg(name: str, default: bool) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ApiError("invalid_query", f"{name} must be true or false", name)


def _min_n_arg() -> int:
    raw = request.args.get("min_n")
    if raw is None:
        return settings.current().min_n
    # ASCII digits only: str.isdigit() also admits '²', which int() refuses.
    if not MIN_N_PATTERN.fullmatch(raw):
        raise ApiError("invalid_query", "min_n must be a whole number >= 0", "min_n")
    return int(raw)


def _filters(key: ApiKey) -> Filters:
    day_from, day_to = _date_arg("from"), _date_arg("to")
    if day_to < day_from:
        raise ApiError("invalid_query", "to must not be before from", "to")
    if (day_to - day_from).days > MAX_DAYS:
        raise ApiError("invalid_query", "the range is too long", "to")
    include_burst = _bool_arg("include_burst", False)
    asked = request.args.getlist("location_id")
    if any(not ID_PATTERN.fullmatch(loc) for loc in asked):
        raise ApiError("invalid_query", "location_id must be a location id", "location_id")
    if any(not key.may_see(loc) for loc in asked):
        raise ApiError("forbidden", "this key may not see that location", "location_id")
    scope: list[str] | None = asked or None
    if scope is None and key.role != "admin":
        scope = sorted(key.location_ids)
    return Filters(day_from, day_to, scope, include_burst, _touchpoint_ids())


def _touchpoint_ids() -> list[str | None] | None:
    """The repeatable `touchpoint_id` filter; `none` asks for answers at no touchpoint.

    A touchpoint of a location the key may not see needs no check: the location scope
    already leaves its answers out.
    """
    asked = request.args.getlist("touchpoint_id")
    if any(not ID_PATTERN.fullmatch(tp) for tp in asked):
        raise ApiError("invalid_query", "touchpoint_id must be a touchpoint id", "touchpoint_id")
    return [None if tp == "none" else tp for tp in asked] or None


@bp.get("/scores")
def scores() -> Response:
    """Scores per group for store-local days from..to, read from the rollups only."""
    key = require_api_key()
    filters = _filters(key)
    group_by = request.args.get("group_by", "location")
    if group_by not in rollups.GROUP_COLUMNS:
        raise ApiError(
            "invalid_query",
            "group_by must be location, touchpoint, staff, day or weekday_hour",
            "group_by",
        )
    min_n = _min_n_arg()
    conn = pending_rollups.caught_up(get_db())
    # No collections while the counts are read and written (`no_collection`): a year by day
    # is ~300,000 texts without cycles, which full collections would walk again and again.
    with reading(conn), no_collection():  # reading: a report waits for no writer's lock
        counted = rollups.count_columns(conn, group_by, filters)
        # Thousands of groups (a year of 50 locations by day is ~3.5 MB): their JSON is
        # written from the score arrays, with no Python object per group (`groups_json`).
        groups = orjson.Fragment(groups_json(counted, group_by, min_n))
    return json_response(
        {
            "from": filters.day_from.isoformat(),
            "to": filters.day_to.isoformat(),
            "group_by": group_by,
            "min_n": min_n,
            "groups": groups,
        }
    )


@bp.get("/responses.csv")
def responses_csv() -> Response:
    """One CSV row per answer for the same filters, safe to open in a spreadsheet."""
    key = require_api_key()
    filters = _filters(key)
    return responses_csv_response(get_engine(), filters, "responses.csv")


def _choice(name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    raw = request.args.get(name, default)
    if raw not in choices:
        raise ApiError("invalid_query", f"{name} must be one of {', '.join(choices)}", name)
    return raw


@bp.get("/kpis")
def kpis() -> Response:
    """Answers, KPIs, response rate and coverage per day, ISO week or location."""
    key = require_api_key()
    filters = _filters(key)
    group_by = _choice("group_by", kpi_report.GROUP_BY, "location")
    conn = get_db()
    with reading(conn):  # reads only: no queue behind ingest for SQLite's write lock
        days = kpi_report.day_rows(conn, filters)
    return jsonify(
        {
            "from": filters.day_from.isoformat(),
            "to": filters.day_to.isoformat(),
            "group_by": group_by,
            "groups": kpi_report.build_groups(days, group_by),
        }
    )


@bp.get("/links")
def link_report() -> Response:
    """How a score moves with a KPI over days or weeks, each location compared with itself."""
    key = require_api_key()
    filters = _filters(key)
    score = _choice("score", links.SCORES)
    kpi = _choice("kpi", links.KPIS)
    grain = _choice("grain", links.GRAINS, "day")
    conn = pending_rollups.caught_up(get_db())
    # 18,000 points a year per day: their JSON written from arrays (`links.report_json`), with
    # no collection walking what the report makes (no cycles in it).
    with reading(conn), no_collection():
        points, link = links.report_json(conn, filters, score, kpi, grain)
    return json_response(  # orjson: a year per day is 18,000 points
        {
            "score": score,
            "kpi": kpi,
            "grain": grain,
            "n": link.n,
            "r": link.r,
            "ci95": None if link.ci95 is None else list(link.ci95),
            "verdict": link.verdict,
            "method": links.METHOD,
            "points": orjson.Fragment(points),
        }
    )
