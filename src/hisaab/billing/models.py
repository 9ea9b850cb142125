"""One row per committed billing-run batch: the run's own record of what it did and how fast."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, TenantId, Timestamp
from hisaab.db import Base


class BillingBatch(Base):
    __tablename__ = "billing_batches"
    __table_args__ = (Index("ix_billing_batches_finished", "tenant_id", "finished_at"),)

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    worker: Mapped[str] = mapped_column(Text)
    started_at: Mapped[Timestamp]
    finished_at: Mapped[Timestamp]
    subscriptions: Mapped[int] = mapped_column(Integer)
    invoices: Mapped[int] = mapped_column(Integer)
    payments_succeeded: Mapped[int] = mapped_column(Integer)
    payments_failed: Mapped[int] = mapped_column(Integer)
    payments_pending: Mapped[int] = mapped_column(Integer)
    # How late the earliest item of the batch was, after its due time.
    max_lag_ms: Mapped[int] = mapped_column(BigInteger)
