"""Alembic environment: runs on the owner connection handed over by hisaab.migrations."""

from __future__ import annotations

from alembic import context

from hisaab.migrations.metadata import target_metadata

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
