"""HTTP routes of meters, usage events and a customer's current usage.

`POST /v1/events` parses its body itself: it is the hot path of usage (tens of thousands of events
a second), pydantic's JSON parser (jiter) reads the whole body in one go much faster than
FastAPI's `json.loads` + validation, and each event is then checked on its own (intake.py) so that
one bad event does not refuse the other 9,999. `GET /v1/events` (the event log) lives in
webhooks/api.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import from_json
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hisaab.core.http import AUTH, NowDep, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep, page_of
from hisaab.core.problems import from_validation_error
from hisaab.usage import service
from hisaab.usage.intake import MAX_EVENTS, METER_CODE_PATTERN
from hisaab.usage.schemas import (
    MeterCreate,
    MeterOut,
    UsageEventIn,
    UsageEventsAccepted,
)

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["usage"])
MeterPath = Path(max_length=64, description="A meter id `mtr_…`.")


class _RawBatch(BaseModel):
    """The envelope only: each event is checked by intake.py, not here."""

    model_config = ConfigDict(extra="forbid")
    events: list[Any]


_BATCH_SCHEMA = {
    "type": "object",
    "required": ["events"],
    "additionalProperties": False,
    "properties": {
        "events": {
            "type": "array",
            "maxItems": MAX_EVENTS,
            "description": f"Up to {MAX_EVENTS:,} events (more: 413 `too_many_events`). "
            "Each is checked on its own; a bad one is reported in `errors`.",
            "items": UsageEventIn.model_json_schema(),
        }
    },
}


def _parse_batch(body: bytes) -> list[Any]:
    """The events of a body `{"events": [...]}`; else the problem pydantic's validation makes.

    The common case is parsed with `pydantic_core.from_json` (the same parser as validation,
    without a second walk over the 1,000s of events to check each is `Any`); anything else,
    including malformed JSON, goes through the model so that the error is exactly its."""
    try:
        parsed = from_json(body)
    except ValueError:
        parsed = None
    if type(parsed) is dict and len(parsed) == 1:
        events = parsed.get("events")
        if type(events) is list:
            return events
    try:
        return _RawBatch.model_validate_json(body).events
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise from_validation_error(RequestValidationError(errors)) from None


def _ingest_body(
    session: Session, tenant_id: str, body: bytes, now: datetime
) -> UsageEventsAccepted:
    events = _parse_batch(body)
    if len(events) > MAX_EVENTS:
        raise service.too_many_events(len(events))
    # No `\u0000` escape in the body: no event can hold NUL, and the per-event search is skipped.
    may_hold_nul = b"\\u0000" in body
    return service.ingest(session, tenant_id, events, now, may_hold_nul=may_hold_nul)


@router.post("/meters", status_code=status.HTTP_201_CREATED)
def create_meter(
    body: MeterCreate, session: SessionDep, tenant_id: TenantIdDep, now: NowDep
) -> MeterOut:
    """A meter: what events count, and how; `code` is unique (409 `meter_code_taken`)."""
    return service.present_meter(service.create_meter(session, tenant_id, body, now))


@router.get("/meters")
def list_meters(
    session: SessionDep,
    page: PageRequestDep,
    code: Annotated[
        str | None, Query(pattern=METER_CODE_PATTERN, description="Only the meter with this code.")
    ] = None,
) -> Page[MeterOut]:
    """The tenant's meters, newest first."""
    return page_of(service.list_meters(session, page, code), service.present_meter)


@router.get("/meters/{meter_id}")
def get_meter(session: SessionDep, tenant_id: TenantIdDep, meter_id: str = MeterPath) -> MeterOut:
    return service.present_meter(service.get_meter(session, tenant_id, meter_id))


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BATCH_SCHEMA}},
        }
    },
)
async def ingest_events(
    request: Request, session: SessionDep, tenant_id: TenantIdDep, now: NowDep
) -> UsageEventsAccepted:
    """Record usage: each event is checked on its own; the good ones with new ids are stored,
    ids sent before count as `duplicates`, bad ones are listed in `errors` with a code."""
    body = await request.body()
    # Parsing is CPU work too: off the event loop, with the rest, in one hop to the threadpool.
    result: UsageEventsAccepted = await run_in_threadpool(
        _ingest_body, session, tenant_id, body, now
    )
    return result
