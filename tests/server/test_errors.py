"""Bad input at every endpoint: always PROTOCOL.md's error shape, never a 5xx."""

from __future__ import annotations

import json

import pytest

from server.errors import PROBLEMS, ApiError, json_path
from tests.server.conftest import Smiletap, assert_error

DEVICE_POSTS = ["/api/v1/submissions", "/api/v1/heartbeat"]


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"not json", 400, "malformed_json"),
        (b"", 400, "malformed_json"),
        (b"[1, 2]", 400, "malformed_json"),
        (b'"text"', 400, "malformed_json"),
        (b"\xff\xfe\x00{", 400, "malformed_json"),
        (b"[" * 5000 + b"]" * 5000, 400, "malformed_json"),
        (b'{"sent_at": 5}', 422, "invalid_request"),
        (b'{"sent_at": "\\ud800"}', 400, "malformed_json"),
    ],
)
@pytest.mark.parametrize("path", DEVICE_POSTS)
def test_bad_bodies(smiletap: Smiletap, path, raw, status, code) -> None:
    kiosk = smiletap.setup()
    response = kiosk.post(path, data=raw, content_type="application/json")
    assert_error(response, status, code)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "code"),
        ({"code": 12345}, "code"),
        ({"code": "A" * 65}, "code"),
        ({"code": "ABCDE", "device_info": {"hostname": 7}}, "device_info.hostname"),
    ],
)
def test_enroll_bad_fields(client, body, field) -> None:
    assert_error(client.post("/api/v1/enroll", json=body), 422, "invalid_request", field)


def test_enroll_not_json(client) -> None:
    response = client.post("/api/v1/enroll", data="code=ABC")
    assert_error(response, 400, "malformed_json", None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"answers": [{"question_id": "q1", "value": "5"}]}, "submissions[0].answers[0].value"),
        ({"answers": [{"question_id": "q1"}]}, "submissions[0].answers[0].value"),
        ({"answers": []}, "submissions[0].answers"),
        ({"tapped_at": "2026-11-23T10:00:00"}, "submissions[0].tapped_at"),
        ({"tapped_at": "0001-01-01T00:00:00+01:00"}, "submissions[0].tapped_at"),
        ({"flags": ["sparkle"]}, "submissions[0].flags[0]"),
        ({"survey_version": "1"}, "submissions[0].survey_version"),
        ({"id": None}, "submissions[0].id"),
        ({"language": "e\x00n"}, "submissions[0].language"),
        (
            {"answers": [{"question_id": "q1", "value": 1, "comment": "a\x00"}]},
            "submissions[0].answers[0].comment",
        ),
    ],
)
def test_submission_bad_fields(smiletap: Smiletap, change, field) -> None:
    kiosk = smiletap.setup()
    response = kiosk.submit([kiosk.item(**change)])
    assert_error(response, 422, "invalid_request", field)


def test_submissions_missing_list(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    response = kiosk.post("/api/v1/submissions", json={"sent_at": "2026-11-23T10:00:00Z"})
    assert_error(response, 422, "invalid_request", "submissions")


def test_too_large_body(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    raw = json.dumps({"sent_at": "x", "pad": "x" * (5 * 1024 * 1024)})
    response = kiosk.post("/api/v1/submissions", data=raw, content_type="application/json")
    assert_error(response, 413, "too_large")


def test_unknown_token_before_body(client) -> None:
    response = client.post(
        "/api/v1/submissions", data=b"junk", headers={"Authorization": "Bearer x"}
    )
    assert_error(response, 401, "unauthorized")


def test_404_and_405_in_json_shape(client) -> None:
    assert_error(client.get("/api/v1/nothing"), 404, "not_found", None)
    assert_error(client.get("/api/v1/enroll"), 405, "method_not_allowed", None)


def test_registry_and_paths() -> None:
    assert all(400 <= status < 500 for code, status in PROBLEMS.items() if code != "unavailable")
    assert PROBLEMS["unavailable"] == 503  # the database is down: come back later
    with pytest.raises(KeyError):
        ApiError("no_such_code", "x")
    assert json_path(("submissions", 3, "answers", 0, "value")) == "submissions[3].answers[0].value"
    assert json_path(()) is None
