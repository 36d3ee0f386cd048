"""The API client's error mapping, against a real server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk import api_client
from kiosk.api_client import (
    ApiClient,
    ApiError,
    InvalidCodeError,
    ProtocolError,
    ServerUnreachableError,
    UnauthorizedError,
)
from tests.kiosk.conftest import make_submission


def test_exception_hierarchy():
    assert issubclass(ServerUnreachableError, ApiError)
    assert issubclass(ProtocolError, ApiError)
    assert issubclass(UnauthorizedError, ProtocolError)
    assert issubclass(InvalidCodeError, ProtocolError)
    for name in (
        "ApiError",
        "ServerUnreachableError",
        "ProtocolError",
        "UnauthorizedError",
        "InvalidCodeError",
    ):
        assert name in api_client.__doc__


def test_bad_token_is_unauthorized(live_server):
    with (
        ApiClient(live_server.url, "not-a-token") as client,
        pytest.raises(UnauthorizedError) as exc,
    ):
        client.get_config()
    assert exc.value.status == 401
    assert exc.value.code == "unauthorized"


def test_invalid_code(live_server):
    with ApiClient(live_server.url) as client, pytest.raises(InvalidCodeError) as exc:
        client.enroll("NOPE-NOPE")
    assert exc.value.field == "code"


def test_oversized_batch_is_a_protocol_error_naming_the_field(live_server, tmp_path):
    ids = live_server.setup_location(tmp_path)
    with ApiClient(live_server.url) as client:
        token = client.enroll(ids["code"]).token
    batch = [make_submission(tapped_at=datetime.now(UTC)) for _ in range(501)]
    with ApiClient(live_server.url, token) as client, pytest.raises(ProtocolError) as exc:
        # The kiosk's own model refuses 501, so post the raw body to hear what the server says.
        response = client._request(
            "POST",
            "/submissions",
            json={
                "sent_at": "2026-01-01T00:00:00Z",
                "submissions": [s.model_dump(mode="json") for s in batch],
            },
        )
        client._raise_for(response)
    assert exc.value.status in (400, 413, 422)
    assert exc.value.field and "submissions" in exc.value.field


def test_unreachable():
    with (
        ApiClient("http://127.0.0.1:9", timeout=2) as client,
        pytest.raises(ServerUnreachableError),
    ):
        client.get_config()
