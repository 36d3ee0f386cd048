"""Initial schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

A frozen copy of the tables as they were at this revision: later changes to schema.py come as
new revisions, and this file never changes again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(name: str = "id", nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(64), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "surveys",
        _id(),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "survey_versions",
        _id("survey_id"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"]),
        sa.PrimaryKeyConstraint("survey_id", "version"),
    )
    op.create_table(
        "locations",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        _id("survey_id", nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "staff",
        _id(),
        _id("location_id"),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_location_id", "staff", ["location_id"])
    op.create_table(
        "devices",
        _id(),
        _id("location_id"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("enrolled_at", nullable=True),
        _ts("revoked_at", nullable=True),
        sa.Column("app_version", sa.String(200), nullable=True),
        sa.Column("platform", sa.String(200), nullable=True),
        sa.Column("hostname", sa.String(200), nullable=True),
        _ts("last_contact_at", nullable=True),
        sa.Column("clock_skew_s", sa.Float(), nullable=True),
        sa.Column("backlog", sa.BigInteger(), nullable=True),
        _ts("oldest_pending_at", nullable=True),
        sa.Column("rejected_count", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("config_etag", sa.String(200), nullable=True),
        _ts("last_heartbeat_at", nullable=True),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "enroll_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        _id("device_id"),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("used_at", nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_index("ix_enroll_codes_device_id", "enroll_codes", ["device_id"])
    op.create_table(
        "enroll_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        _ts("at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_enroll_failures_at", "enroll_failures", ["at"])
    op.create_index("ix_enroll_failures_address_at", "enroll_failures", ["address", "at"])
    op.create_table(
        "api_keys",
        _id(),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        _ts("created_at"),
        _ts("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "api_key_locations",
        _id("api_key_id"),
        _id("location_id"),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"]),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("api_key_id", "location_id"),
    )
    op.create_table(
        "submissions",
        _id(),
        _id("device_id"),
        _id("location_id"),
        _id("survey_id"),
        sa.Column("survey_version", sa.Integer(), nullable=False),
        _id("staff_id", nullable=True),
        sa.Column("language", sa.String(16), nullable=False),
        _ts("tapped_at"),
        _ts("received_at"),
        sa.Column("skew_s", sa.Float(), nullable=False),
        _ts("effective_at"),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("burst", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_submissions_location_date", "submissions", ["location_id", "local_date"])
    op.create_table(
        "answers",
        _id("submission_id"),
        _id("question_id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("submission_id", "question_id"),
    )
    op.create_table(
        "id_conflicts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _id("device_id"),
        _id("submission_id"),
        sa.Column("stored_payload", sa.Text(), nullable=False),
        sa.Column("new_payload", sa.Text(), nullable=False),
        _ts("at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rollups",
        _id("location_id"),
        _id("staff_id"),
        _id("survey_id"),
        sa.Column("survey_version", sa.Integer(), nullable=False),
        _id("question_id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("burst", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "location_id",
            "staff_id",
            "survey_id",
            "survey_version",
            "question_id",
            "kind",
            "scale",
            "local_date",
            "weekday",
            "hour",
            "burst",
            "value",
            name="pk_rollups",
        ),
    )
    op.create_index("ix_rollups_date_location", "rollups", ["local_date", "location_id"])


def downgrade() -> None:
    for name in (
        "rollups", "id_conflicts", "answers", "submissions", "api_key_locations", "api_keys",
        "enroll_failures", "enroll_codes", "devices", "staff", "locations", "survey_versions",
        "surveys",
    ):  # fmt: skip
        op.drop_table(name)
