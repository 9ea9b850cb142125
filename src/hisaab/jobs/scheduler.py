"""Time-driven work: what is due, and doing it in time order.

Domains register a `DueWork` (renewals, retries, trial reminders …). The scheduler tick runs every
registration for customers on the system clock; a test-clock advance runs them for that clock's
customers one due instant at a time, so work happens in the order it would have in real time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session


class DueWork(Protocol):
    name: str

    def next_due(self, session: Session, clock_id: str | None, until: datetime) -> datetime | None:
        """The earliest instant ≤ `until` at which something of this kind is due, if any."""

    def run_due(self, session: Session, clock_id: str | None, now: datetime) -> int:
        """Do everything of this kind due at or before `now`; how many items were done."""


_registry: dict[str, DueWork] = {}


def register(work: DueWork) -> None:
    _registry[work.name] = work


def unregister(name: str) -> None:
    _registry.pop(name, None)


def next_due(session: Session, clock_id: str | None, until: datetime) -> datetime | None:
    instants = [
        instant
        for work in _registry.values()
        if (instant := work.next_due(session, clock_id, until)) is not None
    ]
    return min(instants, default=None)


def run_due(session: Session, clock_id: str | None, now: datetime) -> int:
    return sum(work.run_due(session, clock_id, now) for work in list(_registry.values()))
