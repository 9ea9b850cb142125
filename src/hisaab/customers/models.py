"""Customers (whom a tenant bills) and their payment methods (gateway tokens to charge)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, OptionalTimestamp, TenantId, Timestamp
from hisaab.db import Base


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        # Deleting a test clock deletes the customers that live on it (API.md "Test clocks").
        ForeignKeyConstraint(
            ["tenant_id", "test_clock_id"],
            ["test_clocks.tenant_id", "test_clocks.id"],
            ondelete="CASCADE",
        ),
        # The default is one of the customer's own payment methods; a single column means a
        # customer cannot have two defaults, however many requests race. The cycle with
        # payment_methods.customer_id is why the constraint is added after both tables.
        ForeignKeyConstraint(
            ["tenant_id", "id", "default_payment_method_id"],
            ["payment_methods.tenant_id", "payment_methods.customer_id", "payment_methods.id"],
            name="fk_customers_default_payment_method",
            use_alter=True,
        ),
        Index(
            "uq_customers_external_id",
            "tenant_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index("ix_customers_email", "tenant_id", "email"),
        Index("ix_customers_test_clock_id", "tenant_id", "test_clock_id"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    # The tenant's own id for the customer, to find it without keeping ours.
    external_id: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)
    gstin: Mapped[str | None] = mapped_column(Text)
    vat_id: Mapped[str | None] = mapped_column(Text)
    sez: Mapped[bool] = mapped_column(Boolean)
    currency: Mapped[str] = mapped_column(Text)
    # A CLDR locale identifier as Babel writes it: `en`, `en_IN`, `zh_Hant_TW`.
    locale: Mapped[str] = mapped_column(Text)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    test_clock_id: Mapped[str | None] = mapped_column(Text)
    # `metadata` is taken by SQLAlchemy's declarative base; the column keeps the API's name.
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    default_payment_method_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


class PaymentMethod(Base):
    __tablename__ = "payment_methods"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        # What the customer's default points at: a payment method *of that customer*.
        UniqueConstraint("tenant_id", "customer_id", "id"),
        CheckConstraint("gateway IN ('sandbox', 'stripe', 'razorpay')", name="gateway"),
        CheckConstraint("type IN ('card', 'upi')", name="type"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    customer_id: Mapped[str] = mapped_column(Text)
    gateway: Mapped[str] = mapped_column(Text)
    # The gateway's token for the instrument (never card data); charges send it back.
    token: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]
    # Detached methods are kept, so that past payments still name what they charged.
    detached_at: Mapped[OptionalTimestamp]
