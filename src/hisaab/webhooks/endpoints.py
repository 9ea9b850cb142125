"""Use cases of webhook endpoints: register, change, disable, rotate the secret, read the
delivery log, and send again by hand.

The signing secret is returned once, when made, and stored only sealed (DESIGN rule 9): a lost
secret is rotated, never read back.
"""

from __future__ import annotations

import base64
import secrets as random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from hisaab.core import secrets
from hisaab.core.errors import conflict
from hisaab.core.ids import new_id
from hisaab.core.lookup import found
from hisaab.core.pagination import PageRequest, Slice
from hisaab.webhooks import delivery, repository, rules
from hisaab.webhooks import service as events
from hisaab.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from hisaab.webhooks.schemas import (
    WebhookAttemptOut,
    WebhookDeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)

SECRET_BYTES = 32


@dataclass(frozen=True)
class IssuedSecret:
    endpoint: WebhookEndpoint
    secret: str


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes: the Standard Webhooks form, which their libraries
    decode as the HMAC key."""
    return "whsec_" + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode("ascii")


def create_endpoint(
    session: Session, tenant_id: str, body: WebhookEndpointCreate, now: datetime
) -> IssuedSecret:
    url = rules.check_url(body.url)
    event_filter = rules.event_filter(body.events, events.EVENT_TYPES)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        tenant_id=tenant_id,
        id=new_id("we"),
        url=url,
        events=event_filter,
        description=body.description or None,
        secret_sealed=secrets.seal(secret),
        disabled_at=None,
        disabled_reason=None,
        created_at=now,
        updated_at=now,
    )
    repository.add_endpoint(session, endpoint)
    return IssuedSecret(endpoint, secret)


def get_endpoint(
    session: Session, tenant_id: str, endpoint_id: str, *, for_update: bool = False
) -> WebhookEndpoint:
    return found(
        "webhook endpoint",
        "we",
        endpoint_id,
        lambda: repository.get_endpoint(session, tenant_id, endpoint_id, for_update=for_update),
    )


def list_endpoints(session: Session, page: PageRequest) -> Slice[WebhookEndpoint]:
    return repository.list_endpoints(session, page)


def update_endpoint(
    session: Session,
    tenant_id: str,
    endpoint_id: str,
    patch: WebhookEndpointUpdate,
    now: datetime,
) -> WebhookEndpoint:
    """Apply a PATCH; everything is checked before anything changes."""
    endpoint = get_endpoint(session, tenant_id, endpoint_id, for_update=True)
    fields = patch.model_fields_set
    url = rules.check_url(patch.url) if patch.url is not None else endpoint.url
    event_filter = (
        rules.event_filter(patch.events, events.EVENT_TYPES)
        if patch.events is not None
        else endpoint.events
    )
    endpoint.url = url
    endpoint.events = event_filter
    if "description" in fields:
        endpoint.description = patch.description or None
    if patch.disabled is True and endpoint.disabled_at is None:
        endpoint.disabled_at = now
        endpoint.disabled_reason = "manual"
    elif patch.disabled is False:
        endpoint.disabled_at = None
        endpoint.disabled_reason = None
    endpoint.updated_at = now
    return endpoint


def delete_endpoint(session: Session, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    """Delete the endpoint with its delivery log; jobs still queued for it find nothing."""
    endpoint = get_endpoint(session, tenant_id, endpoint_id, for_update=True)
    repository.delete_endpoint(session, endpoint)
    return endpoint


def rotate_secret(
    session: Session, tenant_id: str, endpoint_id: str, now: datetime
) -> IssuedSecret:
    """A new secret, used from the next try on; the old one stops signing at once."""
    endpoint = get_endpoint(session, tenant_id, endpoint_id, for_update=True)
    secret = new_secret()
    endpoint.secret_sealed = secrets.seal(secret)
    endpoint.updated_at = now
    return IssuedSecret(endpoint, secret)


# --- the delivery log ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryView:
    delivery: WebhookDelivery
    attempts: Sequence[WebhookAttempt]


def list_deliveries(
    session: Session, tenant_id: str, endpoint_id: str, page: PageRequest, status: str | None
) -> Slice[DeliveryView]:
    endpoint = get_endpoint(session, tenant_id, endpoint_id)
    deliveries = repository.list_deliveries(session, endpoint.id, page, status)
    attempts = repository.attempts_of(session, [d.id for d in deliveries.items])
    return Slice(
        items=[DeliveryView(d, attempts.get(d.id, [])) for d in deliveries.items],
        has_more=deliveries.has_more,
        next_cursor=deliveries.next_cursor,
    )


def get_delivery(
    session: Session, tenant_id: str, endpoint_id: str, delivery_id: str
) -> DeliveryView:
    endpoint = get_endpoint(session, tenant_id, endpoint_id)
    found_delivery = found(
        "webhook delivery",
        "whd",
        delivery_id,
        lambda: repository.get_delivery(session, tenant_id, endpoint.id, delivery_id),
    )
    return _view(session, found_delivery)


def retry_delivery(
    session: Session, tenant_id: str, endpoint_id: str, delivery_id: str
) -> DeliveryView:
    """Send the delivery again now, whatever its status, as one manual try.

    A manual try that fails leaves a failed delivery failed and a pending one on its schedule.
    """
    view = get_delivery(session, tenant_id, endpoint_id, delivery_id)
    endpoint = get_endpoint(session, tenant_id, endpoint_id)
    _refuse_disabled(endpoint)
    _enqueue_manual(session, view.delivery)
    return view


def resend_event(
    session: Session, tenant_id: str, event_id: str, endpoint_id: str | None, now: datetime
) -> list[DeliveryView]:
    """Send an event again: to one endpoint, or to every enabled endpoint that takes its type.

    An endpoint that already has a delivery of the event gets a manual try of that delivery;
    one that has none (it was added or subscribed later) gets a new delivery and its schedule.
    """
    event = events.get(session, tenant_id, event_id)
    if endpoint_id is not None:
        endpoint = get_endpoint(session, tenant_id, endpoint_id)
        _refuse_disabled(endpoint)
        if not rules.matches(endpoint.events, event.type):
            raise conflict(
                "event_type_not_subscribed",
                f"Endpoint {endpoint.id} does not take {event.type} events; "
                "add the type to its `events` first.",
            )
        targets: Sequence[repository.Target | WebhookEndpoint] = [endpoint]
    else:
        targets = repository.endpoints_for(session, event.type)
    views = []
    for target in targets:
        existing = repository.find_delivery(session, target.id, event.id)
        if existing is None:
            delivery.create(session, target, event, now)
            existing = repository.find_delivery(session, target.id, event.id)
            assert existing is not None
        else:
            _enqueue_manual(session, existing)
        views.append(_view(session, existing))
    return views


def _enqueue_manual(session: Session, found_delivery: WebhookDelivery) -> None:
    delivery.enqueue(
        session,
        found_delivery.tenant_id,
        found_delivery.id,
        attempt_count=found_delivery.attempt_count,
        manual=True,
    )


def _refuse_disabled(endpoint: WebhookEndpoint) -> None:
    if endpoint.disabled_at is not None:
        raise conflict(
            "endpoint_disabled",
            f"Endpoint {endpoint.id} is disabled; enable it (PATCH disabled=false) first.",
        )


def _view(session: Session, found_delivery: WebhookDelivery) -> DeliveryView:
    attempts = repository.attempts_of(session, [found_delivery.id])
    return DeliveryView(found_delivery, attempts.get(found_delivery.id, []))


# --- presenting ---------------------------------------------------------------------------


def present(endpoint: WebhookEndpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut.model_validate(
        {
            "id": endpoint.id,
            "url": endpoint.url,
            "events": list(endpoint.events),
            "description": endpoint.description,
            "status": "disabled" if endpoint.disabled_at is not None else "enabled",
            "disabled_at": endpoint.disabled_at,
            "disabled_reason": endpoint.disabled_reason,
            "created_at": endpoint.created_at,
            "updated_at": endpoint.updated_at,
        }
    )


def present_issued(issued: IssuedSecret) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(**present(issued.endpoint).model_dump(), secret=issued.secret)


def present_delivery(view: DeliveryView) -> WebhookDeliveryOut:
    return WebhookDeliveryOut.model_validate(
        {
            **{
                name: getattr(view.delivery, name)
                for name in WebhookDeliveryOut.model_fields
                if name not in ("object", "attempts")
            },
            "attempts": [
                WebhookAttemptOut.model_validate(a, from_attributes=True) for a in view.attempts
            ],
        }
    )
