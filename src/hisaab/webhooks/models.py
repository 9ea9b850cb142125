"""The outbox: every state change's event, written in the transaction that made the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, TenantId, Timestamp
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
