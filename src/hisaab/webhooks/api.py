"""HTTP routes of the event log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from hisaab.core.http import AUTH, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep, page_of
from hisaab.core.schemas import QueryText
from hisaab.webhooks import service
from hisaab.webhooks.models import Event
from hisaab.webhooks.schemas import EventOut

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["events"])
EventPath = Path(max_length=64, description="An event id `evt_…`.")


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
