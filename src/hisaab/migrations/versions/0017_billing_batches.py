"""Billing run batches: one row per committed batch of due work on the system clock (test-clock
advances are not recorded), the run's own metrics (how many
were billed, payments by outcome, how late the work was, how long the batch took).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hisaab.migrations.helpers import tenant_table

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_batches",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subscriptions", sa.Integer(), nullable=False),
        sa.Column("invoices", sa.Integer(), nullable=False),
        sa.Column("payments_succeeded", sa.Integer(), nullable=False),
        sa.Column("payments_failed", sa.Integer(), nullable=False),
        sa.Column("payments_pending", sa.Integer(), nullable=False),
        sa.Column("max_lag_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_billing_batches")),
    )
    op.create_index("ix_billing_batches_finished", "billing_batches", ["tenant_id", "finished_at"])
    tenant_table("billing_batches", "SELECT, INSERT")


def downgrade() -> None:
    op.drop_table("billing_batches")
