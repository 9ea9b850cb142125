"""The chart of accounts, the append-only journal, and the revenue recognition schedule.

Structure carries as many invariants as it can: a line's currency is its entry's (the foreign
key to (entry, currency)) and its account's (the foreign key to (currency, code)); a line is one
positive side (check constraint); an invoice posts each one-off event at most once (unique
index). The application role may only SELECT and INSERT journal rows (migration 0006), so a
correction is always a new entry. What structure cannot say (an entry balances, balances match
the documents) `verify.py` checks.

A customer on a test clock has simulated books: entries carry the clock, and deleting the clock
deletes them (ON DELETE CASCADE runs as the table owner, so the app role needs no DELETE).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, TenantId, Timestamp, due_indexes
from hisaab.db import Base

# Events that happen to a document once; recognitions repeat (one per slice instant).
ONCE_KINDS = (
    "invoice_finalized",
    "invoice_paid",
    "invoice_written_off",
    "invoice_voided",
    "credit_note",
)
ONCE_KINDS_SQL = "kind IN ({})".format(", ".join(f"'{k}'" for k in ONCE_KINDS))


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"

    tenant_id: Mapped[TenantId]
    currency: Mapped[str] = mapped_column(Text, primary_key=True)
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    normal_balance: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "test_clock_id"],
            ["test_clocks.tenant_id", "test_clocks.id"],
            ondelete="CASCADE",
        ),
        # The target of journal_lines' foreign key: a line is in its entry's currency.
        UniqueConstraint("tenant_id", "id", "currency"),
        Index(
            "uq_journal_entries_once",
            "tenant_id",
            "source_id",
            "kind",
            unique=True,
            postgresql_where=text(ONCE_KINDS_SQL),
        ),
        Index("ix_journal_entries_source", "tenant_id", "source_id"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    # None: the real books; a clock id: that test clock's simulated books.
    test_clock_id: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    source_type: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(Text)
    # When it happened on the customer's clock (the accounting date); posted_at is wall time.
    occurred_at: Mapped[Timestamp]
    posted_at: Mapped[Timestamp]


class JournalLine(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "entry_id", "currency"],
            ["journal_entries.tenant_id", "journal_entries.id", "journal_entries.currency"],
            name="fk_journal_lines_entry",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "currency", "account_code"],
            ["ledger_accounts.tenant_id", "ledger_accounts.currency", "ledger_accounts.code"],
            name="fk_journal_lines_account",
        ),
        CheckConstraint(
            "debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)", name="one_side"
        ),
        Index("ix_journal_lines_invoice", "tenant_id", "invoice_id"),
        Index("ix_journal_lines_customer", "tenant_id", "customer_id"),
        Index("ix_journal_lines_account", "tenant_id", "currency", "account_code"),
    )

    tenant_id: Mapped[TenantId]
    entry_id: Mapped[str] = mapped_column(Text, primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(Text)
    account_code: Mapped[str] = mapped_column(Text)
    debit: Mapped[int] = mapped_column(BigInteger)
    credit: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str | None] = mapped_column(Text)
    invoice_id: Mapped[str | None] = mapped_column(Text)


class RecognitionSlice(Base):
    """Deferred revenue of one invoice line that becomes revenue at `recognize_at`.

    Written once at finalize (one row per line and instant); the due work marks a slice
    `recognized` with the entry that posted it, a void marks what is left `canceled`.
    """

    __tablename__ = "revenue_schedule"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"], ondelete="CASCADE"
        ),
        CheckConstraint("status IN ('pending', 'recognized', 'canceled')", name="status"),
        *due_indexes(
            "ix_revenue_schedule_due",
            "status = 'pending'",
            "recognize_at",
            "invoice_id",
            "invoice_line_id",
        ),
        Index("ix_revenue_schedule_invoice", "tenant_id", "invoice_id"),
    )

    tenant_id: Mapped[TenantId]
    invoice_line_id: Mapped[str] = mapped_column(Text, primary_key=True)
    recognize_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str] = mapped_column(Text)
    test_clock_id: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    period_start: Mapped[Timestamp]
    period_end: Mapped[Timestamp]
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[str | None] = mapped_column(Text)
