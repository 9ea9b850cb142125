"""HTTP routes of what a customer is entitled to and what it will be billed next."""

from __future__ import annotations

from fastapi import APIRouter, Path

from hisaab.core.http import AUTH, SessionDep, TenantIdDep, TenantRoute
from hisaab.entitlements import service
from hisaab.entitlements.schemas import EntitlementsOut
from hisaab.invoicing.schemas import InvoiceOut
from hisaab.subscriptions import service as subscriptions

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["customers"])
CustomerPath = Path(max_length=64, description="A customer id `cus_…`.")


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
