"""All SQL of test clocks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hisaab.clocks.models import TestClock
from hisaab.core.pagination import PageRequest, Slice, fetch_page


def add(session: Session, clock: TestClock) -> None:
    session.add(clock)
    session.flush()


def get(
    session: Session, tenant_id: str, clock_id: str, *, for_update: bool = False
) -> TestClock | None:
    return session.get(TestClock, (tenant_id, clock_id), with_for_update=for_update)


def list_clocks(session: Session, page: PageRequest) -> Slice[TestClock]:
    return fetch_page(session, select(TestClock), TestClock.id, page)


def delete(session: Session, clock: TestClock) -> None:
    session.delete(clock)
    session.flush()
