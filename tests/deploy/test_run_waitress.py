"""`smiletap-server run` (waitress) over real sockets: X-Forwarded-For from the trusted proxy
only, and a body announced too large refused at once from its Content-Length."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import ServerProcess

pytestmark = pytest.mark.e2e

SIX_MIB = 6 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """waitress trusting the proxy at 127.0.0.1; one failed enrollment limits an address."""
    server = ServerProcess(Path(tmp_path_factory.mktemp("run")))
    server.env.update(SMILETAP_TRUSTED_PROXY="127.0.0.1", SMILETAP_ENROLL_FAILS_PER_ADDRESS="1")
    server.start()
    yield server
    server.stop()


def _enroll(server: ServerProcess, source: str, forwarded_for: str | None) -> int:
    """A failing enrollment sent from the loopback address `source`; the status."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", server.port, timeout=30, source_address=(source, 0)
    )
    headers = {"Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    try:
        connection.request("POST", "/api/v1/enroll", json.dumps({"code": "XXXXX-XXXXX"}), headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_trusted_proxy_names_each_client(server: ServerProcess) -> None:
    # Through the proxy (127.0.0.1) each client has its own limit: one failure each.
    assert _enroll(server, "127.0.0.1", "203.0.113.7") == 400
    assert _enroll(server, "127.0.0.1", "203.0.113.8") == 400  # another client: not limited
    assert _enroll(server, "127.0.0.1", "203.0.113.7") == 429  # the same client again


def test_anyone_else_cannot_pose_as_another_address(server: ServerProcess) -> None:
    # 127.0.0.2 is not the proxy: its X-Forwarded-For is dropped and it is itself.
    assert _enroll(server, "127.0.0.2", "198.51.100.1") == 400
    assert _enroll(server, "127.0.0.2", "198.51.100.2") == 429


def test_a_body_announced_too_large_is_refused_before_it_arrives(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        head = (
            "POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {SIX_MIB}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"[")  # and not one byte more: the answer cannot wait
        answer = sock.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413 "), answer[:200]
