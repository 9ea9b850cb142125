"""HTTP routes of payments (API.md: `GET /v1/payments?invoice_id=`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from hisaab.core.http import AUTH, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep, page_of
from hisaab.core.schemas import QueryText
from hisaab.payments import service
from hisaab.payments.schemas import PaymentOut

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["payments"])
PaymentPath = Path(max_length=64, description="A payment id `pay_…`.")


@router.get("/payments")
def list_payments(
    session: SessionDep,
    page: PageRequestDep,
    invoice_id: Annotated[QueryText, Query(max_length=64)] = None,
    customer_id: Annotated[QueryText, Query(max_length=64)] = None,
) -> Page[PaymentOut]:
    """Every try at collecting an invoice, newest first: scheduled, running and done."""
    found = service.list_payments(session, page, invoice_id, customer_id)
    return page_of(found, lambda attempt: service.present(session, attempt))


@router.get("/payments/{payment_id}")
def get_payment(
    session: SessionDep, tenant_id: TenantIdDep, payment_id: str = PaymentPath
) -> PaymentOut:
    return service.present(session, service.get(session, tenant_id, payment_id))
