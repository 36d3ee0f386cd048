"""The device API: enroll, config, submissions, heartbeat (PROTOCOL.md)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, make_response, request
from pydantic import TypeAdapter

from server import device_config
from server.api.bodies import parse_body
from server.auth import require_device
from server.db import get_db
from server.errors import ApiError
from server.ingest import ingest_batch
from server.store import devices, enroll_limits
from shared.clock import measured_skew, to_rfc3339, utcnow
from shared.protocol import EnrollRequest, HeartbeatRequest, SubmissionBatch, SubmissionResult

bp = Blueprint("device", __name__, url_prefix="/api/v1")

#: Dumps a batch's results in one call instead of one per result.
_RESULTS = TypeAdapter(list[SubmissionResult])


@bp.post("/enroll")
def enroll() -> tuple[Response, int]:
    """Trade a one-time code for a device token."""
    body = parse_body(EnrollRequest)
    cfg = current_app.config
    address = request.remote_addr or "unknown"
    conn = get_db()
    with conn.begin():
        limited = enroll_limits.is_limited(
            conn,
            address,
            int(cfg["ENROLL_FAILS_PER_ADDRESS"]),
            int(cfg["ENROLL_FAILS_GLOBAL"]),
            float(cfg["ENROLL_FAIL_WINDOW_S"]),
        )
        redeemed = None
        if not limited:
            redeemed = devices.redeem_code(conn, body.code, body.device_info.model_dump())
            if redeemed is None:
                enroll_limits.record_failure(conn, address)
    if limited:
        raise ApiError("rate_limited", "too many failed enrollments; try again later")
    if redeemed is None:
        # One answer for unknown, used and expired codes, so a guesser learns nothing.
        raise ApiError("invalid_code", "this code is unknown, used or expired", "code")
    device_id, token = redeemed
    answer = {"device_id": device_id, "token": token, "server_time": to_rfc3339(utcnow())}
    return jsonify(answer), 201


@bp.get("/config")
def config() -> Response:
    """The device's config, or 304 when its ETag still matches."""
    device = require_device()
    conn = get_db()
    with conn.begin():
        devices.record_contact(conn, device["id"], None)
        body = device_config.build(conn, device, current_app.config)
    if request.if_none_match.contains(body["etag"]):
        response = make_response("", 304)
    else:
        response = jsonify(body)
    response.set_etag(body["etag"])
    return response


@bp.post("/submissions")
def submit() -> Response:
    """Store a batch of submissions; one result per item, committed before answering."""
    device = require_device()
    batch = parse_body(SubmissionBatch, batch_field="submissions")
    received_at = utcnow()
    conn = get_db()
    with conn.begin():
        results = ingest_batch(
            conn, device, batch, received_at, float(current_app.config["SKEW_THRESHOLD_S"])
        )
        devices.record_contact(conn, device["id"], measured_skew(batch.sent_at, received_at))
    return jsonify(
        {
            "server_time": to_rfc3339(utcnow()),
            "results": _RESULTS.dump_python(results, mode="json"),
        }
    )


@bp.post("/heartbeat")
def heartbeat() -> Response:
    """Record the kiosk's status; answer with the current config ETag."""
    device = require_device()
    body = parse_body(HeartbeatRequest)
    now = utcnow()
    status: dict[str, Any] = {
        "app_version": body.app_version,
        "backlog": body.backlog,
        "oldest_pending_at": body.oldest_pending_at,
        "rejected_count": body.rejected_count,
        "last_error": body.last_error,
        "config_etag": body.config_etag,
        "last_contact_at": now,
        "clock_skew_s": measured_skew(body.sent_at, now),
    }
    conn = get_db()
    with conn.begin():
        devices.record_heartbeat(conn, device["id"], status)
        etag = device_config.build(conn, device, current_app.config)["etag"]
    return jsonify({"server_time": to_rfc3339(utcnow()), "config_etag": etag})
