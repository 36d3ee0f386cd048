"""GET /healthz and GET /readyz for load balancers and systemd (PROTOCOL.md, "Operations").

/healthz says the process serves and touches nothing else, so a database outage never makes
a supervisor restart healthy workers. /readyz says whether this process can do its work now:
the database answers and its schema is the one this code was written for.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from server import migrations
from server.db import get_db, reading

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """200 while the process serves (no database touched)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when the database answers at the newest schema, else 503 naming why."""
    head = migrations.head_revision()
    try:
        conn = get_db()
        with reading(conn):
            current = migrations.revision_of(conn)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        return _not_ready(f"database unreachable: {type(cause).__name__}")
    if current != head:
        return _not_ready(f"schema at {current or 'none'}, this code needs {head}: run migrate")
    answer = {"status": "ready", "database": conn.dialect.name, "schema": current}
    return jsonify(answer), 200


def _not_ready(reason: str) -> tuple[Response, int]:
    response = jsonify({"status": "not_ready", "reason": reason})
    response.headers["Retry-After"] = "5"
    response.headers["Cache-Control"] = "no-store"
    return response, 503
