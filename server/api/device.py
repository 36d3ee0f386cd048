"""The device API: enroll, config, submissions, heartbeat (PROTOCOL.md)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Connection

from server import device_config, metrics
from server.api.bodies import parse_body
from server.auth import require_device
from server.db import get_db, read_once, reading
from server.errors import ApiError
from server.ingest import Decided, ItemResult, decide, store, wire_results
from server.json_response import json_response
from server.settings import current
from server.store import contacts, devices, enroll_limits, no_collection, pending_rollups
from shared.clock import measured_skew, to_rfc3339, utcnow
from shared.protocol import EnrollRequest, HeartbeatRequest, SubmissionBatch

bp = Blueprint("device", __name__, url_prefix="/api/v1")


@bp.post("/enroll")
def enroll() -> tuple[Response, int]:
    """Trade a one-time code for a device token."""
    body = parse_body(EnrollRequest)
    cfg = current()
    address = request.remote_addr or "unknown"
    conn = get_db()
    with conn.begin():
        limited = enroll_limits.is_limited(
            conn,
            address,
            cfg.enroll_fails_per_address,
            cfg.enroll_fails_global,
            cfg.enroll_fail_window_s,
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
    """The device's config, or 304 when its ETag still matches.

    An unchanged config costs one read, the token look-up, which also reads the location's
    config stamp the ETag comes from; the last contact is written at most once per
    CONTACT_WRITE_INTERVAL_S.
    """
    device = require_device()
    settings = current()
    _note_contact(device)
    etag = device_config.current_etag(device, settings)
    if request.if_none_match.contains(etag):
        # What `make_response("", 304)` makes, without its dispatch on the value's type.
        response = current_app.response_class("", status=304)
    else:
        conn = get_db()
        with reading(conn):
            body = device_config.build(conn, device, settings)
        # Built from what is stored now, which may be newer than the stamp read above.
        etag = body["etag"]
        response = jsonify(body)
    response.set_etag(etag)
    return response


def _note_contact(device: dict[str, Any]) -> None:
    now = utcnow()
    interval_s = current().contact_write_interval_s
    if devices.contact_due(device, now, interval_s):
        conn = get_db()
        with conn.begin():
            devices.record_contact(conn, device["id"], None, now)
            contacts.mark(conn, device, now, interval_s)


@bp.post("/submissions")
@no_collection()  # a 500-tap batch makes tens of thousands of objects, none in a cycle
def submit() -> Response:
    """Store a batch of submissions; one result per item, committed before answering.

    The batch is judged first by reads outside any transaction: on SQLite uploads then queue
    for the one write lock only while they insert; on PostgreSQL a batch of a few new taps is
    then stored by one statement, also outside a transaction (`Decided.stored_alone`): three
    round trips with the token look-up, where BEGIN and COMMIT made six. The last contact and
    skew are written like a config check's: when the contact is due or the skew moved
    (`devices.skew_is_news`), not on every upload.
    """
    device = require_device()
    batch = parse_body(SubmissionBatch, batch_field="submissions")
    received_at = utcnow()
    settings = current()
    skew = measured_skew(batch.sent_at, received_at)
    interval_s = settings.contact_write_interval_s
    contact = devices.contact_due(device, received_at, interval_s) or devices.skew_is_news(
        device, skew
    )
    conn = get_db()
    # The judging's reads need no common snapshot: an id stored by another request after
    # `decide` read it is found when storing (`submissions.insert_many`), and a read
    # transaction would end before the write one began anyway.
    with read_once(conn):
        decided = decide(conn, device, batch, received_at, settings.skew_threshold_s)
    if conn.dialect.name == "sqlite":
        alone = decided.writes_nothing
    else:
        # One statement, atomic by itself, run alone: no BEGIN and COMMIT round trips.
        alone = decided.stored_alone(settings.rollup_inline_from)
    with contextlib.nullcontext() if alone and not contact else conn.begin():
        results = _store(conn, device, decided, skew if contact else None, received_at)
    metrics.count_submissions(results)
    # Committed: fold now if this process has left `ROLLUP_FOLD_EVERY` taps pending since it
    # last did (`pending_rollups.accepted`), so pending rows stay few even when nobody reads.
    fresh = sum(1 for result in results if result.status == "accepted")
    if fresh < settings.rollup_inline_from:  # a bigger batch counted its own (`ingest.store`)
        pending_rollups.accepted(conn, fresh, settings.rollup_fold_every)
    return json_response(
        {
            "server_time": to_rfc3339(utcnow()),
            "results": wire_results(results),  # SubmissionResult's form
        }
    )


def _store(
    conn: Connection,
    device: dict[str, Any],
    decided: Decided,
    contact_skew: float | None,
    received_at: datetime,
) -> list[ItemResult]:
    """Store the batch, and the contact with its skew when one is given (due or news)."""
    results = store(conn, decided, current().rollup_inline_from)
    if contact_skew is not None:
        devices.record_contact(conn, device["id"], contact_skew, received_at)
        contacts.mark(conn, device, received_at, current().contact_write_interval_s)
    return results


@bp.post("/heartbeat")
def heartbeat() -> Response:
    """Record the kiosk's status; answer with the current config ETag.

    A status equal to the stored one is written only when the last contact is due (see
    `config`), so a steady kiosk's heartbeat is a read.
    """
    device = require_device()
    body = parse_body(HeartbeatRequest)
    settings = current()
    now = utcnow()
    status: dict[str, Any] = {
        "app_version": body.app_version,
        "backlog": body.backlog,
        "oldest_pending_at": body.oldest_pending_at,
        "rejected_count": body.rejected_count,
        "last_error": body.last_error,
        "config_etag": body.config_etag,
        "clock_skew_s": measured_skew(body.sent_at, now),
        "it_pin_failures": body.it_pin_failures,
    }
    interval_s = settings.contact_write_interval_s
    if devices.heartbeat_is_news(device, status) or devices.contact_due(device, now, interval_s):
        conn = get_db()
        with conn.begin():
            devices.record_heartbeat(conn, device["id"], status, now)
            contacts.mark(conn, device, now, interval_s)
    etag = device_config.current_etag(device, settings)
    return json_response({"server_time": to_rfc3339(utcnow()), "config_etag": etag})
