"""Plans, their immutable versions and prices, and coupons.

A plan is a stable identity (code, name, status); what a subscriber pays and gets lives in a
numbered version that is never changed once written, so a subscription that points at
(plan_id, version) bills the same way until it is moved, whatever the plan becomes later.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hisaab.core.models import ObjectId, OptionalTimestamp, TenantId, Timestamp
from hisaab.db import Base


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("status IN ('active', 'archived')", name="status"),
        CheckConstraint("current_version >= 1", name="current_version"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    # The version new subscriptions get; older versions stay for those already on them.
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
    archived_at: Mapped[OptionalTimestamp]


class PlanVersion(Base):
    """Append-only: the application role may insert and read versions, never change them."""

    __tablename__ = "plan_versions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "plan_id"], ["plans.tenant_id", "plans.id"]),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("interval IN ('day', 'week', 'month', 'year')", name="interval"),
        CheckConstraint("interval_count BETWEEN 1 AND 365", name="interval_count"),
        CheckConstraint("trial_days BETWEEN 0 AND 730", name="trial_days"),
        CheckConstraint("tax_behavior IN ('exclusive', 'inclusive')", name="tax_behavior"),
        CheckConstraint("jsonb_typeof(charges) = 'array'", name="charges"),
    )

    tenant_id: Mapped[TenantId]
    plan_id: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    interval: Mapped[str] = mapped_column(Text)
    interval_count: Mapped[int] = mapped_column(Integer)
    trial_days: Mapped[int] = mapped_column(Integer)
    tax_behavior: Mapped[str] = mapped_column(Text)
    sac_code: Mapped[str] = mapped_column(Text)
    features: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Metered charges as `usage.pricing.Charge.as_json` writes them, sorted by (meter, currency).
    # JSON rather than rows: they are read and written only whole, with their version.
    charges: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    created_at: Mapped[Timestamp]

    prices: Mapped[list[PlanPrice]] = relationship(
        lazy="selectin", order_by="PlanPrice.currency", cascade="all"
    )


class PlanPrice(Base):
    """One currency's price of a plan version; as immutable as the version it belongs to."""

    __tablename__ = "plan_prices"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "plan_id", "version"],
            ["plan_versions.tenant_id", "plan_versions.plan_id", "plan_versions.version"],
        ),
        CheckConstraint("unit_amount BETWEEN 0 AND 1000000000000", name="unit_amount"),
    )

    tenant_id: Mapped[TenantId]
    plan_id: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(Text, primary_key=True)
    unit_amount: Mapped[int] = mapped_column(BigInteger)


class Coupon(Base):
    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("status IN ('active', 'archived')", name="status"),
        CheckConstraint("(percent_off IS NULL) <> (amount_off IS NULL)", name="one_discount"),
        CheckConstraint("(amount_off IS NULL) = (currency IS NULL)", name="amount_currency"),
        CheckConstraint("percent_off > 0 AND percent_off <= 100", name="percent_off"),
        CheckConstraint("amount_off BETWEEN 1 AND 1000000000000", name="amount_off"),
        CheckConstraint("duration IN ('once', 'repeating', 'forever')", name="duration"),
        CheckConstraint(
            "(duration = 'repeating') = (duration_in_periods IS NOT NULL)",
            name="duration_in_periods",
        ),
        CheckConstraint("max_redemptions >= 1", name="max_redemptions"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    percent_off: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    amount_off: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(Text)
    duration: Mapped[str] = mapped_column(Text)
    duration_in_periods: Mapped[int | None] = mapped_column(Integer)
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    redeem_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]
