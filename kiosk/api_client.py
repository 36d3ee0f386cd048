"""The device API client (PROTOCOL.md, "Device API"), on the standard library's `urllib`.

Not on requests: with urllib3, charset-normalizer and idna it held ~4 MiB more of the kiosk's
memory for four small JSON requests a minute. urllib honours the same `HTTP(S)_PROXY`
variables; TLS is checked against the system's CA store (`ca-certificates`, and
`SSL_CERT_FILE`), where a private CA is installed with `update-ca-certificates`.

Requests are built and answers parsed with the `shared.protocol` models. Every failure is one
of these named exceptions:

    ApiError                    anything the client could not get a usable answer for
    ├── ServerUnreachableError  no answer at all: DNS, refused, timeout, dropped connection
    └── ProtocolError           the server answered with an error (carries code, field, status)
        ├── UnauthorizedError   401: the token is bad or the device was revoked
        └── InvalidCodeError    400 `invalid_code`: the enrollment code is used, expired or
                                unknown
"""

from __future__ import annotations

import http.client
import json as jsonlib
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared import __version__
from shared.clock import to_rfc3339, utcnow
from shared.protocol import (
    ConfigResponse,
    DeviceInfo,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    HeartbeatRequest,
    HeartbeatResponse,
    Submission,
    SubmissionBatch,
    SubmissionsResponse,
)

API_PREFIX = "/api/v1"

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """The device API gave no usable answer."""


class ServerUnreachableError(ApiError):
    """The server could not be reached (or did not answer in time)."""


class ProtocolError(ApiError):
    """The server answered with an error status or a body that breaks the contract."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field


class UnauthorizedError(ProtocolError):
    """401: the device token is not (or no longer) valid — the device was revoked."""


class InvalidCodeError(ProtocolError):
    """The enrollment code is used, expired or unknown."""


#: What `Submission.model_dump(mode="json")` holds for a field its stored JSON may lack.
SUBMISSION_DEFAULTS: dict[str, Any] = {
    name: field.get_default(call_default_factory=True)
    for name, field in Submission.model_fields.items()
    if not field.is_required()
}


@dataclass(frozen=True, slots=True)
class WireSubmission:
    """A submission already in its wire form (JSON values), as a pending upload sends it:
    the body `post_submissions` builds from it is the one it builds from the `Submission`."""

    id: str
    wire: dict[str, Any]


@dataclass(frozen=True)
class HttpAnswer:
    """What the server answered: its status and body."""

    status_code: int
    content: bytes


class ApiClient:
    """Talks to one Smiletap server as one device (or as a device enrolling)."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = {"Accept": "application/json", "User-Agent": f"smiletap-kiosk/{__version__}"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        """Nothing held open: each request has its own connection."""

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- endpoints ----------------------------------------------------------------------------

    def enroll(self, code: str, device_info: DeviceInfo | None = None) -> EnrollResponse:
        """POST /enroll: trade a one-time code for a device id and token."""
        body = EnrollRequest(code=code, device_info=device_info or DeviceInfo())
        response = self._request("POST", "/enroll", json=body.model_dump(mode="json"))
        if response.status_code != 201:
            self._raise_for(response)
        return self._parse(EnrollResponse, response)

    def get_config(self, etag: str | None = None) -> ConfigResponse | None:
        """GET /config; None when the server says 304 (the cached one is current)."""
        headers = {"If-None-Match": f'"{etag}"'} if etag else {}
        response = self._request("GET", "/config", headers=headers)
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            self._raise_for(response)
        return self._parse(ConfigResponse, response)

    @staticmethod
    def encode_submissions(batch: Sequence[WireSubmission]) -> bytes:
        """The JSON array of a batch's submissions, made before it is sent (`encoded` of
        `post_submissions`): an upload encodes the next batch while the last is on its way."""
        return jsonlib.dumps([s.wire for s in batch]).encode()

    def post_submissions(
        self,
        batch: Sequence[Submission] | Sequence[WireSubmission],
        *,
        encoded: bytes | None = None,
    ) -> SubmissionsResponse:
        """POST /submissions: one result per submission, in order. `encoded`: the batch as
        `encode_submissions` wrote it; `sent_at` is the clock when it is sent either way."""
        if encoded is not None:
            sent_at = jsonlib.dumps(to_rfc3339(utcnow())).encode()
            data = b'{"sent_at": ' + sent_at + b', "submissions": ' + encoded + b"}"
            response = self._request("POST", "/submissions", body=data)
        else:
            wire = [s.wire for s in batch if isinstance(s, WireSubmission)]
            if len(wire) == len(batch):
                body = {"sent_at": to_rfc3339(utcnow()), "submissions": wire}
            else:
                models = [s for s in batch if isinstance(s, Submission)]
                assert len(models) == len(batch), "one kind of submission per batch"
                body = SubmissionBatch(sent_at=utcnow(), submissions=models).model_dump(mode="json")
            response = self._request("POST", "/submissions", json=body)
        if response.status_code != 200:
            self._raise_for(response)
        parsed = self._parse(SubmissionsResponse, response)
        if [r.id for r in parsed.results] != [s.id for s in batch]:
            raise ProtocolError("results do not match the batch", status=200)
        return parsed

    def heartbeat(self, body: HeartbeatRequest) -> HeartbeatResponse:
        """POST /heartbeat: report health; the answer carries the current config ETag."""
        response = self._request("POST", "/heartbeat", json=body.model_dump(mode="json"))
        if response.status_code != 200:
            self._raise_for(response)
        return self._parse(HeartbeatResponse, response)

    # --- plumbing -----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpAnswer:
        """One request; its JSON body given as a value (`json`) or already encoded (`body`)."""
        if json is not None:
            body = jsonlib.dumps(json).encode()
        request = urllib.request.Request(
            self.base_url + API_PREFIX + path,
            data=body,
            method=method,
            headers={
                **self.headers,
                **({"Content-Type": "application/json"} if body is not None else {}),
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return HttpAnswer(answer.status, answer.read())
        except urllib.error.HTTPError as exc:  # any status but 2xx, 304 included
            with exc:
                return HttpAnswer(exc.code, exc.read())
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # OSError: refused, DNS, timeout, TLS (URLError is one); HTTPException: a dropped
            # or garbled answer; ValueError: a URL urllib cannot use.
            raise ServerUnreachableError(f"can't reach {self.base_url}: {exc}") from exc

    @staticmethod
    def _parse(model: type[M], response: HttpAnswer) -> M:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise ProtocolError(
                f"unexpected {model.__name__} body: {exc}", status=response.status_code
            ) from exc

    @staticmethod
    def _raise_for(response: HttpAnswer) -> None:
        status = response.status_code
        code = field = None
        message = f"HTTP {status}"
        try:
            detail = ErrorBody.model_validate_json(response.content).error
        except ValidationError:
            pass
        else:
            code, field, message = detail.code, detail.field, f"{detail.code}: {detail.message}"
        if status == 401:
            raise UnauthorizedError(message, status=status, code=code or "unauthorized")
        if code == "invalid_code":
            raise InvalidCodeError(message, status=status, code=code, field=field)
        raise ProtocolError(message, status=status, code=code, field=field)
