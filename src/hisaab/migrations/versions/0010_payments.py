"""Payments: attempts against gateways, refunds, each invoice's dunning state, customers'
gateway accounts, and tenants' sealed gateway credentials.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hisaab.migrations.helpers import grant, tenant_table

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    # Sealed with hisaab.core.secrets; never returned by the API.
    op.add_column(
        "tenants",
        sa.Column("gateways", postgresql.JSONB(), nullable=False, server_default="{}"),
    )
    op.alter_column("tenants", "gateways", server_default=None)
    # Razorpay's recurring payments need the customer's phone number.
    op.add_column("customers", sa.Column("phone", sa.Text(), nullable=True))
    op.create_table(
        "payment_attempts",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("test_clock_id", sa.Text(), nullable=True),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("payment_method_id", sa.Text(), nullable=True),
        sa.Column("gateway", sa.Text(), nullable=True),
        sa.Column("off_session", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("gateway_charge_id", sa.Text(), nullable=True),
        sa.Column("failure_code", sa.Text(), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("action_url", sa.Text(), nullable=True),
        sa.Column("scheduled_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("disputed_at", TS, nullable=True),
        sa.CheckConstraint(
            "status IN ('scheduled', 'processing', 'succeeded', 'failed', 'requires_action', "
            "'canceled')",
            name=op.f("ck_payment_attempts_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_attempts_amount_positive")),
        _fk("payment_attempts", "invoice_id", "invoices"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_payment_attempts")),
        sa.UniqueConstraint(
            "tenant_id",
            "invoice_id",
            "attempt_number",
            name=op.f("uq_payment_attempts_tenant_id_invoice_id_attempt_number"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "idempotency_key",
            name=op.f("uq_payment_attempts_tenant_id_idempotency_key"),
        ),
    )
    op.create_index(
        "ix_payment_attempts_due",
        "payment_attempts",
        ["test_clock_id", "scheduled_at"],
        postgresql_where=sa.text("status = 'scheduled'"),
    )
    op.create_index(
        "ix_payment_attempts_gateway_charge",
        "payment_attempts",
        ["tenant_id", "gateway", "gateway_charge_id"],
    )
    tenant_table("payment_attempts", "SELECT, INSERT, UPDATE")

    op.create_table(
        "refunds",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("payment_id", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.Text(), nullable=False),
        sa.Column("credit_note_id", sa.Text(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("gateway", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("gateway_refund_id", sa.Text(), nullable=True),
        sa.Column("failure_code", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_refunds_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "payment_id"],
            ["payment_attempts.tenant_id", "payment_attempts.id"],
            name=op.f("fk_refunds_tenant_id_payment_attempts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_refunds")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_refunds_tenant_id_idempotency_key")
        ),
    )
    op.create_index("ix_refunds_payment", "refunds", ["tenant_id", "payment_id"])
    tenant_table("refunds", "SELECT, INSERT, UPDATE")

    op.create_table(
        "invoice_dunning",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.Text(), nullable=True),
        sa.Column("test_clock_id", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("first_failed_at", TS, nullable=False),
        sa.Column("final_action_at", TS, nullable=False),
        sa.Column("final_action", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "state IN ('retrying', 'action_required', 'recovered', 'exhausted', 'stopped')",
            name=op.f("ck_invoice_dunning_state"),
        ),
        _fk("invoice_dunning", "invoice_id", "invoices"),
        sa.PrimaryKeyConstraint("tenant_id", "invoice_id", name=op.f("pk_invoice_dunning")),
    )
    op.create_index(
        "ix_invoice_dunning_final",
        "invoice_dunning",
        ["test_clock_id", "final_action_at"],
        postgresql_where=sa.text("state IN ('retrying', 'action_required')"),
    )
    op.create_index("ix_invoice_dunning_customer", "invoice_dunning", ["tenant_id", "customer_id"])
    tenant_table("invoice_dunning", "SELECT, INSERT, UPDATE")

    op.create_table(
        "gateway_customers",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("gateway", sa.Text(), nullable=False),
        sa.Column("gateway_customer_id", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("gateway_customers", "customer_id", "customers"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "customer_id", "gateway", name=op.f("pk_gateway_customers")
        ),
    )
    tenant_table("gateway_customers", "SELECT, INSERT")
    # A request that commits part-way (core.http.checkpoint) stores its response over the mark.
    grant("idempotency_keys", "UPDATE")


def downgrade() -> None:
    op.drop_table("gateway_customers")
    op.drop_table("invoice_dunning")
    op.drop_table("refunds")
    op.drop_table("payment_attempts")
    op.drop_column("customers", "phone")
    op.drop_column("tenants", "gateways")
