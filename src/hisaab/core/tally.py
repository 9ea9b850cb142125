"""Counts a transaction's work leaves for whoever runs it: the billing run records per batch how
many subscriptions and invoices it handled and how late the work was, without the domains
knowing about batches."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

_KEY = "hisaab.tally"


def _counts(session: Session) -> Counter[str]:
    counts: Counter[str] = session.info.setdefault(_KEY, Counter())
    return counts


def add(session: Session, key: str, amount: int = 1) -> None:
    _counts(session)[key] += amount


def at_least(session: Session, key: str, value: int) -> None:
    """Keep the largest value seen under `key`."""
    counts = _counts(session)
    counts[key] = max(counts[key], value)


def take(session: Session) -> Counter[str]:
    """The counts so far, and start over."""
    counts: Counter[str] = session.info.pop(_KEY, Counter())
    return counts
