"""All SQL of entitlements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hisaab.entitlements.models import ThresholdMark


def mark_reached(
    session: Session, tenant_id: str, subscription_id: str, meter: str, period_start: datetime
) -> bool:
    """Record the quota reached; False if it already was this period (nothing is announced)."""
    inserted = session.execute(
        insert(ThresholdMark)
        .values(
            tenant_id=tenant_id,
            subscription_id=subscription_id,
            meter=meter,
            period_start=period_start,
            reached_at=func.now(),
        )
        .on_conflict_do_nothing()
        .returning(ThresholdMark.meter)
    ).first()
    return inserted is not None
