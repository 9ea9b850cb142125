"""HTTP routes of subscriptions, and of invoicing now (which renews what is due)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from hisaab.core import bulk
from hisaab.core.http import AUTH, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep, page_of
from hisaab.core.schemas import QueryText
from hisaab.invoicing import service as invoicing
from hisaab.invoicing.schemas import GenerateInvoices, InvoiceList
from hisaab.payments import service as payments
from hisaab.subscriptions import service
from hisaab.subscriptions.lifecycle import Status
from hisaab.subscriptions.schemas import (
    SubscriptionCancel,
    SubscriptionChange,
    SubscriptionCreate,
    SubscriptionOut,
)

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["subscriptions"])
SubscriptionPath = Path(max_length=64, description="A subscription id `sub_…`.")


@router.post("/subscriptions", status_code=status.HTTP_201_CREATED)
def create_subscription(
    body: SubscriptionCreate, session: SessionDep, tenant_id: TenantIdDep
) -> SubscriptionOut:
    """Subscribe a customer; without a trial the first period is invoiced at once.

    The charge after the mid-request commit reads the same tenant, endpoints, customer and
    payment method as the invoice did: one `memoizing` block over both reads them once. It
    is the request's last write (the subscription is presented from what is loaded), so its
    batch sends the audit entry with its rows."""
    with bulk.memoizing(session):
        subscription = service.create(session, tenant_id, body)
        payments.collect_requested(session, last=True)
    return service.present(subscription)


@router.get("/subscriptions")
def list_subscriptions(
    session: SessionDep,
    page: PageRequestDep,
    customer_id: Annotated[QueryText, Query(max_length=64)] = None,
    status: Annotated[Status | None, Query()] = None,
) -> Page[SubscriptionOut]:
    return page_of(service.list_subscriptions(session, page, customer_id, status), service.present)


@router.get("/subscriptions/{subscription_id}")
def get_subscription(
    session: SessionDep, tenant_id: TenantIdDep, subscription_id: str = SubscriptionPath
) -> SubscriptionOut:
    return service.present(service.get(session, tenant_id, subscription_id))


@router.post("/subscriptions/{subscription_id}/change")
def change_subscription(
    body: SubscriptionChange,
    session: SessionDep,
    tenant_id: TenantIdDep,
    subscription_id: str = SubscriptionPath,
) -> SubscriptionOut:
    """Change plan or quantity, now (prorated) or at the end of the period (scheduled)."""
    subscription = service.change(session, tenant_id, subscription_id, body)
    payments.collect_requested(session)
    return service.present(subscription)


@router.post("/subscriptions/{subscription_id}/remove_scheduled_change")
def remove_scheduled_change(
    session: SessionDep, tenant_id: TenantIdDep, subscription_id: str = SubscriptionPath
) -> SubscriptionOut:
    return service.present(service.remove_scheduled_change(session, tenant_id, subscription_id))


@router.post("/subscriptions/{subscription_id}/cancel")
def cancel_subscription(
    body: SubscriptionCancel,
    session: SessionDep,
    tenant_id: TenantIdDep,
    subscription_id: str = SubscriptionPath,
) -> SubscriptionOut:
    """Cancel now, or at the end of the period with `{"at_period_end": true}`."""
    return service.present(service.cancel(session, tenant_id, subscription_id, body))


@router.post("/subscriptions/{subscription_id}/remove_scheduled_cancellation")
def remove_scheduled_cancellation(
    session: SessionDep, tenant_id: TenantIdDep, subscription_id: str = SubscriptionPath
) -> SubscriptionOut:
    """Undo `cancel` with `at_period_end` before the period ends."""
    return service.present(
        service.remove_scheduled_cancellation(session, tenant_id, subscription_id)
    )


@router.post("/subscriptions/{subscription_id}/pause")
def pause_subscription(
    session: SessionDep, tenant_id: TenantIdDep, subscription_id: str = SubscriptionPath
) -> SubscriptionOut:
    return service.present(service.pause(session, tenant_id, subscription_id))


@router.post("/subscriptions/{subscription_id}/resume")
def resume_subscription(
    session: SessionDep, tenant_id: TenantIdDep, subscription_id: str = SubscriptionPath
) -> SubscriptionOut:
    return service.present(service.resume(session, tenant_id, subscription_id))


@router.post("/invoices/generate", status_code=status.HTTP_201_CREATED, tags=["invoices"])
def generate_invoices(
    body: GenerateInvoices, session: SessionDep, tenant_id: TenantIdDep
) -> InvoiceList:
    """Invoice now whatever is due and pending for a subscription or a customer, finalized and
    collected per its collection method; 409 `nothing_to_invoice` if there is nothing."""
    invoices = service.invoice_now(session, tenant_id, body.subscription_id, body.customer_id)
    payments.collect_requested(session)
    return InvoiceList(data=invoicing.present_many(session, invoices))
