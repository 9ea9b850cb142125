"""All SQL of the event outbox and of outbound webhooks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hisaab.core import bulk
from hisaab.core.pagination import PageRequest, Slice, fetch_page
from hisaab.core.queries import any_of
from hisaab.db import run_sql
from hisaab.webhooks.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from hisaab.webhooks.service import Emitted


def add(session: Session, event: Emitted) -> None:
    """With the rest of a bulk batch (nothing reads an event back in the transaction that emits
    it), else with the session's next flush."""
    if bulk.collecting(session):
        data = event.data if event.data_json is None else bulk.JsonText(event.data_json)
        bulk.insert_row(session, Event.__table__, {**_columns(event), "data": data})  # type: ignore[arg-type]
    else:
        session.add(Event(**_columns(event), data=event.data))


def add_all(session: Session, events: Sequence[Emitted]) -> None:
    """Events emitted outside a bulk batch, in one statement now."""
    bulk.insert_rows(
        session,
        Event.__table__,  # type: ignore[arg-type]
        [{**_columns(event), "data": event.data} for event in events],
    )


def _columns(event: Emitted) -> dict[str, Any]:
    return {
        "tenant_id": event.tenant_id,
        "id": event.id,
        "type": event.type,
        "object_id": event.object_id,
        "created_at": event.created_at,
    }


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


# --- endpoints ----------------------------------------------------------------------------


def add_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    session.add(endpoint)
    session.flush()


def get_endpoint(
    session: Session, tenant_id: str, endpoint_id: str, *, for_update: bool = False
) -> WebhookEndpoint | None:
    return session.get(
        WebhookEndpoint,
        (tenant_id, endpoint_id),
        with_for_update=for_update,
        populate_existing=for_update,
    )


def list_endpoints(session: Session, page: PageRequest) -> Slice[WebhookEndpoint]:
    return fetch_page(session, select(WebhookEndpoint), WebhookEndpoint.id, page)


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    session.delete(endpoint)
    session.flush()


class Target(NamedTuple):
    """An enabled endpoint as a delivery needs it: whose it is, which, and what it takes."""

    tenant_id: str
    id: str
    events: list[str]


def endpoints_for(session: Session, event_type: str) -> Sequence[Target]:
    """The tenant's enabled endpoints that take events of this type (the tenant's endpoints are
    read once per bulk batch or `memoizing` block, whatever types it emits)."""
    enabled = bulk.memo(session, "webhook_endpoints", lambda: _enabled_endpoints(session))
    return [e for e in enabled if "*" in e.events or event_type in e.events]


_ENABLED = (
    "SELECT tenant_id, id, events FROM webhook_endpoints WHERE disabled_at IS NULL ORDER BY id"
)


def _enabled_endpoints(session: Session) -> list[Target]:
    """Plain rows through the driver: every request that emits an event asks (most tenants have
    no endpoint, or a few), and the ORM's statement and objects cost more than the answer."""
    rows = run_sql(session, _ENABLED).all()
    return [Target(row.tenant_id, row.id, row.events) for row in rows]


# --- deliveries ---------------------------------------------------------------------------


def add_delivery_once(session: Session, values: dict[str, Any]) -> bool:
    """Insert unless this (endpoint, event) already has a delivery; whether it was inserted.

    ON CONFLICT rather than a check first: two transactions replaying the same event cannot
    both see "none yet".
    """
    return bulk.insert_row(
        session,
        WebhookDelivery.__table__,  # type: ignore[arg-type]
        values,
        once_on=("tenant_id", "endpoint_id", "event_id"),
    )


def get_delivery(
    session: Session, tenant_id: str, endpoint_id: str, delivery_id: str
) -> WebhookDelivery | None:
    delivery = session.get(WebhookDelivery, (tenant_id, delivery_id))
    return delivery if delivery is not None and delivery.endpoint_id == endpoint_id else None


def find_delivery(session: Session, endpoint_id: str, event_id: str) -> WebhookDelivery | None:
    statement = select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id,
        WebhookDelivery.event_id == event_id,
    )
    return session.scalars(statement).one_or_none()


def lock_delivery(session: Session, tenant_id: str, delivery_id: str) -> WebhookDelivery | None:
    """The delivery, locked until the transaction ends: a second job for it waits here, then
    finds it already tried."""
    return session.get(
        WebhookDelivery, (tenant_id, delivery_id), with_for_update=True, populate_existing=True
    )


def list_deliveries(
    session: Session, endpoint_id: str, page: PageRequest, status: str | None
) -> Slice[WebhookDelivery]:
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    return fetch_page(session, statement, WebhookDelivery.id, page)


# --- attempts -----------------------------------------------------------------------------


def add_attempt(session: Session, attempt: WebhookAttempt) -> None:
    session.add(attempt)


def attempts_of(session: Session, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
    """Each delivery's attempts, oldest first, in one query for a whole page."""
    found: dict[str, list[WebhookAttempt]] = defaultdict(list)
    if not delivery_ids:
        return found
    statement = (
        select(WebhookAttempt)
        .where(any_of(WebhookAttempt.delivery_id, delivery_ids))
        .order_by(WebhookAttempt.id)
    )
    for attempt in session.scalars(statement):
        found[attempt.delivery_id].append(attempt)
    return found


def first_attempt_at(session: Session, delivery_id: str) -> datetime | None:
    statement = select(func.min(WebhookAttempt.attempted_at)).where(
        WebhookAttempt.delivery_id == delivery_id
    )
    return session.execute(statement).scalar_one_or_none()


def last_success_at(session: Session, endpoint_id: str) -> datetime | None:
    statement = select(func.max(WebhookAttempt.attempted_at)).where(
        WebhookAttempt.endpoint_id == endpoint_id,
        WebhookAttempt.succeeded.is_(True),
    )
    return session.execute(statement).scalar_one_or_none()
