"""HTTP routes of customers and their payment methods."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from hisaab.core.http import AUTH, NowDep, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep, page_of
from hisaab.core.schemas import QueryText
from hisaab.customers import service
from hisaab.customers.schemas import (
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    PaymentMethodCreate,
    PaymentMethodOut,
)
from hisaab.payments import service as payments

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["customers"])
CustomerPath = Path(max_length=64, description="A customer id `cus_…`.")
PaymentMethodPath = Path(max_length=64, description="A payment method id `pm_…`.")


@router.post("/customers", status_code=status.HTTP_201_CREATED)
def create_customer(
    body: CustomerCreate, session: SessionDep, tenant_id: TenantIdDep, now: NowDep
) -> CustomerOut:
    return service.create_customer(session, tenant_id, body, now)


@router.get("/customers")
def list_customers(
    session: SessionDep,
    page: PageRequestDep,
    email: Annotated[QueryText, Query(max_length=254, description="Only this email.")] = None,
    external_id: Annotated[
        QueryText, Query(max_length=200, description="Only the customer with your id.")
    ] = None,
    test_clock_id: Annotated[
        QueryText, Query(max_length=64, description="Only customers on this test clock.")
    ] = None,
) -> Page[CustomerOut]:
    """The tenant's customers, newest first."""
    found = service.list_customers(
        session, page, email=email, external_id=external_id, test_clock_id=test_clock_id
    )
    return page_of(found, service.present)


@router.get("/customers/{customer_id}")
def get_customer(
    session: SessionDep, tenant_id: TenantIdDep, customer_id: str = CustomerPath
) -> CustomerOut:
    return service.present(service.get_customer(session, tenant_id, customer_id))


@router.patch("/customers/{customer_id}")
def update_customer(
    body: CustomerUpdate,
    session: SessionDep,
    tenant_id: TenantIdDep,
    now: NowDep,
    customer_id: str = CustomerPath,
) -> CustomerOut:
    """Change the fields sent; `currency` and `test_clock_id` are fixed at creation."""
    customer = service.update_customer(session, tenant_id, customer_id, body, now)
    payments.collect_requested(session)  # a new default method retries invoices being chased
    return service.present(customer)


@router.post("/customers/{customer_id}/payment_methods", status_code=status.HTTP_201_CREATED)
def attach_payment_method(
    body: PaymentMethodCreate,
    session: SessionDep,
    tenant_id: TenantIdDep,
    now: NowDep,
    customer_id: str = CustomerPath,
) -> PaymentMethodOut:
    """Attach a gateway token; the first one (or one sent with `default: true`) is the default."""
    method, customer = service.attach_payment_method(session, tenant_id, customer_id, body, now)
    payments.collect_requested(session)  # a new default method retries invoices being chased
    return service.present_payment_method(method, customer.default_payment_method_id)


@router.get("/customers/{customer_id}/payment_methods")
def list_payment_methods(
    session: SessionDep,
    tenant_id: TenantIdDep,
    page: PageRequestDep,
    customer_id: str = CustomerPath,
) -> Page[PaymentMethodOut]:
    """The customer's attached payment methods, newest first."""
    found, customer = service.list_payment_methods(session, tenant_id, customer_id, page)
    default_id = customer.default_payment_method_id
    return page_of(found, lambda method: service.present_payment_method(method, default_id))


@router.get("/customers/{customer_id}/payment_methods/{payment_method_id}")
def get_payment_method(
    session: SessionDep,
    tenant_id: TenantIdDep,
    customer_id: str = CustomerPath,
    payment_method_id: str = PaymentMethodPath,
) -> PaymentMethodOut:
    method, customer = service.get_payment_method(
        session, tenant_id, customer_id, payment_method_id
    )
    return service.present_payment_method(method, customer.default_payment_method_id)


@router.delete("/customers/{customer_id}/payment_methods/{payment_method_id}")
def detach_payment_method(
    session: SessionDep,
    tenant_id: TenantIdDep,
    now: NowDep,
    customer_id: str = CustomerPath,
    payment_method_id: str = PaymentMethodPath,
) -> PaymentMethodOut:
    """Detach; if it was the default, the customer has no default until one is chosen."""
    method, customer = service.detach_payment_method(
        session, tenant_id, customer_id, payment_method_id, now
    )
    return service.present_payment_method(method, customer.default_payment_method_id)
