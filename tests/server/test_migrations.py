"""Migrations: the migrated database matches schema.py exactly, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from server import migrations
from server.db import make_engine
from server.store.schema import metadata


def test_migrated_database_matches_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diffs == []


def test_migrate_is_idempotent_and_at_head(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrations.upgrade(engine)
        head = migrations.current_revision(engine)
    finally:
        engine.dispose()
    assert head is not None and head == migrations.head_revision()
