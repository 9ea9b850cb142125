"""The audit log: one row per mutating API call. The app role may insert and read, never alter."""

from __future__ import annotations

from sqlalchemy import Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, TenantId, Timestamp
from hisaab.db import Base


class AuditEntry(Base):
    __tablename__ = "audit_log"

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    occurred_at: Mapped[Timestamp]
    actor: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
