"""Test clocks: a frozen time that a tenant moves forward to simulate billing cycles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Text
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, TenantId, Timestamp
from hisaab.db import Base


class TestClock(Base):
    __tablename__ = "test_clocks"
    __test__ = False  # not a pytest class

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    name: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    # What the API shows: the time asked for (the target while an advance runs).
    frozen_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # How far the clock's work has been done: the "now" of its customers while advancing.
    reached_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[Timestamp]
