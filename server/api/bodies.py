"""Reading a JSON request body into a protocol model, with the checks pydantic cannot make.

The checks (no NUL in text, no integer too big for a column, no timestamp outside sane
years) are cheap on the raw bytes first: a NUL can only reach a parsed string through the
escape `\\u0000` (JSON text cannot hold a raw control character), and an integer above
`MAX_INT` needs a run of at least 16 digits. Only a body with one of those patterns gets the
full walk over every value; any other body can only fail on a timestamp, so only the fields
that can hold one are visited. Either way the first problem in field order is the one named.
"""

from __future__ import annotations

import typing
from datetime import datetime
from functools import cache
from types import NoneType
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from server.errors import ApiError, from_validation_error, json_path

M = TypeVar("M", bound=BaseModel)

#: Outside these years a timestamp is garbage, and arithmetic on it could overflow.
MIN_YEAR, MAX_YEAR = 1900, 2200
#: Larger integers do not fit a database column (values of answers are range-checked apart).
MAX_INT = 2**53
#: Fields whose integers are range-checked later, against the survey (ingest).
SKIP_INTS = frozenset({"value", "survey_version"})

_NUL_ESCAPE = b"\\u0000"
#: abs(n) > MAX_INT (16 digits) needs at least 16 digits in a row. Searched for in the body
#: with every digit mapped to "0" and everything else to " ": a plain substring search, many
#: times faster than a regular expression over every digit.
_LONG_DIGITS = b"0" * len(str(MAX_INT))
_DIGITS_ONLY = bytes(ord("0") if chr(c) in "0123456789" else ord(" ") for c in range(256))
#: Types that never hold a timestamp, so the fast path need not look inside them.
_NO_TIMES: tuple[Any, ...] = (str, bytes, int, float, bool, NoneType)


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
    if _NUL_ESCAPE in raw or _LONG_DIGITS in raw.translate(_DIGITS_ONLY):
        _check_values(parsed.model_dump(), (), SKIP_INTS)
    else:
        _check_times(parsed, ())
    return parsed


def _check_values(value: Any, path: tuple[Any, ...], skip_ints: frozenset[str]) -> None:
    # PostgreSQL cannot store NUL in text, so such strings are refused for every backend.
    if isinstance(value, str) and "\x00" in value:
        raise ApiError("invalid_request", "text must not contain NUL characters", json_path(path))
    _check_time(value, path)
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


def _check_time(value: Any, path: tuple[Any, ...]) -> None:
    if isinstance(value, datetime) and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ApiError("invalid_request", "timestamp out of range", json_path(path))


def _check_times(value: Any, path: tuple[Any, ...]) -> None:
    """`_check_values` restricted to timestamps, visiting only what can hold one."""
    _check_time(value, path)
    if isinstance(value, BaseModel):
        _check_model_times(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_times(item, (*path, key))
    elif isinstance(value, list | tuple):
        if _all_times_fit(value):  # a batch's items: nothing for the walk to find
            return
        for i, item in enumerate(value):
            if isinstance(item, BaseModel):  # a batch's items: no call to find that out
                _check_model_times(item, (*path, i))
            else:
                _check_times(item, (*path, i))


def _all_times_fit(items: list[Any] | tuple[Any, ...]) -> bool:
    """Whether the items are models of one class whose timestamp fields all hold a moment in
    the years allowed: then `_check_times` would find nothing in them. One pass per field
    over the list (a batch's 500 tap times) instead of a walk of each item; anything else (a
    field that holds None or nests its timestamps, a year outside) is left to the walk, which
    names the first problem in field order."""
    if not items or not isinstance(items[0], BaseModel):
        return False
    model = type(items[0])
    if not all([type(item) is model for item in items]):
        return False
    for name in _fields_with_times(model):
        moments = [getattr(item, name) for item in items]
        if not all([isinstance(moment, datetime) for moment in moments]):
            return False
        years = [moment.year for moment in moments]
        if min(years) < MIN_YEAR or max(years) > MAX_YEAR:
            return False
    return True


def _check_model_times(model: BaseModel, path: tuple[Any, ...]) -> None:
    """`_check_times` of a model's fields; a timestamp field checked here, without a call
    (a batch's tap times: 500 a request)."""
    for name in _fields_with_times(type(model)):
        value = getattr(model, name)
        if isinstance(value, datetime):
            if not MIN_YEAR <= value.year <= MAX_YEAR:
                _check_time(value, (*path, name))  # raises
        elif value is not None:
            _check_times(value, (*path, name))


@cache
def _fields_with_times(model: type[BaseModel]) -> tuple[str, ...]:
    """The model's fields, in order, whose type may hold a timestamp somewhere inside."""
    return tuple(
        name for name, field in model.model_fields.items() if _may_hold_time(field.annotation)
    )


def _may_hold_time(annotation: Any) -> bool:
    # Anything not known to be free of timestamps counts as holding one (Any, datetime,
    # pydantic's AwareDatetime...): the fast path may look at too much, never too little.
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return False
    if origin is typing.Annotated:
        return _may_hold_time(typing.get_args(annotation)[0])  # the rest is metadata
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return bool(_fields_with_times(annotation))
    if annotation in _NO_TIMES:
        return False
    args = typing.get_args(annotation)
    if args:
        return any(_may_hold_time(arg) for arg in args)
    return True
