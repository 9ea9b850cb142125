"""Subscriptions: a customer on a plan version, and where it stands in time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, OptionalTimestamp, TenantId, Timestamp, due_indexes
from hisaab.db import Base


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "plan_id", "plan_version"],
            ["plan_versions.tenant_id", "plan_versions.plan_id", "plan_versions.version"],
        ),
        ForeignKeyConstraint(["tenant_id", "coupon_id"], ["coupons.tenant_id", "coupons.id"]),
        # The scheduler's question: whose next action is due on this clock (NULL: system clock)?
        *due_indexes("ix_subscriptions_due", "next_action_at IS NOT NULL", "next_action_at", "id"),
        Index("ix_subscriptions_customer", "tenant_id", "customer_id"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    customer_id: Mapped[str] = mapped_column(Text)
    # Copied from the customer, which cannot change clocks, so due work is found per clock.
    test_clock_id: Mapped[str | None] = mapped_column(Text)
    plan_id: Mapped[str] = mapped_column(Text)
    plan_version: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(Text)
    # The plan version's price in `currency`; versions never change, so this is a copy.
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text)
    collection_method: Mapped[str] = mapped_column(Text)
    days_until_due: Mapped[int | None] = mapped_column(Integer)
    start_at: Mapped[Timestamp]
    billing_cycle_anchor: Mapped[OptionalTimestamp]
    current_period_start: Mapped[OptionalTimestamp]
    current_period_end: Mapped[OptionalTimestamp]
    trial_start: Mapped[OptionalTimestamp]
    trial_end: Mapped[OptionalTimestamp]
    # When `subscription.trial_will_end` is due; cleared once it has been emitted.
    trial_will_end_at: Mapped[OptionalTimestamp]
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean)
    canceled_at: Mapped[OptionalTimestamp]
    ended_at: Mapped[OptionalTimestamp]
    paused_at: Mapped[OptionalTimestamp]
    coupon_id: Mapped[str | None] = mapped_column(Text)
    # Lines of periods starting at or after this get no discount (NULL with a coupon: forever).
    discount_end: Mapped[OptionalTimestamp]
    latest_invoice_id: Mapped[str | None] = mapped_column(Text)
    # A change waiting for the period end: {plan_id, plan_version, quantity, unit_amount}.
    scheduled_change: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The earliest instant at which time alone moves this subscription on (None: never).
    next_action_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
