"""Invoices, their lines, charges waiting for the next invoice, credit balance, number series."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, OptionalTimestamp, TenantId, Timestamp
from hisaab.db import Base

# Invoices that bill a subscription's period; at most one per (subscription, period start).
PERIOD_REASONS = ("subscription_create", "subscription_cycle")


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "subscription_id"],
            ["subscriptions.tenant_id", "subscriptions.id"],
            ondelete="CASCADE",
        ),
        # DESIGN rule 4: the database, not a check in Python, makes a second invoice for the
        # same period impossible, however many schedulers race.
        Index(
            "uq_invoices_subscription_period",
            "tenant_id",
            "subscription_id",
            "period_start",
            unique=True,
            postgresql_where=text(
                "billing_reason IN ('subscription_create', 'subscription_cycle')"
            ),
        ),
        UniqueConstraint("tenant_id", "series", "number"),
        Index("ix_invoices_customer", "tenant_id", "customer_id"),
        Index("ix_invoices_subscription", "tenant_id", "subscription_id"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    number: Mapped[str | None] = mapped_column(Text)
    series: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str] = mapped_column(Text)
    subscription_id: Mapped[str | None] = mapped_column(Text)
    test_clock_id: Mapped[str | None] = mapped_column(Text)
    billing_reason: Mapped[str] = mapped_column(Text)
    collection_method: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    credit_applied: Mapped[int] = mapped_column(BigInteger)
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger)
    amount_remaining: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[OptionalTimestamp]
    period_end: Mapped[OptionalTimestamp]
    issued_at: Mapped[OptionalTimestamp]
    due_at: Mapped[OptionalTimestamp]
    paid_at: Mapped[OptionalTimestamp]
    paid_out_of_band: Mapped[bool] = mapped_column(Boolean)
    voided_at: Mapped[OptionalTimestamp]
    marked_uncollectible_at: Mapped[OptionalTimestamp]
    place_of_supply: Mapped[str | None] = mapped_column(Text)
    reverse_charge: Mapped[bool] = mapped_column(Boolean)
    tax_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    notes: Mapped[list[str]] = mapped_column(JSONB)
    # The customer as it was when the invoice was issued: a finalized document never changes.
    customer_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The tenant's legal identity (name, address, GSTIN, registrations) as issued; None only on
    # invoices issued before it was recorded, which print the tenant's current profile.
    seller_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # A GST tenant's foreign-currency invoice in rupees (rule 34 of the CGST Rules), or None.
    inr_values: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


class BilledLine:
    """What a line bills, the same whether it waits for an invoice or is on one."""

    kind: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[Timestamp]
    period_end: Mapped[Timestamp]
    plan_id: Mapped[str | None] = mapped_column(Text)
    plan_version: Mapped[int | None] = mapped_column(Integer)
    sac_code: Mapped[str | None] = mapped_column(Text)
    tax_behavior: Mapped[str] = mapped_column(Text)


class InvoiceLine(BilledLine, Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            ondelete="CASCADE",
        ),
        Index("ix_invoice_lines_invoice", "tenant_id", "invoice_id", "position"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    invoice_id: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    discount_amount: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    tax_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # A usage line's meter, exact quantity (a decimal string), pricing model and tiers used.
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    @property
    def proration(self) -> bool:
        return self.kind == "proration"

    @property
    def taxable_amount(self) -> int:
        """What the line earns without tax, after its discount: the value tax is charged on,
        revenue is recognised from, and credit notes take back."""
        inclusive_tax = self.tax if self.tax_behavior == "inclusive" else 0
        return self.amount - self.discount_amount - inclusive_tax


class PendingItem(BilledLine, Base):
    """A charge or credit waiting for the customer's next invoice (`create_prorations`)."""

    __tablename__ = "pending_invoice_items"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "subscription_id"],
            ["subscriptions.tenant_id", "subscriptions.id"],
            ondelete="CASCADE",
        ),
        Index(
            "ix_pending_invoice_items_open",
            "tenant_id",
            "subscription_id",
            postgresql_where=text("invoice_id IS NULL"),
        ),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    customer_id: Mapped[str] = mapped_column(Text)
    subscription_id: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    # Insertion order: items created in one request keep their order on the invoice.
    sequence: Mapped[int] = mapped_column(BigInteger, Identity())
    # Set when an invoice takes the item; the item is then history.
    invoice_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp]


class CreditTransaction(Base):
    """One movement of a customer's credit balance: + granted (a net credit), - used by an
    invoice. The balance is their sum, never stored, so it cannot drift from its history."""

    __tablename__ = "credit_transactions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        Index("ix_credit_transactions_customer", "tenant_id", "customer_id", "currency"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    customer_id: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    invoice_id: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]


class DocumentSequence(Base):
    """The last number handed out in one series (see numbering.py)."""

    __tablename__ = "document_sequences"

    tenant_id: Mapped[TenantId]
    series: Mapped[str] = mapped_column(Text, primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)


class CreditNote(Base):
    """A correction of an issued invoice (CGST Act s. 34): it takes value and tax off the invoice
    and says where the money went: off what is still owed, to the customer's credit balance, or
    back to the customer. Issued once, never changed (DESIGN rule 6)."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(
            "total = credited_to_invoice + credited_to_balance + refunded"
            " AND total = subtotal + tax AND total > 0",
            name="allocated",
        ),
        UniqueConstraint("tenant_id", "series", "number"),
        Index("ix_credit_notes_invoice", "tenant_id", "invoice_id"),
        Index("ix_credit_notes_customer", "tenant_id", "customer_id"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    number: Mapped[str] = mapped_column(Text)
    series: Mapped[str] = mapped_column(Text)
    invoice_id: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str] = mapped_column(Text)
    test_clock_id: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    memo: Mapped[str | None] = mapped_column(Text)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    credited_to_invoice: Mapped[int] = mapped_column(BigInteger)
    credited_to_balance: Mapped[int] = mapped_column(BigInteger)
    refunded: Mapped[int] = mapped_column(BigInteger)
    tax_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    place_of_supply: Mapped[str | None] = mapped_column(Text)
    reverse_charge: Mapped[bool] = mapped_column(Boolean)
    notes: Mapped[list[str]] = mapped_column(JSONB)
    inr_values: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    customer_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    seller_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    issued_at: Mapped[Timestamp]
    created_at: Mapped[Timestamp]


class CreditNoteLine(Base):
    """How much of one invoice line a credit note takes back, and the tax on that."""

    __tablename__ = "credit_note_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "credit_note_id"],
            ["credit_notes.tenant_id", "credit_notes.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "invoice_line_id"],
            ["invoice_lines.tenant_id", "invoice_lines.id"],
            ondelete="CASCADE",
        ),
        Index("ix_credit_note_lines_note", "tenant_id", "credit_note_id"),
        Index("ix_credit_note_lines_invoice_line", "tenant_id", "invoice_line_id"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    credit_note_id: Mapped[str] = mapped_column(Text)
    invoice_line_id: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    sac_code: Mapped[str | None] = mapped_column(Text)
    taxable_amount: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    tax_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


class ExchangeRate(Base):
    """The rupee value of one unit of a foreign currency from a day on, as the tenant declares it
    (API.md: `PUT /v1/exchange_rates/{CUR}`); a GST invoice in that currency records it."""

    __tablename__ = "exchange_rates"
    __table_args__ = (CheckConstraint("rate_to_inr > 0", name="positive"),)

    tenant_id: Mapped[TenantId]
    currency: Mapped[str] = mapped_column(Text, primary_key=True)
    effective_on: Mapped[date] = mapped_column(Date, primary_key=True)
    rate_to_inr: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
