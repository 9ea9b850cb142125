"""HTTP routes of what a customer is entitled to and what it will be billed next."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from hisaab.core.http import AUTH, NowDep, SessionDep, TenantIdDep, TenantRoute
from hisaab.entitlements import service
from hisaab.entitlements.schemas import EntitlementsOut
from hisaab.invoicing.schemas import InvoiceOut
from hisaab.subscriptions import service as subscriptions
from hisaab.usage.intake import METER_CODE_PATTERN
from hisaab.usage.schemas import CustomerUsageOut

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["customers"])
CustomerPath = Path(max_length=64, description="A customer id `cus_…`.")


@router.get("/customers/{customer_id}/usage")
def customer_usage(
    session: SessionDep,
    tenant_id: TenantIdDep,
    now: NowDep,
    customer_id: str = CustomerPath,
    meter: Annotated[
        str | None, Query(pattern=METER_CODE_PATTERN, description="Only this meter (its code).")
    ] = None,
) -> CustomerUsageOut:
    """Usage so far in the customer's current billing period (without a subscription: the
    calendar month of the customer's clock in your timezone), per meter."""
    return service.customer_usage(session, tenant_id, customer_id, meter, now)


@router.get("/customers/{customer_id}/entitlements")
def get_entitlements(
    session: SessionDep, tenant_id: TenantIdDep, customer_id: str = CustomerPath
) -> EntitlementsOut:
    """The features of the customer's plan, and each quota with this period's usage; 409
    `no_active_subscription` when nothing is billed."""
    return service.entitlements(session, tenant_id, customer_id)


@router.get("/customers/{customer_id}/upcoming_invoice")
def get_upcoming_invoice(
    session: SessionDep, tenant_id: TenantIdDep, customer_id: str = CustomerPath
) -> InvoiceOut:
    """The next invoice as it would be if nothing changed from now (`status: draft`, no number
    or id yet); nothing is written."""
    return subscriptions.upcoming_invoice(session, tenant_id, customer_id)
