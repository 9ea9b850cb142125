"""Quotas already announced as reached, one row per subscription, meter and period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKeyConstraint, Text
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import TenantId, Timestamp
from hisaab.db import Base


class ThresholdMark(Base):
    __tablename__ = "usage_threshold_marks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "subscription_id"],
            ["subscriptions.tenant_id", "subscriptions.id"],
            ondelete="CASCADE",
        ),
    )

    tenant_id: Mapped[TenantId]
    subscription_id: Mapped[str] = mapped_column(Text, primary_key=True)
    meter: Mapped[str] = mapped_column(Text, primary_key=True)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    reached_at: Mapped[Timestamp]
