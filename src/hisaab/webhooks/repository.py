"""All SQL of the event outbox."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hisaab.core.pagination import PageRequest, Slice, fetch_page
from hisaab.webhooks.models import Event


def add(session: Session, event: Event) -> None:
    session.add(event)


def get(session: Session, tenant_id: str, event_id: str) -> Event | None:
    return session.get(Event, (tenant_id, event_id))


def list_events(
    session: Session, page: PageRequest, event_type: str | None, object_id: str | None
) -> Slice[Event]:
    statement = select(Event)
    if event_type is not None:
        statement = statement.where(Event.type == event_type)
    if object_id is not None:
        statement = statement.where(Event.object_id == object_id)
    return fetch_page(session, statement, Event.id, page)
