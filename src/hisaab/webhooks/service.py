"""Use cases of the event outbox.

`emit` is how every domain announces a state change (DESIGN rule 7): the event row is written in
the caller's transaction, so an event exists exactly when its change committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from hisaab.core.ids import new_id
from hisaab.core.lookup import found
from hisaab.core.pagination import PageRequest, Slice
from hisaab.webhooks import repository
from hisaab.webhooks.models import Event

EVENT_TYPES = (
    "customer.created",
    "customer.updated",
    "plan.created",
    "plan.updated",
    "plan.archived",
    "coupon.created",
    "subscription.created",
    "subscription.updated",
    "subscription.trial_will_end",
    "subscription.paused",
    "subscription.resumed",
    "subscription.past_due",
    "subscription.canceled",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "payment.succeeded",
    "payment.failed",
    "credit_note.created",
)


def emit(session: Session, tenant_id: str, event_type: str, obj: BaseModel, now: datetime) -> Event:
    """Record that `obj` (its API representation, as the API shows it now) changed."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    payload: dict[str, Any] = obj.model_dump(mode="json")
    event = Event(
        tenant_id=tenant_id,
        id=new_id("evt"),
        type=event_type,
        object_id=str(payload.get("id", "")),
        data={"object": payload},
        created_at=now,
    )
    repository.add(session, event)
    return event


def get(session: Session, tenant_id: str, event_id: str) -> Event:
    return found("event", "evt", event_id, lambda: repository.get(session, tenant_id, event_id))


def list_events(
    session: Session, page: PageRequest, event_type: str | None, object_id: str | None
) -> Slice[Event]:
    return repository.list_events(session, page, event_type, object_id)
