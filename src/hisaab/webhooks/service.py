"""Use cases of the event outbox.

`emit` is how every domain announces a state change (DESIGN rule 7): the event row is written in
the caller's transaction, so an event exists exactly when its change committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import pydantic_core
from pydantic import BaseModel
from sqlalchemy.orm import Session

from hisaab.core import bulk
from hisaab.core.ids import new_id
from hisaab.core.lookup import found
from hisaab.core.pagination import PageRequest, Slice
from hisaab.webhooks import repository
from hisaab.webhooks.models import Event


class EventRecord(Protocol):
    """What an event handler reads of an event: the one just emitted, or a stored `Event`."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def object_id(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...


class Emitted:
    """An event as `emit` writes it: a plain row, not an ORM object (a billing run emits
    thousands, and nothing changes them after).

    Inside a bulk batch the object is serialized once, to JSON, which is what the batch writes;
    `data` is parsed back from it only for a handler that reads it (most events have none that
    does). Outside one, `data` is built directly for the ORM row.
    """

    __slots__ = ("_data", "created_at", "data_json", "id", "object_id", "tenant_id", "type")

    def __init__(
        self,
        tenant_id: str,
        event_id: str,
        event_type: str,
        object_id: str,
        created_at: datetime,
        *,
        data: dict[str, Any] | None = None,
        data_json: str | None = None,
    ) -> None:
        if (data is None) == (data_json is None):
            raise ValueError("an event needs its data either as a dict or as JSON")
        self.tenant_id = tenant_id
        self.id = event_id
        self.type = event_type
        self.object_id = object_id
        self.created_at = created_at
        self.data_json = data_json
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            assert self.data_json is not None
            self._data = pydantic_core.from_json(self.data_json)
        return self._data


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
    "subscription.unpaid",
    "subscription.canceled",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "payment.succeeded",
    "payment.failed",
    "payment.scheduled",
    "payment.requires_action",
    "payment.refunded",
    "payment.disputed",
    "credit_note.created",
    "usage.threshold_reached",
)


def emit(
    session: Session, tenant_id: str, event_type: str, obj: BaseModel, now: datetime
) -> Emitted:
    """Record that `obj` (its API representation, as the API shows it now) changed."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    object_id = str(getattr(obj, "id", ""))
    if bulk.collecting(session):
        data_json = f'{{"object": {obj.model_dump_json()}}}'
        event = Emitted(tenant_id, new_id("evt"), event_type, object_id, now, data_json=data_json)
    else:
        data = {"object": obj.model_dump(mode="json")}
        event = Emitted(tenant_id, new_id("evt"), event_type, object_id, now, data=data)
    repository.add(session, event)
    dispatch(session, event)
    return event


# Called with every emitted event of its type, inside the emitting transaction: what a handler
# writes (an email to send, a webhook delivery) commits or rolls back with the change itself.
# In a bulk batch an invoice is numbered as the batch ends: until then its number, in the event
# and on the invoice, is a stand-in, which the rows the handler collects get replaced
# (`bulk.stand_in`).
EventHandler = Callable[[Session, EventRecord], None]
_handlers: dict[str, list[EventHandler]] = {}


def subscribe(event_type: str, handler: EventHandler) -> None:
    """Have `handler` called for each `event_type` event; subscribing twice calls it once."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(event_type: str, handler: EventHandler) -> None:
    handlers = _handlers.get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)


def dispatch(session: Session, event: EventRecord) -> None:
    """Run the event's handlers; also how a stored event is replayed, so handlers must treat a
    second call for the same event as a no-op."""
    for handler in list(_handlers.get(event.type, ())):
        handler(session, event)


def get(session: Session, tenant_id: str, event_id: str) -> Event:
    return found("event", "evt", event_id, lambda: repository.get(session, tenant_id, event_id))


def list_events(
    session: Session, page: PageRequest, event_type: str | None, object_id: str | None
) -> Slice[Event]:
    return repository.list_events(session, page, event_type, object_id)
