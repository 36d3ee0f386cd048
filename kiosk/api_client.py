"""The device API client (PROTOCOL.md, "Device API"), on one `requests.Session`.

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

from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ValidationError

from shared.clock import utcnow
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


class ApiClient:
    """Talks to one Smiletap server as one device (or as a device enrolling)."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

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

    def post_submissions(self, batch: list[Submission]) -> SubmissionsResponse:
        """POST /submissions: one result per submission, in order."""
        body = SubmissionBatch(sent_at=utcnow(), submissions=batch)
        response = self._request("POST", "/submissions", json=body.model_dump(mode="json"))
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

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(
                method, self.base_url + API_PREFIX + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise ServerUnreachableError(f"can't reach {self.base_url}: {exc}") from exc

    @staticmethod
    def _parse(model: type[M], response: requests.Response) -> M:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise ProtocolError(
                f"unexpected {model.__name__} body: {exc}", status=response.status_code
            ) from exc

    @staticmethod
    def _raise_for(response: requests.Response) -> None:
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
