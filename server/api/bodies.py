"""Reading a JSON request body into a protocol model, with the checks pydantic cannot make."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from server.errors import ApiError, from_validation_error, json_path

M = TypeVar("M", bound=BaseModel)

#: Outside these years a timestamp is garbage, and arithmetic on it could overflow.
MIN_YEAR, MAX_YEAR = 1900, 2200
#: Larger integers do not fit a database column (values of answers are range-checked apart).
MAX_INT = 2**53


def parse_body(model: type[M], batch_field: str | None = None) -> M:
    """Validate the request body as `model`; a bad body raises the right ApiError."""
    raw = request.get_data(cache=False)  # honours MAX_CONTENT_LENGTH (413)
    try:
        parsed = model.model_validate_json(raw)
    except ValidationError as exc:
        if batch_field and any(
            e["type"] == "too_long" and e["loc"] == (batch_field,) for e in exc.errors()
        ):
            raise ApiError(
                "too_large", f"{batch_field}: at most 500 per request", batch_field
            ) from None
        raise from_validation_error(exc) from None
    _check_values(parsed.model_dump(), (), skip_ints={"value", "survey_version"})
    return parsed


def _check_values(value: Any, path: tuple[Any, ...], skip_ints: set[str]) -> None:
    # PostgreSQL cannot store NUL in text, so such strings are refused for every backend.
    if isinstance(value, str) and "\x00" in value:
        raise ApiError("invalid_request", "text must not contain NUL characters", json_path(path))
    if isinstance(value, datetime) and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ApiError("invalid_request", "timestamp out of range", json_path(path))
    big = isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT
    if big and (not path or path[-1] not in skip_ints):
        raise ApiError("invalid_request", "number out of range", json_path(path))
    if isinstance(value, dict):
        for key, item in value.items():
            _check_values(key, path, skip_ints)
            _check_values(item, (*path, key), skip_ints)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_values(item, (*path, i), skip_ints)
