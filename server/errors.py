"""One registry of problems (code → HTTP status) and the handler that renders them.

A database that is down, full or locked too long is 503 `unavailable` with `Retry-After`,
never a 500 trace.

Every 4xx answer has PROTOCOL.md's body `{"error": {"code", "message", "field"}}`.
`ApiError` is raised by views and auth; pydantic's `ValidationError` becomes 422
`invalid_request` naming the first bad field; werkzeug's HTTP errors on /api/ routes are
rendered in the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEMS: dict[str, int] = {
    "malformed_json": 400,
    "invalid_code": 400,
    "invalid_query": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "too_large": 413,
    "unsupported_media_type": 415,
    "invalid_request": 422,
    "rate_limited": 429,
    "unavailable": 503,
}

#: Seconds a client is asked to wait when the database is down, full or locked too long.
RETRY_AFTER_S = 30


class ApiError(Exception):
    """A problem from the registry, with a human message and optionally the field at fault."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        if code not in PROBLEMS:
            raise KeyError(f"unregistered problem code: {code}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @property
    def status(self) -> int:
        """The HTTP status the registry gives this code."""
        return PROBLEMS[self.code]


def error_response(code: str, message: str, field: str | None = None) -> tuple[Response, int]:
    """The PROTOCOL.md error body with the registry's status."""
    body = {"error": {"code": code, "message": message, "field": field}}
    return jsonify(body), PROBLEMS[code]


def json_path(loc: tuple[Any, ...]) -> str | None:
    """A pydantic error location as a JSON path, e.g. `submissions[0].answers[1].value`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif path:
            path += f".{part}"
        else:
            path = str(part)
    return path or None


def from_validation_error(exc: ValidationError) -> ApiError:
    """The 422 problem for the first error pydantic found."""
    first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
    # Union members and type wrappers add non-field steps (e.g. 'function-after[...]').
    loc = tuple(p for p in first["loc"] if isinstance(p, int) or "[" not in str(p))
    field = json_path(loc)
    if first["type"] == "json_invalid" and not loc:
        return ApiError("malformed_json", f"the body is not valid UTF-8 JSON: {first['msg']}")
    if first["type"] in ("json_type", "model_type") and not loc:
        return ApiError("malformed_json", "the body must be a JSON object")
    message = first["msg"] if field is None else f"{field}: {first['msg']}"
    return ApiError("invalid_request", message, field)


_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


def init_app(app: Flask) -> None:
    """Register the one error handler for API problems and HTTP errors under /api/."""

    @app.after_request
    def _read_the_unread_body(response: Response) -> Response:
        # An answer given before the body was read (a revoked kiosk's 401 on a large batch):
        # gunicorn discards at most 64 KiB of an unread body and then closes the connection
        # while the client, or nginx, is still sending; nginx then answers 502, and the kiosk
        # takes a refusal for an outage. Reading the rest (at most the body limit) keeps the
        # answer the client's to read. No Content-Length (a GET, most device calls): no body.
        if not request.environ.get("CONTENT_LENGTH"):
            return response
        length = request.content_length
        limit = request.max_content_length
        if length and (limit is None or length <= limit):
            while request.stream.read(64 * 1024):
                pass
        return response

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return error_response(exc.code, exc.message, exc.field)

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError) -> tuple[Response, int]:
        problem = from_validation_error(exc)
        return error_response(problem.code, problem.message, problem.field)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeoutError)
    def _database_unavailable(exc: Exception) -> tuple[Response, int]:
        # The database is down, unreachable, full or locked past the busy timeout: a state
        # that passes, so the client is told to come back rather than shown a trace.
        cause = getattr(exc, "orig", None) or exc
        log.warning("database unavailable: %s: %s", type(cause).__name__, str(cause)[:200])
        if request.path.startswith("/api/"):
            response, status = error_response(
                "unavailable", "the database is unavailable; try again later"
            )
        else:
            response = Response("The service is briefly unavailable; try again later.\n")
            response.mimetype = "text/plain"
            status = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response, status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        code = _HTTP_CODES.get(exc.code or 0)
        if code is None or not request.path.startswith("/api/"):
            return exc
        return error_response(code, exc.description or code)
