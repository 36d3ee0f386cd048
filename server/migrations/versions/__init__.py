"""Alembic revisions (a package so that an installed server ships them)."""
