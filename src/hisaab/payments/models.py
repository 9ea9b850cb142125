"""Payment attempts, refunds, each invoice's dunning state, and customers' gateway accounts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, OptionalTimestamp, TenantId, Timestamp, due_indexes
from hisaab.db import Base

ATTEMPT_STATUSES = ("scheduled", "processing", "succeeded", "failed", "requires_action", "canceled")
OPEN_ATTEMPT_STATUSES = ("scheduled", "processing")


class PaymentAttempt(Base):
    """One try at collecting an invoice. The row exists before the gateway is asked, and the
    gateway is always sent the row's own idempotency key, so however often a try is replayed
    (a second worker, a crash before commit, a duplicate job) the gateway charges it once."""

    __tablename__ = "payment_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"], ondelete="CASCADE"
        ),
        # DESIGN rule 4: one gateway charge per (invoice, attempt), enforced by the database.
        UniqueConstraint("tenant_id", "invoice_id", "attempt_number"),
        UniqueConstraint("tenant_id", "idempotency_key"),
        CheckConstraint(
            "status IN ('scheduled', 'processing', 'succeeded', 'failed', 'requires_action', "
            "'canceled')",
            name="status",
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        *due_indexes("ix_payment_attempts_due", "status = 'scheduled'", "scheduled_at"),
        Index("ix_payment_attempts_gateway_charge", "tenant_id", "gateway", "gateway_charge_id"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    invoice_id: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str] = mapped_column(Text)
    test_clock_id: Mapped[str | None] = mapped_column(Text)
    attempt_number: Mapped[int] = mapped_column(Integer)
    # What starts the try: the first charge, a dunning retry, a new payment method, a request.
    reason: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    # Fixed when the try is scheduled, so a replay sends the gateway exactly the same request.
    payment_method_id: Mapped[str | None] = mapped_column(Text)
    gateway: Mapped[str | None] = mapped_column(Text)
    off_session: Mapped[bool] = mapped_column(Boolean)
    idempotency_key: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    gateway_charge_id: Mapped[str | None] = mapped_column(Text)
    failure_code: Mapped[str | None] = mapped_column(Text)
    failure_message: Mapped[str | None] = mapped_column(Text)
    retryable: Mapped[bool] = mapped_column(Boolean)
    # Where the customer completes a payment that needs them (authentication, RBI limit).
    action_url: Mapped[str | None] = mapped_column(Text)
    scheduled_at: Mapped[Timestamp]
    created_at: Mapped[Timestamp]
    completed_at: Mapped[OptionalTimestamp]
    disputed_at: Mapped[OptionalTimestamp]


class Refund(Base):
    """Money returned through the gateway for a credit note, from one succeeded payment."""

    __tablename__ = "refunds"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "payment_id"],
            ["payment_attempts.tenant_id", "payment_attempts.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "idempotency_key"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_refunds_payment", "tenant_id", "payment_id"),
        # A gateway's refund webhook names the refund by the gateway's id.
        Index("ix_refunds_gateway_refund", "tenant_id", "gateway", "gateway_refund_id"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    payment_id: Mapped[str] = mapped_column(Text)
    invoice_id: Mapped[str] = mapped_column(Text)
    # The credit note that owes the money back; None for a refund made at the gateway directly.
    credit_note_id: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    gateway: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    gateway_refund_id: Mapped[str | None] = mapped_column(Text)
    failure_code: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[Timestamp]
    completed_at: Mapped[OptionalTimestamp]


class InvoiceDunning(Base):
    """Where chasing one invoice stands, from its first failed attempt to paid or given up."""

    __tablename__ = "invoice_dunning"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"], ondelete="CASCADE"
        ),
        CheckConstraint(
            "state IN ('retrying', 'action_required', 'recovered', 'exhausted', 'stopped')",
            name="state",
        ),
        *due_indexes(
            "ix_invoice_dunning_final",
            "state IN ('retrying', 'action_required')",
            "final_action_at",
        ),
        Index("ix_invoice_dunning_customer", "tenant_id", "customer_id"),
    )

    tenant_id: Mapped[TenantId]
    invoice_id: Mapped[str] = mapped_column(Text, primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text)
    subscription_id: Mapped[str | None] = mapped_column(Text)
    test_clock_id: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    first_failed_at: Mapped[Timestamp]
    # When the tenant's final action applies if the invoice is still unpaid.
    final_action_at: Mapped[Timestamp]
    final_action: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[Timestamp]


class GatewayCustomer(Base):
    """The customer's id at a gateway, created once (the request is idempotent per customer)."""

    __tablename__ = "gateway_customers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
    )

    tenant_id: Mapped[TenantId]
    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    gateway: Mapped[str] = mapped_column(Text, primary_key=True)
    gateway_customer_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]


GATEWAY_EVENT_OUTCOMES = ("applied", "unchanged", "unmatched", "ignored")


class GatewayEvent(Base):
    """One event a gateway sent us, kept once by the gateway's own event id: a redelivery (the
    gateway retries until it sees a 2xx) finds it here and changes nothing a second time."""

    __tablename__ = "gateway_events"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "gateway", "event_id"),
        CheckConstraint(
            "outcome IN ('applied', 'unchanged', 'unmatched', 'ignored')", name="outcome"
        ),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    gateway: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[Timestamp]
    # What the event did: changed one of our objects, found it already so, named nothing of ours,
    # or is a type Hisaab does not act on.
    outcome: Mapped[str] = mapped_column(Text)
    object_id: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
