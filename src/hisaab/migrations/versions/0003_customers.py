"""Customers and their payment methods.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hisaab.migrations.helpers import tenant_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("gstin", sa.Text(), nullable=True),
        sa.Column("vat_id", sa.Text(), nullable=True),
        sa.Column("sez", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), nullable=False),
        sa.Column("address", postgresql.JSONB(), nullable=True),
        sa.Column("test_clock_id", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("default_payment_method_id", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "test_clock_id"],
            ["test_clocks.tenant_id", "test_clocks.id"],
            name=op.f("fk_customers_tenant_id_test_clock_id_test_clocks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customers")),
    )
    op.create_index(
        "uq_customers_external_id",
        "customers",
        ["tenant_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.create_index("ix_customers_email", "customers", ["tenant_id", "email"])
    op.create_index("ix_customers_test_clock_id", "customers", ["tenant_id", "test_clock_id"])
    tenant_table("customers")

    op.create_table(
        "payment_methods",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("gateway", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("detached_at", TS, nullable=True),
        sa.CheckConstraint(
            "gateway IN ('sandbox', 'stripe', 'razorpay')",
            name=op.f("ck_payment_methods_gateway"),
        ),
        sa.CheckConstraint("type IN ('card', 'upi')", name=op.f("ck_payment_methods_type")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_payment_methods_tenant_id_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_payment_methods")),
        sa.UniqueConstraint(
            "tenant_id",
            "customer_id",
            "id",
            name=op.f("uq_payment_methods_tenant_id_customer_id_id"),
        ),
    )
    tenant_table("payment_methods")

    # One column, so one default per customer; it must name one of that customer's methods.
    op.create_foreign_key(
        "fk_customers_default_payment_method",
        "customers",
        "payment_methods",
        ["tenant_id", "id", "default_payment_method_id"],
        ["tenant_id", "customer_id", "id"],
    )


def downgrade() -> None:
    op.drop_constraint("fk_customers_default_payment_method", "customers", type_="foreignkey")
    op.drop_table("payment_methods")
    op.drop_table("customers")
