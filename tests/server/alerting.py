"""A real local SMTP server (aiosmtpd) and a webhook receiver (http.server) for alert tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.serving import Serving


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MailBox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd's Controller on a free loopback port."""

    def __init__(self) -> None:
        self.box = MailBox()
        self.port = free_port()
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def messages(self) -> list[tuple[list[str], Message]]:
        return self.box.messages

    def stop(self) -> None:
        self.controller.stop()


def verify_signature(secret: str, header: str, body: bytes, now: float) -> bool:
    """A receiver's check of `X-Smiletap-Signature`, written from PROTOCOL.md alone (not with
    server code): the HMAC must match and the time be at most 5 minutes old (the same code is
    the example in docs/admin-guide.md)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not fields.get("t", "").isdigit() or "v1" not in fields:
        return False
    if abs(now - int(fields["t"])) > 300:
        return False
    signed = fields["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


class WebhookReceiver:
    """An HTTP server in a thread that records each JSON POST and answers `status` (204).

    With `secret` set it checks the signature like a real receiver: a POST without a valid,
    fresh one is answered 401 and kept in `refused`, not in `bodies`. `signatures` holds the
    header of every POST (None when absent)."""

    def __init__(self, secret: str = "") -> None:
        self.bodies: list[dict[str, Any]] = []
        self.refused: list[bytes] = []
        self.signatures: list[str | None] = []
        self.status = 204
        #: Statuses to answer first, in order, before `status` (a failure, then a recovery).
        self.answers: list[int] = []
        #: Every POST as (raw body, its headers), accepted or not.
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        self.secret = secret
        received = self.bodies
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                header = self.headers.get("X-Smiletap-Signature")
                receiver.requests.append((raw, dict(self.headers.items())))
                receiver.signatures.append(header)
                if receiver.secret and not verify_signature(
                    receiver.secret, header or "", raw, time.time()
                ):
                    receiver.refused.append(raw)
                    self.send_response(401)
                    self.end_headers()
                    return
                received.append(json.loads(raw))
                self.send_response(receiver.answers.pop(0) if receiver.answers else receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.serving = Serving(self.server)

    def stop(self) -> None:
        self.serving.stop()
