"""Subscriptions and invoices: lines, pending items, credit balance, number series.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hisaab.migrations.helpers import tenant_table

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _tenant_fk(
    table: str, column: str, target: str, ondelete: str | None = "CASCADE"
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("test_clock_id", sa.Text(), nullable=True),
        sa.Column("plan_id", sa.Text(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("unit_amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("collection_method", sa.Text(), nullable=False),
        sa.Column("days_until_due", sa.Integer(), nullable=True),
        sa.Column("start_at", TS, nullable=False),
        sa.Column("billing_cycle_anchor", TS, nullable=True),
        sa.Column("current_period_start", TS, nullable=True),
        sa.Column("current_period_end", TS, nullable=True),
        sa.Column("trial_start", TS, nullable=True),
        sa.Column("trial_end", TS, nullable=True),
        sa.Column("trial_will_end_at", TS, nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("canceled_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("paused_at", TS, nullable=True),
        sa.Column("coupon_id", sa.Text(), nullable=True),
        sa.Column("discount_end", TS, nullable=True),
        sa.Column("latest_invoice_id", sa.Text(), nullable=True),
        sa.Column("scheduled_change", postgresql.JSONB(), nullable=True),
        sa.Column("next_action_at", TS, nullable=True),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _tenant_fk("subscriptions", "customer_id", "customers"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "plan_id", "plan_version"],
            ["plan_versions.tenant_id", "plan_versions.plan_id", "plan_versions.version"],
            name=op.f("fk_subscriptions_tenant_id_plan_versions"),
        ),
        _tenant_fk("subscriptions", "coupon_id", "coupons", ondelete=None),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_subscriptions")),
    )
    op.create_index(
        "ix_subscriptions_due",
        "subscriptions",
        ["tenant_id", "test_clock_id", "next_action_at"],
        postgresql_where=sa.text("next_action_at IS NOT NULL"),
    )
    op.create_index("ix_subscriptions_customer", "subscriptions", ["tenant_id", "customer_id"])
    tenant_table("subscriptions", "SELECT, INSERT, UPDATE")

    op.create_table(
        "invoices",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=True),
        sa.Column("series", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.Text(), nullable=True),
        sa.Column("test_clock_id", sa.Text(), nullable=True),
        sa.Column("billing_reason", sa.Text(), nullable=False),
        sa.Column("collection_method", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("discount", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("credit_applied", sa.BigInteger(), nullable=False),
        sa.Column("amount_due", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column("amount_remaining", sa.BigInteger(), nullable=False),
        sa.Column("period_start", TS, nullable=True),
        sa.Column("period_end", TS, nullable=True),
        sa.Column("issued_at", TS, nullable=True),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("paid_at", TS, nullable=True),
        sa.Column("paid_out_of_band", sa.Boolean(), nullable=False),
        sa.Column("voided_at", TS, nullable=True),
        sa.Column("marked_uncollectible_at", TS, nullable=True),
        sa.Column("place_of_supply", sa.Text(), nullable=True),
        sa.Column("reverse_charge", sa.Boolean(), nullable=False),
        sa.Column("tax_lines", postgresql.JSONB(), nullable=False),
        sa.Column("notes", postgresql.JSONB(), nullable=False),
        sa.Column("customer_snapshot", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _tenant_fk("invoices", "customer_id", "customers"),
        _tenant_fk("invoices", "subscription_id", "subscriptions"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "tenant_id", "series", "number", name=op.f("uq_invoices_tenant_id_series_number")
        ),
    )
    op.create_index(
        "uq_invoices_subscription_period",
        "invoices",
        ["tenant_id", "subscription_id", "period_start"],
        unique=True,
        postgresql_where=sa.text("billing_reason IN ('subscription_create', 'subscription_cycle')"),
    )
    op.create_index("ix_invoices_customer", "invoices", ["tenant_id", "customer_id"])
    op.create_index("ix_invoices_subscription", "invoices", ["tenant_id", "subscription_id"])
    # No DELETE: an invoice, once written, is corrected by credit notes, never removed.
    tenant_table("invoices", "SELECT, INSERT, UPDATE")

    op.create_table(
        "invoice_lines",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("plan_id", sa.Text(), nullable=True),
        sa.Column("plan_version", sa.Integer(), nullable=True),
        sa.Column("sac_code", sa.Text(), nullable=True),
        sa.Column("tax_behavior", sa.Text(), nullable=False),
        sa.Column("tax_lines", postgresql.JSONB(), nullable=False),
        _tenant_fk("invoice_lines", "invoice_id", "invoices"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_invoice_lines")),
    )
    op.create_index(
        "ix_invoice_lines_invoice", "invoice_lines", ["tenant_id", "invoice_id", "position"]
    )
    tenant_table("invoice_lines", "SELECT, INSERT")

    op.create_table(
        "pending_invoice_items",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("plan_id", sa.Text(), nullable=True),
        sa.Column("plan_version", sa.Integer(), nullable=True),
        sa.Column("sac_code", sa.Text(), nullable=True),
        sa.Column("tax_behavior", sa.Text(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("invoice_id", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        _tenant_fk("pending_invoice_items", "customer_id", "customers"),
        _tenant_fk("pending_invoice_items", "subscription_id", "subscriptions"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_pending_invoice_items")),
    )
    op.create_index(
        "ix_pending_invoice_items_open",
        "pending_invoice_items",
        ["tenant_id", "subscription_id"],
        postgresql_where=sa.text("invoice_id IS NULL"),
    )
    tenant_table("pending_invoice_items", "SELECT, INSERT, UPDATE")

    op.create_table(
        "credit_transactions",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("invoice_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _tenant_fk("credit_transactions", "customer_id", "customers"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_credit_transactions")),
    )
    op.create_index(
        "ix_credit_transactions_customer",
        "credit_transactions",
        ["tenant_id", "customer_id", "currency"],
    )
    tenant_table("credit_transactions", "SELECT, INSERT")

    op.create_table(
        "document_sequences",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("series", sa.Text(), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "series", name=op.f("pk_document_sequences")),
    )
    tenant_table("document_sequences", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    for table in (
        "document_sequences",
        "credit_transactions",
        "pending_invoice_items",
        "invoice_lines",
        "invoices",
        "subscriptions",
    ):
        op.drop_table(table)
