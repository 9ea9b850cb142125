"""Webhook URLs the gateways call (API.md "Webhooks", inbound): no API key, the signature made
with the tenant's webhook secret is the authentication."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hisaab.core.http import PathTenantRoute, SessionDep
from hisaab.payments import inbound

router = APIRouter(prefix="/v1/gateways", route_class=PathTenantRoute, tags=["gateway webhooks"])
TenantPath = Path(max_length=64, description="The tenant's id `ten_…`, as set at the gateway.")


class GatewayEventOut(BaseModel):
    object: Literal["gateway_event"] = "gateway_event"
    id: str
    gateway: str
    event_id: str
    type: str
    outcome: Literal["applied", "unchanged", "unmatched", "ignored"]
    object_id: str | None
    duplicate: bool


async def _receive(
    session: SessionDep, request: Request, tenant_id: str, gateway: str
) -> GatewayEventOut:
    payload = await request.body()  # the exact bytes the gateway signed
    received = await run_in_threadpool(
        inbound.receive, session, tenant_id, gateway, payload, dict(request.headers)
    )
    event = received.event
    return GatewayEventOut.model_validate(
        {
            **{
                name: getattr(event, name)
                for name in GatewayEventOut.model_fields
                if name not in {"object", "duplicate"}
            },
            "duplicate": received.duplicate,
        }
    )


@router.post("/stripe/webhooks/{tenant_id}")
async def stripe_webhook(
    session: SessionDep, request: Request, tenant_id: str = TenantPath
) -> GatewayEventOut:
    """Stripe events for the tenant, signed (`Stripe-Signature`) with its webhook secret.

    A bad, foreign or stale signature is 400 and changes nothing; a redelivered event is 200
    with `duplicate: true` and changes nothing either."""
    return await _receive(session, request, tenant_id, "stripe")


@router.post("/razorpay/webhooks/{tenant_id}")
async def razorpay_webhook(
    session: SessionDep, request: Request, tenant_id: str = TenantPath
) -> GatewayEventOut:
    """Razorpay events for the tenant, signed (`X-Razorpay-Signature`) with its webhook secret
    and deduplicated on `X-Razorpay-Event-Id`."""
    return await _receive(session, request, tenant_id, "razorpay")
