"""Bearer-token checks for devices and API keys, looked up in the database on every request.

A missing, unknown or revoked secret is 401 `unauthorized`; a valid key without the right is
403 `forbidden`. Nothing is cached, so a revocation holds from the very next request.
"""

from __future__ import annotations

from typing import Any

from flask import request

from server.db import get_db, lookup_db, reading
from server.errors import ApiError
from server.store import api_keys, devices


def bearer_token() -> str:
    """The secret in `Authorization: Bearer …`, or a 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise ApiError("unauthorized", "send Authorization: Bearer <token>")
    return token


def require_device() -> dict[str, Any]:
    """The calling device, or a 401."""
    token = bearer_token()
    # Alone, outside a transaction, on the request's pooled connection without making a
    # SQLAlchemy Connection for it (`db.lookup_db`): most device calls need no other statement.
    device = devices.by_token(lookup_db(), token)
    if device is None:
        raise ApiError("unauthorized", "unknown or revoked device token")
    return device


def require_api_key() -> api_keys.ApiKey:
    """The calling API key, or a 401."""
    token = bearer_token()
    conn = get_db()
    with reading(conn):
        key = api_keys.lookup(conn, token)
    if key is None:
        raise ApiError("unauthorized", "unknown or revoked API key")
    return key
