"""All SQL of the event outbox and of outbound webhooks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, object_session

from hisaab.core import bulk
from hisaab.core.pagination import PageRequest, Slice, fetch_page
from hisaab.core.queries import any_of
from hisaab.core.tenancy import forget_webhooks_version, webhooks_version
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
    enabled = bulk.memo(session, "webhook_endpoints", lambda: _enabled(session))
    return [e for e in enabled if "*" in e.events or event_type in e.events]


# Per process: each tenant's enabled endpoints, with the `webhooks_version` they are those of.
# Plain dict reads and writes (atomic under the GIL; never iterated), emptied when full.
_cache: dict[str, tuple[int, Sequence[Target]]] = {}
_MAX_CACHED = 100_000


def _enabled(session: Session) -> Sequence[Target]:
    """The enabled endpoints of the scope's tenant: from the per-process cache when the request
    knows its tenant's endpoints version and the cache holds that version, else read.

    Why a hit is never stale. The version is a count of the tenant's endpoint changes, moved by
    a trigger in the transaction of each change (migration 0019); authentication by API key
    reads it in the statement that binds the transaction to the tenant's scope, the
    transaction's first (`core.http._open`), and notes it for that transaction only
    (`core.tenancy.webhooks_version` answers nothing in a later transaction of the session, nor
    once this one has changed an endpoint itself: see `_forget`). A cache entry is written from
    one statement that reads the endpoints and the version together, so it holds exactly the
    endpoints of that version. A hit therefore gives the endpoints committed as of the request's
    first statement; a miss reads them now, as every request did before.

    The transaction is READ COMMITTED, so an endpoint change committed by another transaction
    between this request's first statement and its event is seen by a read now but not by a
    hit. That is accepted, not closed: such a change is concurrent with the request (it was not
    committed when the request began), and which of the two it is ordered after was never
    promised (a read now could as well run just before that commit); any change committed
    before the request began, including every one whose response the client has received, is
    seen. Worker jobs and requests without an API key carry no version and read every time.
    """
    known = webhooks_version(session)
    if known is None:
        return _enabled_endpoints(session)
    tenant_id, version = known
    cached = _cache.get(tenant_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = run_sql(session, _ENABLED_WITH_VERSION, (tenant_id,)).all()
    if not rows:  # the tenant's row is not in scope: nothing to cache
        return _enabled_endpoints(session)
    read_version = rows[0].webhooks_version
    enabled = tuple(Target(tenant_id, row.id, row.events) for row in rows if row.id is not None)
    # Exact whichever request stores last (a slower one may put back an older version: the next
    # request of the newer one reads again).
    if len(_cache) >= _MAX_CACHED:
        _cache.clear()
    _cache[tenant_id] = (read_version, enabled)
    return enabled


_ENABLED = (
    "SELECT tenant_id, id, events FROM webhook_endpoints WHERE disabled_at IS NULL ORDER BY id"
)
# The tenant's version and its enabled endpoints in one snapshot (one row with no endpoint when
# it has none; none at all when the tenant's row is not in the transaction's scope).
_ENABLED_WITH_VERSION = (
    "SELECT t.webhooks_version, e.id, e.events FROM tenants t"
    " LEFT JOIN webhook_endpoints e"
    " ON e.tenant_id = t.id AND e.disabled_at IS NULL"
    " WHERE t.id = %s ORDER BY e.id"
)


def _enabled_endpoints(session: Session) -> list[Target]:
    """Plain rows through the driver: every request that emits an event asks (most tenants have
    no endpoint, or a few), and the ORM's statement and objects cost more than the answer."""
    rows = run_sql(session, _ENABLED).all()
    return [Target(row.tenant_id, row.id, row.events) for row in rows]


@event.listens_for(WebhookEndpoint, "after_insert")
@event.listens_for(WebhookEndpoint, "after_update")
@event.listens_for(WebhookEndpoint, "after_delete")
def _forget(_mapper: Any, _connection: Any, endpoint: WebhookEndpoint) -> None:
    """A transaction that changes an endpoint (the trigger moves its tenant's version in this
    same transaction) no longer trusts the version it read before (every change to endpoints
    goes through the ORM)."""
    session = object_session(endpoint)
    if session is not None:
        forget_webhooks_version(session)


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
