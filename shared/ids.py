"""Identifiers: submission ids made on the kiosk, and server-side entity ids."""

from __future__ import annotations

import uuid


def new_submission_id() -> str:
    """A random UUID (version 4), made on the kiosk at a customer's first tap."""
    return str(uuid.uuid4())


def new_entity_id(prefix: str) -> str:
    """A short, readable, random id for a server entity, e.g. `loc_3f9a…`."""
    return f"{prefix}_{uuid.uuid4().hex[:16]}"
