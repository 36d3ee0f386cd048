"""Alembic migrations, run in code so no alembic.ini is needed beside an installed package."""

from __future__ import annotations

import functools
import os

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

HERE = os.path.dirname(os.path.abspath(__file__))


def alembic_config(engine: Engine) -> Config:
    """An Alembic Config pointing at this folder's scripts."""
    config = Config()
    config.set_main_option("script_location", HERE)
    # The config is an INI parser with %-interpolation: a URL-quoted password ("%3A") needs %%.
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (idempotent)."""
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with engine.connect() as conn:
        return revision_of(conn)


def revision_of(conn: Connection) -> str | None:
    """The revision the database behind this connection is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


@functools.cache
def head_revision() -> str | None:
    """The newest revision among this folder's scripts (read once: they ship with the code)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(HERE).get_current_head()
