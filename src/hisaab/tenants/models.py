"""Tenants (the businesses Hisaab bills for) and their API keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, OptionalTimestamp, TenantId, Timestamp
from hisaab.db import Base


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)
    gstin: Mapped[str | None] = mapped_column(Text)
    base_currency: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text)
    invoice_prefix: Mapped[str] = mapped_column(Text)
    lut: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(Text)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # A data: URL (PNG or JPEG) printed on the tenant's invoices; validated on the way in.
    logo: Mapped[str | None] = mapped_column(Text)
    tax_registrations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    dunning: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Per gateway, its credentials sealed with hisaab.core.secrets (DESIGN rule 9).
    gateways: Mapped[dict[str, dict[str, str]]] = mapped_column(JSONB)
    # Moved by a trigger with every change to the tenant's webhook endpoints (migration 0019);
    # never written by the application. Authentication reads it, and the webhooks repository
    # keys its cache of enabled endpoints by it.
    webhooks_version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


class ApiKey(Base):
    __tablename__ = "api_keys"

    tenant_id: Mapped[TenantId] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    id: Mapped[ObjectId]
    secret_hash: Mapped[str] = mapped_column(Text, unique=True)
    last4: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]
    revoked_at: Mapped[OptionalTimestamp]
