"""GET /api/v1/openapi.json: the OpenAPI 3.1 document, built from the models the code validates
with (`shared.protocol`), so the document and the checks cannot drift apart."""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from server.api.bodies import MAX_INT, MAX_YEAR, MIN_YEAR, SKIP_INTS
from server.api.reports import ID_PATTERN, MAX_MIN_N
from server.kpi_report import GROUP_BY
from server.links import GRAINS, KPIS, SCORES
from shared import __version__
from shared.protocol import (
    ConfigResponse,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    GroupBy,
    HeartbeatRequest,
    HeartbeatResponse,
    KpiBatch,
    KpiReportResponse,
    KpiResponse,
    LinksResponse,
    ScoresResponse,
    SubmissionBatch,
    SubmissionsResponse,
)

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

REF = "#/components/schemas/{model}"

#: What `server.api.bodies` refuses beyond the models' own rules, stated in the schema too.
NO_NUL = "^[^\x00]*$"
TIMESTAMP_YEARS = f"^({MIN_YEAR // 100}[0-9]{{2}}|2[01][0-9]{{2}}|{MAX_YEAR}-)"


def _json(model: type) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": "error", "content": _json(ErrorBody)} for s in statuses}


def _op(
    summary: str, ok: tuple[int, type], body: type | None, auth: str | None, *errs: int
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {str(ok[0]): {"description": "ok", "content": _json(ok[1])}, **_errors(*errs)},
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(body)}
    if auth:
        op["security"] = [{auth: []}]
    return op


def _document_limits(node: Any, name: str | None = None) -> None:
    # Pydantic cannot express these body checks, so they are added to its schemas here.
    # `value` and `survey_version` get none: any integer is taken, and one out of range is
    # that submission's rejection (200), never the whole batch's 4xx.
    if isinstance(node, list):
        for item in node:
            _document_limits(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not {"enum", "const", "pattern"} & node.keys():
        node["pattern"] = TIMESTAMP_YEARS if node.get("format") == "date-time" else NO_NUL
    if node.get("type") == "integer" and name not in SKIP_INTS:
        node.setdefault("minimum", -MAX_INT)
        node.setdefault("maximum", MAX_INT)
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            for prop, schema in value.items():
                _document_limits(schema, prop)
        else:
            _document_limits(value)


def _query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document (built once per process)."""
    models: list[type[BaseModel]] = [
        EnrollRequest, EnrollResponse, ConfigResponse, SubmissionBatch, SubmissionsResponse,
        HeartbeatRequest, HeartbeatResponse, ScoresResponse, ErrorBody, KpiBatch, KpiResponse,
        KpiReportResponse, LinksResponse,
    ]  # fmt: skip
    _, schemas = models_json_schema(
        [(m, "serialization" if "Response" in m.__name__ else "validation") for m in models],
        ref_template=REF,
    )
    _document_limits(schemas)
    report_params = [
        _query("from", {"type": "string", "format": "date"}, True),
        _query("to", {"type": "string", "format": "date"}, True),
        _query("location_id", {"type": "array", "items": {"pattern": ID_PATTERN.pattern}}),
        _query("include_burst", {"type": "boolean", "default": False}),
        # `none`: answers taken at no touchpoint.
        _query("touchpoint_id", {"type": "array", "items": {"pattern": ID_PATTERN.pattern}}),
    ]
    scores = _op("Scores per group", (200, ScoresResponse), None, "apiKey", 400, 401, 403)
    scores["parameters"] = [
        *report_params,
        _query("group_by", {"enum": list(get_args(GroupBy))}),
        _query("min_n", {"type": "integer", "minimum": 0, "maximum": MAX_MIN_N}),
    ]
    kpi_report = _op("KPIs, response rate, coverage", (200, KpiReportResponse), None, "apiKey",
                     400, 401, 403)  # fmt: skip
    kpi_report["parameters"] = [*report_params, _query("group_by", {"enum": list(GROUP_BY)})]
    link_report = _op("Score against KPI", (200, LinksResponse), None, "apiKey", 400, 401, 403)
    link_report["parameters"] = [
        *report_params,
        _query("score", {"enum": list(SCORES)}, True),
        _query("kpi", {"enum": list(KPIS)}, True),
        _query("grain", {"enum": list(GRAINS)}),
    ]
    csv_op = {
        "summary": "One CSV row per answer",
        "security": [{"apiKey": []}],
        "parameters": report_params,
        "responses": {
            "200": {"description": "ok", "content": {"text/csv": {"schema": {"type": "string"}}}},
            **_errors(400, 401, 403),
        },
    }
    config = _op("The device's config", (200, ConfigResponse), None, "device", 401)
    config["responses"]["304"] = {"description": "unchanged since If-None-Match"}
    device_errors = (400, 401, 413, 422)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Smiletap", "version": __version__},
        "paths": {
            "/api/v1/enroll": {
                "post": _op(
                    "Enroll", (201, EnrollResponse), EnrollRequest, None, 400, 413, 422, 429
                )
            },
            "/api/v1/config": {"get": config},
            "/api/v1/submissions": {
                "post": _op(
                    "Upload", (200, SubmissionsResponse), SubmissionBatch, "device", *device_errors
                )
            },
            "/api/v1/heartbeat": {
                "post": _op(
                    "Heartbeat",
                    (200, HeartbeatResponse),
                    HeartbeatRequest,
                    "device",
                    *device_errors,
                )
            },
            "/api/v1/kpis": {
                "put": _op(
                    "Store daily KPIs", (200, KpiResponse), KpiBatch, "apiKey", 400, 401, 413, 422
                )
            },
            "/api/v1/reports/scores": {"get": scores},
            "/api/v1/reports/responses.csv": {"get": csv_op},
            "/api/v1/reports/kpis": {"get": kpi_report},
            "/api/v1/reports/links": {"get": link_report},
        },
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "device": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "http", "scheme": "bearer"},
            },
        },
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document."""
    return jsonify(document())
