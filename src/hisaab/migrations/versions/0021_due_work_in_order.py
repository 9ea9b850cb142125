"""Due work is read in index order.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-22

The billing run takes its due work `ORDER BY <when>[, key] LIMIT n`: subscriptions to renew,
payment tries to send, dunning final actions, revenue to recognize. Their indexes could not give
that order: PostgreSQL does not take `test_clock_id IS NULL` as the column's one value when
ordering (two of them also lacked `tenant_id`, which row-level security adds to every query,
and the subscriptions' lacked `id`), so each query read and sorted every due row of the tenant,
and a run grew with the square of its size: at 25,000 subscriptions due a claim took ~40 ms
instead of ~1 ms (`core.models.due_indexes`). Each now has an index for the system clock and one
for test clocks, in the query's order.

The migrations run in one transaction, so the indexes are built in it, not CONCURRENTLY: writes
to these tables wait while they build (a few seconds per million rows).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# table, index, its columns before, the rows it covers, the order the due work reads them in
DUE = (
    (
        "subscriptions",
        "ix_subscriptions_due",
        ["tenant_id", "test_clock_id", "next_action_at"],
        "next_action_at IS NOT NULL",
        ["next_action_at", "id"],
    ),
    (
        "payment_attempts",
        "ix_payment_attempts_due",
        ["test_clock_id", "scheduled_at"],
        "status = 'scheduled'",
        ["scheduled_at"],
    ),
    (
        "invoice_dunning",
        "ix_invoice_dunning_final",
        ["test_clock_id", "final_action_at"],
        "state IN ('retrying', 'action_required')",
        ["final_action_at"],
    ),
    (
        "revenue_schedule",
        "ix_revenue_schedule_due",
        ["tenant_id", "test_clock_id", "recognize_at"],
        "status = 'pending'",
        ["recognize_at", "invoice_id", "invoice_line_id"],
    ),
)


def _index(table: str, name: str, columns: list[str], where: str) -> None:
    op.create_index(name, table, columns, postgresql_where=sa.text(where))


def upgrade() -> None:
    for table, name, _, rows, order in DUE:
        op.drop_index(name, table)
        _index(table, name, ["tenant_id", *order], f"{rows} AND test_clock_id IS NULL")
        _index(
            table,
            f"{name}_on_clock",
            ["tenant_id", "test_clock_id", *order],
            f"{rows} AND test_clock_id IS NOT NULL",
        )


def downgrade() -> None:
    for table, name, before, rows, _ in DUE:
        op.drop_index(f"{name}_on_clock", table)
        op.drop_index(name, table)
        _index(table, name, before, rows)
