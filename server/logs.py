"""The server's log lines: plain text or JSON (`SMILETAP_LOG_FORMAT`), each with a request id.

Every request gets an id — the caller's `X-Request-Id` when it is a sane token (a proxy or a
load balancer may set one), else a new one (`new_request_id`) — returned in the
`X-Request-Id` response header and carried into every log line written while that request
is handled, so one request's lines can be found among many workers' (`request_id`, `-`
outside a request).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import sys
from datetime import UTC, datetime
from typing import IO

from flask import Flask, Response, g, has_request_context, request

from server import settings as app_settings

HEADER = "X-Request-Id"
#: What a caller's id may be: short, and nothing that could break a log line or a header.
SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def current_request_id() -> str:
    """This request's id, or `-` outside a request."""
    if has_request_context():
        found = g.get("request_id")
        if found:
            return str(found)
    return "-"


class RequestIdFilter(logging.Filter):
    """Gives every record the id of the request being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class ServerLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `init_app` puts on the root logger (one, however many apps are made).

    Without a stream of its own it writes to whatever `sys.stderr` is at each line, so a
    replaced stderr (a test's capture, a daemon's redirect) never leaves it writing nowhere.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._own_stream = stream
        super().__init__(stream)

    @property
    def stream(self) -> IO[str]:
        return self._own_stream or sys.stderr

    @stream.setter
    def stream(self, value: IO[str] | None) -> None:
        self._own_stream = value if value is not sys.stderr else None


def configure(log_format: str, stream: IO[str] | None = None) -> ServerLogHandler:
    """Send the root logger's INFO and above to `stream` (stderr) as text or JSON lines."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, ServerLogHandler)), None)
    if handler is None:
        handler = ServerLogHandler(stream)
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
    elif stream is not None:
        handler.setStream(stream)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    return handler


class _RequestIds:
    """32 hex digits: 16 random per process, then a counter, so unique across every worker
    and restart without reading the system's randomness on each request (a uuid4 did,
    a few percent of a config check's time)."""

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)  # a forked worker takes its own prefix

    def renew(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.counter = itertools.count()

    def next(self) -> str:
        # next() on itertools.count is atomic under the GIL: threads never share a number.
        return f"{self.prefix}{next(self.counter) & 0xFFFFFFFFFFFFFFFF:016x}"


_REQUEST_IDS = _RequestIds()


def new_request_id() -> str:
    """A new request id: unique across processes, not a secret."""
    return _REQUEST_IDS.next()


#: `X-Request-Id` as the WSGI environ names it: read there, not through `request.headers`
#: (whose look-up of a missing header raises and catches a KeyError on every device call).
_ENVIRON_KEY = "HTTP_" + HEADER.upper().replace("-", "_")


def _take_request_id() -> None:
    given = request.environ.get(_ENVIRON_KEY, "")
    g.request_id = given if given and SANE_ID.match(given) else new_request_id()


def _return_request_id(response: Response) -> Response:
    response.headers[HEADER] = current_request_id()
    return response


def configure_for(app: Flask) -> ServerLogHandler:
    """Give the process the app's log format: for entry points that own the process.

    `create_app` leaves the root logger alone, because an app may live in a process that owns
    its logging already (the kiosk's tests serve one beside Kivy, which routes stderr through
    its own logger: a root handler writing to stderr there loops forever).
    """
    return configure(app_settings.of(app).log_format)


def init_app(app: Flask) -> None:
    """Give each request its id; refuse an unknown log format at start."""
    log_format = app_settings.of(app).log_format
    if log_format not in ("text", "json"):
        raise app_settings.SettingsError(f"LOG_FORMAT: {log_format!r} is not text or json")
    # First of the app's hooks, so lines written by the others carry the id too.
    app.before_request_funcs.setdefault(None, []).insert(0, _take_request_id)
    app.after_request(_return_request_id)
