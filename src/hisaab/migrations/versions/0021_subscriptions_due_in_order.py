"""Due subscriptions are claimed in index order.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-22

The billing run claims `ORDER BY next_action_at, id LIMIT 500 FOR UPDATE SKIP LOCKED`. The index
on (tenant_id, test_clock_id, next_action_at) could not give that order: `id` was not in it, and
PostgreSQL does not take `test_clock_id IS NULL` as one value of the column when ordering, so
every claim read and sorted all of the tenant's due subscriptions. A run grew with the square of
a tenant's due count: at 25,000 due a claim took ~40 ms instead of ~1 ms. The system clock's due
work gets an index of its own, and each test clock's one with `id`.

The migrations run in one transaction, so the indexes are built in it, not CONCURRENTLY: writes
to `subscriptions` wait while they build (a few seconds per million subscriptions).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def _due(name: str, columns: list[str], where: str) -> None:
    op.create_index(name, "subscriptions", columns, postgresql_where=sa.text(where))


def upgrade() -> None:
    op.drop_index("ix_subscriptions_due", "subscriptions")
    _due(
        "ix_subscriptions_due",
        ["tenant_id", "next_action_at", "id"],
        "next_action_at IS NOT NULL AND test_clock_id IS NULL",
    )
    _due(
        "ix_subscriptions_due_on_clock",
        ["tenant_id", "test_clock_id", "next_action_at", "id"],
        "next_action_at IS NOT NULL AND test_clock_id IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("ix_subscriptions_due_on_clock", "subscriptions")
    op.drop_index("ix_subscriptions_due", "subscriptions")
    _due(
        "ix_subscriptions_due",
        ["tenant_id", "test_clock_id", "next_action_at"],
        "next_action_at IS NOT NULL",
    )
