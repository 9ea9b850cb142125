"""All SQL of the billing run's own records."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hisaab.billing.models import BillingBatch


def add(session: Session, batch: BillingBatch) -> None:
    session.add(batch)
