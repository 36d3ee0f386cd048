"""A fresh PostgreSQL database for a test run, created and dropped on the local server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import URL, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def pg_base_url() -> URL:
    """The local server's URL (from `SMILETAP_TEST_PG_URL`), with the psycopg 3 driver."""
    base = make_url(os.environ.get("SMILETAP_TEST_PG_URL", DEFAULT_PG_URL))
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    return base


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """Yield the URL of a new, empty database; drop it afterwards.

    Unreachable PostgreSQL fails the test in CI (where it must be there) and skips it locally.
    """
    base = pg_base_url()
    name = f"smiletap_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        base.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_pre_ping=True
    )
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except OperationalError as exc:
            reason = f"PostgreSQL unreachable at {base.render_as_string()}: {exc}"
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
        yield base.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
