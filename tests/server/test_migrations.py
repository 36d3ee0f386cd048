"""Migrations: the migrated database matches schema.py exactly, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert

from server import migrations
from server.db import make_engine
from server.store import locations as locations_store
from server.store.schema import devices, locations, metadata, submissions, surveys


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


def test_survey_assignments_start_from_the_current_and_the_answered_surveys(tmp_path) -> None:
    """A kiosk upgraded mid-week still delivers its old survey: migration 0009 records as
    assigned both a location's current survey and every survey already answered there."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = migrations.alembic_config(engine)
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0008")
            for survey_id in ("S_now", "S_old", "S_never"):
                conn.execute(insert(surveys).values(id=survey_id, latest_version=1, created_at=at))
            conn.execute(
                insert(locations).values(
                    id="L",
                    name="Centrum",
                    timezone="Europe/Warsaw",
                    survey_id="S_now",
                    created_at=at,
                )
            )
            conn.execute(
                insert(devices).values(id="D", location_id="L", name="Till", created_at=at)
            )
            conn.execute(
                insert(submissions).values(
                    id="u1", device_id="D", location_id="L", survey_id="S_old", survey_version=1,
                    language="en", tapped_at=at, received_at=at, skew_s=0.0, effective_at=at,
                    local_date=at.date(), weekday=1, hour=13, burst=False, content_hash="h",
                    payload="{}",
                )
            )  # fmt: skip
        migrations.upgrade(engine)
        with engine.begin() as conn:
            assert locations_store.surveys_ever_assigned(conn, "L") == {"S_now", "S_old"}
    finally:
        engine.dispose()
