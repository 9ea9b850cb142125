"""The ledger: chart of accounts per tenant and currency, append-only journal.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hisaab.migrations.helpers import tenant_table

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


ONCE_KINDS = (
    "kind IN ('invoice_finalized', 'invoice_paid', 'invoice_written_off', 'invoice_voided', "
    "'credit_note')"
)


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("normal_balance", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "currency", "code", name=op.f("pk_ledger_accounts")),
    )
    # Accounts are created on first use and never renamed or removed.
    tenant_table("ledger_accounts", "SELECT, INSERT")

    op.create_table(
        "journal_entries",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("test_clock_id", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("source_type", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("posted_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "test_clock_id"],
            ["test_clocks.tenant_id", "test_clocks.id"],
            name=op.f("fk_journal_entries_tenant_id_test_clock_id_test_clocks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint(
            "tenant_id", "id", "currency", name=op.f("uq_journal_entries_tenant_id_id_currency")
        ),
    )
    op.create_index(
        "uq_journal_entries_once",
        "journal_entries",
        ["tenant_id", "source_id", "kind"],
        unique=True,
        postgresql_where=sa.text(ONCE_KINDS),
    )
    op.create_index("ix_journal_entries_source", "journal_entries", ["tenant_id", "source_id"])
    # DESIGN rule 5: append-only. Corrections are new entries, never an UPDATE or DELETE.
    tenant_table("journal_entries", "SELECT, INSERT")

    op.create_table(
        "journal_lines",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.Text(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("account_code", sa.Text(), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("invoice_id", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)",
            name=op.f("ck_journal_lines_one_side"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "entry_id", "currency"],
            ["journal_entries.tenant_id", "journal_entries.id", "journal_entries.currency"],
            name="fk_journal_lines_entry",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "currency", "account_code"],
            ["ledger_accounts.tenant_id", "ledger_accounts.currency", "ledger_accounts.code"],
            name="fk_journal_lines_account",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "entry_id", "line_no", name=op.f("pk_journal_lines")),
    )
    op.create_index("ix_journal_lines_invoice", "journal_lines", ["tenant_id", "invoice_id"])
    op.create_index("ix_journal_lines_customer", "journal_lines", ["tenant_id", "customer_id"])
    op.create_index(
        "ix_journal_lines_account", "journal_lines", ["tenant_id", "currency", "account_code"]
    )
    tenant_table("journal_lines", "SELECT, INSERT")

    op.create_table(
        "revenue_schedule",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("invoice_line_id", sa.Text(), nullable=False),
        sa.Column("recognize_at", TS, nullable=False),
        sa.Column("invoice_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("test_clock_id", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'recognized', 'canceled')",
            name=op.f("ck_revenue_schedule_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name=op.f("fk_revenue_schedule_tenant_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "invoice_line_id", "recognize_at", name=op.f("pk_revenue_schedule")
        ),
    )
    op.create_index(
        "ix_revenue_schedule_due",
        "revenue_schedule",
        ["tenant_id", "test_clock_id", "recognize_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_revenue_schedule_invoice", "revenue_schedule", ["tenant_id", "invoice_id"])
    # UPDATE: a slice moves from pending to recognized or canceled; the journal records the money.
    tenant_table("revenue_schedule", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    for table in ("revenue_schedule", "journal_lines", "journal_entries", "ledger_accounts"):
        op.drop_table(table)
