"""Enrollment against a real server over a real socket."""

from __future__ import annotations

import socket

import pytest

from kiosk.api_client import InvalidCodeError, ServerUnreachableError
from kiosk.enrollment import InsecureServerUrlError, check_transport, enroll, normalise_server_url
from kiosk.store import LocalStore


def test_enroll_stores_the_device_and_pulls_config(live_server, store: LocalStore, tmp_path):
    ids = live_server.setup_location(tmp_path)
    enrollment = enroll(store, live_server.url, ids["code"])
    assert enrollment.device_id == ids["device_id"]
    assert store.get_enrollment() == enrollment
    assert store.status() == "ok"
    config = store.get_config()
    assert config is not None and config.survey is not None
    assert config.survey.id == ids["survey_id"]
    assert config.location.id == ids["location_id"]


def test_a_code_works_once(live_server, store: LocalStore, tmp_path):
    ids = live_server.setup_location(tmp_path)
    enroll(store, live_server.url, ids["code"])
    with pytest.raises(InvalidCodeError):
        enroll(store, live_server.url, ids["code"])


def test_bad_code_is_invalid_code(live_server, store: LocalStore):
    with pytest.raises(InvalidCodeError):
        enroll(store, live_server.url, "NOPE-NOPE")
    assert store.get_enrollment() is None


def test_unreachable_server(store: LocalStore):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ServerUnreachableError):
        enroll(store, f"http://127.0.0.1:{port}", "ABCD-EFGH", timeout=2)
    assert store.get_enrollment() is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://host:8080/", "http://host:8080"),
        ("  host:8080 ", "https://host:8080"),
        ("smiletap.example.com/", "https://smiletap.example.com"),
        ("https://smiletap.example.com", "https://smiletap.example.com"),
    ],
)
def test_normalise_server_url(given: str, expected: str):
    assert normalise_server_url(given) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://smiletap.example.com",
        "http://127.0.0.1:8080",
        "http://127.3.2.1",
        "http://localhost:5000",
        "http://LOCALHOST",
        "http://[::1]:8080",
    ],
)
def test_https_or_loopback_http_is_accepted(url: str):
    check_transport(url, allow_http=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://smiletap.example.com",
        "http://192.168.1.10:8080",
        "http://localhost.example.com",
        "http://[fd00::2]",
        "ftp://smiletap.example.com",
    ],
)
def test_plain_http_elsewhere_is_refused_unless_allowed(url: str):
    with pytest.raises(InsecureServerUrlError, match="unencrypted"):
        check_transport(url, allow_http=False)
    check_transport(url, allow_http=True)


def test_enroll_refuses_plain_http_before_sending_anything(store: LocalStore):
    with pytest.raises(InsecureServerUrlError):  # an unroutable address: no time spent on it
        enroll(store, "http://192.0.2.1:9", "ABCD-EFGH", timeout=30)
    assert store.get_enrollment() is None
