"""Credit notes, exchange rates, tenant logo, INR values on foreign-currency invoices.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hisaab.migrations.helpers import tenant_table

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _tenant_fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.add_column("tenants", sa.Column("logo", sa.Text(), nullable=True))
    op.add_column("invoices", sa.Column("inr_values", postgresql.JSONB(), nullable=True))
    op.add_column("invoices", sa.Column("seller_snapshot", postgresql.JSONB(), nullable=True))
    op.add_column(
        "invoices",
        sa.Column("amount_credited", sa.BigInteger(), server_default="0", nullable=False),
    )

    op.create_table(
        "exchange_rates",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("rate_to_inr", sa.Numeric(18, 6), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("rate_to_inr > 0", name=op.f("ck_exchange_rates_positive")),
        sa.PrimaryKeyConstraint(
            "tenant_id", "currency", "effective_on", name=op.f("pk_exchange_rates")
        ),
    )
    tenant_table("exchange_rates", "SELECT, INSERT, UPDATE")

    op.create_table(
        "credit_notes",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("series", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("test_clock_id", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("credited_to_invoice", sa.BigInteger(), nullable=False),
        sa.Column("credited_to_balance", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("tax_lines", postgresql.JSONB(), nullable=False),
        sa.Column("place_of_supply", sa.Text(), nullable=True),
        sa.Column("reverse_charge", sa.Boolean(), nullable=False),
        sa.Column("notes", postgresql.JSONB(), nullable=False),
        sa.Column("inr_values", postgresql.JSONB(), nullable=True),
        sa.Column("customer_snapshot", postgresql.JSONB(), nullable=False),
        sa.Column("seller_snapshot", postgresql.JSONB(), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _tenant_fk("credit_notes", "invoice_id", "invoices"),
        _tenant_fk("credit_notes", "customer_id", "customers"),
        sa.CheckConstraint(
            "total = credited_to_invoice + credited_to_balance + refunded"
            " AND total = subtotal + tax AND total > 0",
            name=op.f("ck_credit_notes_allocated"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint(
            "tenant_id", "series", "number", name=op.f("uq_credit_notes_tenant_id_series_number")
        ),
    )
    op.create_index("ix_credit_notes_invoice", "credit_notes", ["tenant_id", "invoice_id"])
    op.create_index("ix_credit_notes_customer", "credit_notes", ["tenant_id", "customer_id"])
    tenant_table("credit_notes", "SELECT, INSERT")

    op.create_table(
        "credit_note_lines",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("credit_note_id", sa.Text(), nullable=False),
        sa.Column("invoice_line_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("sac_code", sa.Text(), nullable=True),
        sa.Column("taxable_amount", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_lines", postgresql.JSONB(), nullable=False),
        _tenant_fk("credit_note_lines", "credit_note_id", "credit_notes"),
        _tenant_fk("credit_note_lines", "invoice_line_id", "invoice_lines"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_credit_note_lines")),
    )
    op.create_index(
        "ix_credit_note_lines_note", "credit_note_lines", ["tenant_id", "credit_note_id"]
    )
    op.create_index(
        "ix_credit_note_lines_invoice_line", "credit_note_lines", ["tenant_id", "invoice_line_id"]
    )
    tenant_table("credit_note_lines", "SELECT, INSERT")


def downgrade() -> None:
    op.drop_table("credit_note_lines")
    op.drop_table("credit_notes")
    op.drop_table("exchange_rates")
    op.drop_column("invoices", "amount_credited")
    op.drop_column("invoices", "seller_snapshot")
    op.drop_column("invoices", "inr_values")
    op.drop_column("tenants", "logo")
