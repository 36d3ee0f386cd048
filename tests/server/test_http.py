"""The app over a real socket (werkzeug's server in a thread, requests as the client)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from tests.server.conftest import Smiletap
from tests.serving import Serving


@pytest.fixture
def base_url(app) -> Iterator[str]:
    """The app served on a free port for the duration of the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = Serving(server)
    yield f"http://127.0.0.1:{server.server_port}"
    serving.stop()


def test_enroll_config_submit_over_http(smiletap: Smiletap, base_url: str) -> None:
    kiosk = smiletap.setup()
    code = smiletap.device(kiosk.location_id, "Second")["code"]
    with requests.Session() as http:
        enrolled = http.post(f"{base_url}/api/v1/enroll", json={"code": code}, timeout=10)
        assert enrolled.status_code == 201
        headers = {"Authorization": f"Bearer {enrolled.json()['token']}"}
        config = http.get(f"{base_url}/api/v1/config", headers=headers, timeout=10)
        assert config.status_code == 200 and config.json()["device"]["name"] == "Second"
        cached = http.get(
            f"{base_url}/api/v1/config",
            headers={**headers, "If-None-Match": config.headers["ETag"]},
            timeout=10,
        )
        assert cached.status_code == 304
        item = kiosk.item()
        body = {"sent_at": item["tapped_at"], "submissions": [item]}
        sent = http.post(f"{base_url}/api/v1/submissions", json=body, headers=headers, timeout=10)
        assert sent.json()["results"][0]["status"] == "accepted"
        bad = http.post(
            f"{base_url}/api/v1/submissions", data=b"\x00garbage", headers=headers, timeout=10
        )
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "malformed_json"
