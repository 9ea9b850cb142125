"""The outbox (every state change's event, written in the transaction that made the change) and
the outbound webhooks that carry events to tenants' URLs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, OptionalTimestamp, TenantId, Timestamp
from hisaab.db import Base


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_tenant_id_type", "tenant_id", "type"),)

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    type: Mapped[str] = mapped_column(Text)
    # The id of the object the event is about (`sub_…`, `in_…`), for filtering.
    object_id: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[Timestamp]


class WebhookEndpoint(Base):
    """A URL of the tenant's that receives its events, signed with the endpoint's own secret."""

    __tablename__ = "webhook_endpoints"

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    url: Mapped[str] = mapped_column(Text)
    # Event types it receives; `["*"]` is every type, including ones added later.
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    description: Mapped[str | None] = mapped_column(Text)
    # `whsec_…` sealed with `core.secrets`: a database dump alone cannot forge deliveries.
    secret_sealed: Mapped[str] = mapped_column(Text)
    disabled_at: Mapped[OptionalTimestamp]
    # `manual` (PATCH disabled=true) or `failing` (see `schedule.py`); null while enabled.
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


class WebhookDelivery(Base):
    """One event owed to one endpoint. Written in the event's transaction; the unique
    (endpoint, event) makes a replayed event find its delivery already there."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "endpoint_id", "event_id"),
        ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_webhook_deliveries_endpoint", "tenant_id", "endpoint_id", "id"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    endpoint_id: Mapped[str] = mapped_column(Text)
    # No foreign key to the event, as for mail: the delivery log outlives a pruned outbox.
    event_id: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    # Every HTTP try, manual ones included; a job acts only if this still is what it was
    # enqueued with, so a duplicate or overtaken job does nothing.
    attempt_count: Mapped[int] = mapped_column(Integer)
    # Tries made by the retry schedule alone: which wait comes next (manual tries do not count).
    scheduled_attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[OptionalTimestamp]
    delivered_at: Mapped[OptionalTimestamp]
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


class WebhookAttempt(Base):
    """One HTTP try of a delivery, as the receiver answered it (append-only)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["webhook_deliveries.tenant_id", "webhook_deliveries.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("trigger IN ('scheduled', 'manual')", name="trigger"),
        Index("ix_webhook_attempts_delivery", "tenant_id", "delivery_id"),
        # "Has the endpoint answered 2xx since …?" decides whether it is disabled.
        Index("ix_webhook_attempts_endpoint", "tenant_id", "endpoint_id", "attempted_at"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    delivery_id: Mapped[str] = mapped_column(Text)
    endpoint_id: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(Text)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    # Null when no HTTP answer came (timeout, refused connection, DNS).
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)
    attempted_at: Mapped[Timestamp]
