"""Alembic environment: uses the connection `server.migrations.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from server.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `smiletap-server migrate`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
