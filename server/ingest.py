"""Ingest of a submission batch: one decision per item, all in the caller's transaction.

An id already stored with the same content is `duplicate`; with other content it is rejected
as `id_conflict` (the stored one stands, both are kept in id_conflicts). Otherwise the item is
checked against its survey version, location and staff, then stored with its answers and
counted in the rollups.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from server.store import locations, rollups, staff, submissions, surveys
from shared.clock import corrected_tap_time, local_parts, measured_skew, to_rfc3339
from shared.protocol import Submission, SubmissionBatch, SubmissionResult
from shared.survey import Survey

MAX_DB_INT = 2**31 - 1


class Rejection(Exception):
    """Why one submission cannot be stored, and the field at fault."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def canonical_payload(item: Submission) -> str:
    """The submission as canonical JSON: sorted keys, UTC tap time."""
    data = item.model_dump(mode="json", exclude={"age_s"})  # transport detail, not content
    data["tapped_at"] = to_rfc3339(item.tapped_at)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(payload: str) -> str:
    """SHA-256 of the canonical payload."""
    return hashlib.sha256(payload.encode()).hexdigest()


class _Surveys:
    """Survey versions looked up once per batch."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.cache: dict[tuple[str, int], Survey | None] = {}

    def get(self, survey_id: str, version: int) -> Survey | None:
        key = (survey_id, version)
        if key not in self.cache:
            self.cache[key] = surveys.get_version(self.conn, survey_id, version)
        return self.cache[key]


def _check(
    conn: Connection, device: dict[str, Any], item: Submission, at: str, cache: _Surveys
) -> Survey:
    if item.location_id != device["location_id"]:
        raise Rejection("location_mismatch", f"{at}.location_id")
    survey = None
    if 1 <= item.survey_version <= MAX_DB_INT:
        survey = cache.get(item.survey_id, item.survey_version)
    if survey is None:
        raise Rejection("unknown_survey_version", f"{at}.survey_version")
    if item.staff_id is not None and not staff.exists_at(conn, item.location_id, item.staff_id):
        raise Rejection("unknown_staff", f"{at}.staff_id")
    seen: set[str] = set()
    for j, answer in enumerate(item.answers):
        where = f"{at}.answers[{j}]"
        question = survey.question(answer.question_id)
        if question is None:
            raise Rejection("unknown_question", f"{where}.question_id")
        if answer.question_id in seen:
            raise Rejection("duplicate_question", f"{where}.question_id")
        seen.add(answer.question_id)
        if answer.value not in question.values:
            raise Rejection("value_out_of_range", f"{where}.value")
        allowed = question.reason_ids()
        for k, reason in enumerate(answer.reasons):
            if reason not in allowed:
                raise Rejection("unknown_reason", f"{where}.reasons[{k}]")
    return survey


def _rows(
    device: dict[str, Any], item: Submission, survey: Survey, timing: dict[str, Any], payload: str
) -> tuple[dict[str, Any], list[dict[str, Any]], list[rollups.RollupKey]]:
    parts = local_parts(timing["effective_at"], timing["timezone"])
    burst = "burst" in item.flags
    row = {
        "id": item.id,
        "device_id": device["id"],
        "location_id": item.location_id,
        "survey_id": item.survey_id,
        "survey_version": item.survey_version,
        "staff_id": item.staff_id,
        "language": item.language,
        "tapped_at": item.tapped_at,
        "received_at": timing["received_at"],
        "skew_s": timing["skew_s"],
        "effective_at": timing["effective_at"],
        "local_date": parts.date,
        "weekday": parts.weekday,
        "hour": parts.hour,
        "burst": burst,
        "content_hash": content_hash(payload),
        "payload": payload,
    }
    answer_rows, keys = [], []
    for answer in item.answers:
        question = survey.question(answer.question_id)
        assert question is not None  # _check made sure
        answer_rows.append(
            {
                "submission_id": item.id,
                "question_id": answer.question_id,
                "kind": question.kind,
                "scale": question.scale,
                "value": answer.value,
                "reasons": json.dumps(answer.reasons),
                "comment": answer.comment,
            }
        )
        keys.append(
            (item.location_id, item.staff_id or "", item.survey_id, item.survey_version,
             answer.question_id, question.kind, question.scale, parts.date, parts.weekday,
             parts.hour, burst, answer.value)
        )  # fmt: skip
    return row, answer_rows, keys


def _known(
    conn: Connection, device: dict[str, Any], item: Submission, payload: str, at: str
) -> SubmissionResult | None:
    stored = submissions.find(conn, item.id)
    if stored is None:
        return None
    if stored["content_hash"] == content_hash(payload):
        return SubmissionResult(id=item.id, status="duplicate")
    submissions.record_conflict(conn, device["id"], item.id, stored["payload"], payload)
    return SubmissionResult(id=item.id, status="rejected", reason="id_conflict", field=f"{at}.id")


def ingest_batch(
    conn: Connection,
    device: dict[str, Any],
    batch: SubmissionBatch,
    received_at: datetime,
    skew_threshold_s: float,
) -> list[SubmissionResult]:
    """Decide and store every submission of the batch; one result each, in request order."""
    skew = measured_skew(batch.sent_at, received_at)
    cache = _Surveys(conn)
    location = locations.get(conn, device["location_id"])
    assert location is not None  # a device's location is a foreign key
    results: dict[int, SubmissionResult] = {}
    counted: list[rollups.RollupKey] = []
    # Rows are locked in one global order (submissions by id, then rollups by key) so that
    # concurrent batches on PostgreSQL wait for each other instead of deadlocking.
    order = sorted(range(len(batch.submissions)), key=lambda i: batch.submissions[i].id)
    for i in order:
        item = batch.submissions[i]
        at = f"submissions[{i}]"
        payload = canonical_payload(item)
        known = _known(conn, device, item, payload, at)
        if known is not None:
            results[i] = known
            continue
        try:
            survey = _check(conn, device, item, at, cache)
        except Rejection as rejection:
            results[i] = SubmissionResult(
                id=item.id, status="rejected", reason=rejection.reason, field=rejection.field
            )
            continue
        tap_skew, effective_at = corrected_tap_time(
            item.tapped_at, received_at, skew, item.age_s, skew_threshold_s
        )
        timing = {
            "received_at": received_at,
            "skew_s": tap_skew,
            "effective_at": effective_at,
            "timezone": location["timezone"],
        }
        row, answer_rows, keys = _rows(device, item, survey, timing, payload)
        if submissions.insert(conn, row, answer_rows):
            counted.extend(keys)
            results[i] = SubmissionResult(id=item.id, status="accepted")
        else:
            # Another request stored this id between our look-up and our insert.
            results[i] = _known(conn, device, item, payload, at) or SubmissionResult(
                id=item.id, status="duplicate"
            )
    rollups.add(conn, counted)
    return [results[i] for i in range(len(batch.submissions))]
