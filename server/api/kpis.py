"""`PUT /api/v1/kpis`: a store system or a footfall counter pushes daily KPIs (PROTOCOL.md)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from server import kpis
from server.api.bodies import parse_body
from server.auth import require_api_key
from server.db import get_db
from server.errors import ApiError
from shared.protocol import KpiBatch

bp = Blueprint("kpis", __name__, url_prefix="/api/v1")


@bp.put("/kpis")
def put_kpis() -> Response:
    """Store the rows that change something; one result per row, in order."""
    key = require_api_key()
    batch = parse_body(KpiBatch)
    if len(batch.rows) > kpis.MAX_API_ROWS:
        raise ApiError("too_large", f"rows: at most {kpis.MAX_API_ROWS} per request", "rows")
    checked = [kpis.check_json_row(row) for row in batch.rows]
    conn = get_db()
    with conn.begin():
        summary = kpis.apply_rows(conn, checked, key.may_see, "api", key.id)
    results = [
        {
            "index": index,
            "status": outcome.status,
            "reason": outcome.reason,
            "field": None if outcome.field is None else f"rows[{index}].{outcome.field}",
            "message": outcome.message,
        }
        for index, outcome in enumerate(summary.outcomes)
    ]
    return jsonify({"results": results})
