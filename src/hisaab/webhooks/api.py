"""HTTP routes of the event log and of webhook endpoints with their delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from hisaab.core.http import AUTH, NowDep, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep, page_of
from hisaab.core.schemas import QueryText
from hisaab.webhooks import endpoints, service
from hisaab.webhooks.models import Event
from hisaab.webhooks.schemas import (
    DeliveryStatus,
    EventOut,
    EventResend,
    EventResendOut,
    WebhookDeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointDeleted,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["events"])
endpoints_router = APIRouter(
    prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["webhooks"]
)
EventPath = Path(max_length=64, description="An event id `evt_…`.")
EndpointPath = Path(max_length=64, description="A webhook endpoint id `we_…`.")
DeliveryPath = Path(max_length=64, description="A webhook delivery id `whd_…`.")


def present(event: Event) -> EventOut:
    return EventOut.model_validate(event, from_attributes=True)


@router.get("/events")
def list_events(
    session: SessionDep,
    page: PageRequestDep,
    event_type: Annotated[
        QueryText, Query(alias="type", max_length=64, description="Only this event type.")
    ] = None,
    object_id: Annotated[
        QueryText, Query(max_length=64, description="Only events about this object.")
    ] = None,
) -> Page[EventOut]:
    """Every event of the tenant, newest first."""
    return page_of(service.list_events(session, page, event_type, object_id), present)


@router.get("/events/{event_id}")
def get_event(session: SessionDep, tenant_id: TenantIdDep, event_id: str = EventPath) -> EventOut:
    return present(service.get(session, tenant_id, event_id))


@router.post("/events/{event_id}/resend")
def resend_event(
    session: SessionDep,
    tenant_id: TenantIdDep,
    now: NowDep,
    body: EventResend | None = None,
    event_id: str = EventPath,
) -> EventResendOut:
    """Send the event again, now, to one endpoint or to every enabled endpoint taking its type."""
    endpoint_id = body.endpoint_id if body is not None else None
    views = endpoints.resend_event(session, tenant_id, event_id, endpoint_id, now)
    return EventResendOut(data=[endpoints.present_delivery(v) for v in views])


@endpoints_router.post("/webhook_endpoints", status_code=status.HTTP_201_CREATED)
def create_webhook_endpoint(
    body: WebhookEndpointCreate, session: SessionDep, tenant_id: TenantIdDep, now: NowDep
) -> WebhookEndpointWithSecret:
    """Register a URL for events; the signing `secret` is in this response only."""
    return endpoints.present_issued(endpoints.create_endpoint(session, tenant_id, body, now))


@endpoints_router.get("/webhook_endpoints")
def list_webhook_endpoints(session: SessionDep, page: PageRequestDep) -> Page[WebhookEndpointOut]:
    """The tenant's webhook endpoints, newest first."""
    return page_of(endpoints.list_endpoints(session, page), endpoints.present)


@endpoints_router.get("/webhook_endpoints/{endpoint_id}")
def get_webhook_endpoint(
    session: SessionDep, tenant_id: TenantIdDep, endpoint_id: str = EndpointPath
) -> WebhookEndpointOut:
    return endpoints.present(endpoints.get_endpoint(session, tenant_id, endpoint_id))


@endpoints_router.patch("/webhook_endpoints/{endpoint_id}")
def update_webhook_endpoint(
    body: WebhookEndpointUpdate,
    session: SessionDep,
    tenant_id: TenantIdDep,
    now: NowDep,
    endpoint_id: str = EndpointPath,
) -> WebhookEndpointOut:
    """Change the fields sent; `disabled` true stops deliveries, false resumes new ones."""
    return endpoints.present(endpoints.update_endpoint(session, tenant_id, endpoint_id, body, now))


@endpoints_router.delete("/webhook_endpoints/{endpoint_id}")
def delete_webhook_endpoint(
    session: SessionDep, tenant_id: TenantIdDep, endpoint_id: str = EndpointPath
) -> WebhookEndpointDeleted:
    """Delete the endpoint and its delivery log."""
    deleted = endpoints.delete_endpoint(session, tenant_id, endpoint_id)
    return WebhookEndpointDeleted(id=deleted.id)


@endpoints_router.post("/webhook_endpoints/{endpoint_id}/rotate_secret")
def rotate_webhook_secret(
    session: SessionDep, tenant_id: TenantIdDep, now: NowDep, endpoint_id: str = EndpointPath
) -> WebhookEndpointWithSecret:
    """A new signing secret, in this response only; the old one stops signing at once."""
    return endpoints.present_issued(endpoints.rotate_secret(session, tenant_id, endpoint_id, now))


@endpoints_router.get("/webhook_endpoints/{endpoint_id}/deliveries")
def list_webhook_deliveries(
    session: SessionDep,
    tenant_id: TenantIdDep,
    page: PageRequestDep,
    delivery_status: Annotated[
        DeliveryStatus | None, Query(alias="status", description="Only deliveries in this status.")
    ] = None,
    endpoint_id: str = EndpointPath,
) -> Page[WebhookDeliveryOut]:
    """The endpoint's deliveries, newest first, each with its attempts."""
    found = endpoints.list_deliveries(session, tenant_id, endpoint_id, page, delivery_status)
    return page_of(found, endpoints.present_delivery)


@endpoints_router.get("/webhook_endpoints/{endpoint_id}/deliveries/{delivery_id}")
def get_webhook_delivery(
    session: SessionDep,
    tenant_id: TenantIdDep,
    endpoint_id: str = EndpointPath,
    delivery_id: str = DeliveryPath,
) -> WebhookDeliveryOut:
    return endpoints.present_delivery(
        endpoints.get_delivery(session, tenant_id, endpoint_id, delivery_id)
    )


@endpoints_router.post("/webhook_endpoints/{endpoint_id}/deliveries/{delivery_id}/retry")
def retry_webhook_delivery(
    session: SessionDep,
    tenant_id: TenantIdDep,
    endpoint_id: str = EndpointPath,
    delivery_id: str = DeliveryPath,
) -> WebhookDeliveryOut:
    """Send the delivery again now (also a failed or delivered one), as one manual try."""
    return endpoints.present_delivery(
        endpoints.retry_delivery(session, tenant_id, endpoint_id, delivery_id)
    )
