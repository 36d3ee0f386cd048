"""The webhook SSRF guard, against real HTTP receivers on loopback (internal by definition):
refused unless allowed, no redirects, and one DNS answer used for the check and the connect;
and the signature a receiver checks."""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from server.webhooks import (
    AllowList,
    WebhookFailedError,
    WebhookRefusedError,
    is_internal,
    post_json,
    signature,
)
from tests.server.alerting import WebhookReceiver
from tests.serving import Serving

BODY = json.dumps({"alert": {"id": 1}}).encode()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.stop()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # the cloud metadata endpoint
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",  # AWS's IPv6 metadata endpoint
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_internal_addresses(address: str) -> None:
    assert is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert not is_internal(ipaddress.ip_address(address))


def test_loopback_is_refused_unless_allowed(receiver: WebhookReceiver) -> None:
    with pytest.raises(WebhookRefusedError, match=r"internal address 127\.0\.0\.1"):
        post_json(receiver.url, BODY, AllowList.parse(""), 5)
    localhost = receiver.url.replace("127.0.0.1", "localhost")
    with pytest.raises(WebhookRefusedError, match="SMILETAP_WEBHOOK_ALLOW"):
        post_json(localhost, BODY, AllowList.parse("hooks.example.com, 10.0.0.0/8"), 5)
    assert receiver.bodies == []  # nothing reached it
    assert post_json(receiver.url, BODY, AllowList.parse("127.0.0.1"), 5) == 204
    assert post_json(receiver.url, BODY, AllowList.parse(" 127.0.0.0/8 ,"), 5) == 204
    assert receiver.bodies == [{"alert": {"id": 1}}] * 2


def test_an_allowed_host_name_is_matched_by_name(receiver: WebhookReceiver) -> None:
    by_name = receiver.url.replace("127.0.0.1", "localhost")
    try:
        post_json(by_name, BODY, AllowList.parse("LOCALHOST."), 5)
    except OSError as exc:  # localhost may resolve to ::1 first, where nobody listens
        pytest.skip(f"localhost is not 127.0.0.1 here: {exc}")
    assert len(receiver.bodies) == 1


def test_only_http_and_https_urls(receiver: WebhookReceiver) -> None:
    for url in ("file:///etc/passwd", "gopher://127.0.0.1:70/x", "http:///nohost"):
        with pytest.raises(WebhookRefusedError, match="must be http"):
            post_json(url, BODY, AllowList.parse("127.0.0.1"), 5)


class _Redirector:
    """Answers every POST with 302 to `target`."""

    def __init__(self, target: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.serving = Serving(self.server)

    def stop(self) -> None:
        self.serving.stop()


def test_a_redirect_is_not_followed(receiver: WebhookReceiver) -> None:
    redirector = _Redirector(receiver.url)
    try:
        with pytest.raises(WebhookFailedError, match="302"):
            post_json(redirector.url, BODY, AllowList.parse("127.0.0.1"), 5)
    finally:
        redirector.stop()
    assert receiver.bodies == []


def test_the_checked_address_is_the_one_connected_to(
    receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers an allowed address for the check, then an internal one
    (here a black hole); the POST must still go to the checked address, from one lookup."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    answers = iter(["127.0.0.1", "10.255.255.1", "10.255.255.1"])
    lookups: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.rebind.test":
            return real(host, *args, **kwargs)
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://hooks.rebind.test:{port}/hook"
    assert post_json(url, BODY, AllowList.parse("127.0.0.1"), 2) == 204
    assert lookups == ["hooks.rebind.test"] and len(receiver.bodies) == 1


def _post_raw(url: str, body: bytes, signature: str) -> int:
    """A POST by hand (someone other than the server), with the given signature header."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request("POST", parts.path, body, {"X-Smiletap-Signature": signature})
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def test_a_signed_post_is_verified_and_a_tampered_or_stale_one_refused() -> None:
    """The receiver checks the signature with its own code (tests/server/alerting.py)."""
    receiver = WebhookReceiver(secret="s3cret")
    try:
        before = int(time.time())
        assert post_json(receiver.url, BODY, AllowList.parse("127.0.0.1"), 5, "s3cret") == 204
        assert receiver.bodies == [{"alert": {"id": 1}}] and receiver.refused == []
        (header,) = receiver.signatures
        assert header is not None and re.fullmatch(r"t=(\d+),v1=[0-9a-f]{64}", header)
        assert before <= int(header[2:].split(",")[0]) <= time.time()
        tampered = BODY.replace(b"1", b"2")
        assert _post_raw(receiver.url, tampered, header) == 401  # same header, other body
        stale = signature("s3cret", BODY, int(time.time()) - 301)
        assert _post_raw(receiver.url, BODY, stale) == 401  # replayed 5 minutes later
        wrong_key = signature("guess", BODY, int(time.time()))
        assert _post_raw(receiver.url, BODY, wrong_key) == 401
        assert receiver.refused == [tampered, BODY, BODY] and len(receiver.bodies) == 1
        # A wrong secret on the server's side is refused too: the key really is used.
        with pytest.raises(WebhookFailedError, match="401"):
            post_json(receiver.url, BODY, AllowList.parse("127.0.0.1"), 5, "other")
    finally:
        receiver.stop()


def test_without_a_secret_there_is_no_signature(receiver: WebhookReceiver) -> None:
    assert post_json(receiver.url, BODY, AllowList.parse("127.0.0.1"), 5) == 204
    assert receiver.signatures == [None]


def test_the_admin_guides_verification_example_works() -> None:
    """The Python example in docs/admin-guide.md, run as written, on a real signed POST."""
    guide = (Path(__file__).parents[2] / "docs" / "admin-guide.md").read_text()
    example = re.search(r"\*\*Signed webhooks\.\*\*.*?```python\n(.*?)```", guide, re.S)
    assert example is not None
    scope: dict[str, Any] = {}
    exec(example.group(1), scope)  # our own documentation, run as a reader would
    verify = scope["verify_signature"]
    receiver = WebhookReceiver()
    try:
        post_json(receiver.url, BODY, AllowList.parse("127.0.0.1"), 5, "s3cret")
        (header,) = receiver.signatures
    finally:
        receiver.stop()
    assert verify("s3cret", header, BODY, time.time())
    assert not verify("s3cret", header, BODY.replace(b"1", b"2"), time.time())
    assert not verify("s3cret", header, BODY, time.time() + 301)
    assert not verify("other", header, BODY, time.time())
