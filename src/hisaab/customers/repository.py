"""All SQL of customers and payment methods. Row-level security limits every query to the
caller's tenant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hisaab.core import bulk
from hisaab.core.pagination import PageRequest, Slice, fetch_page
from hisaab.core.queries import any_of
from hisaab.customers.models import Customer, PaymentMethod
from hisaab.customers.schemas import CustomerOut

EXTERNAL_ID_CONSTRAINT = "uq_customers_external_id"
TEST_CLOCK_CONSTRAINT = "fk_customers_tenant_id_test_clock_id_test_clocks"
_CUSTOMERS = cast(Table, Customer.__table__)


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL refused the write for."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None


def add(session: Session, obj: Customer | PaymentMethod) -> None:
    session.add(obj)
    session.flush()


def insert_customer(session: Session, tenant_id: str, customer: CustomerOut) -> None:
    """Write a new customer, as the API shows it (its fields are the table's columns, but
    `object`), as a plain row: no ORM object and no unit of work."""
    row = {"tenant_id": tenant_id, **customer.model_dump(exclude={"object"})}
    bulk.insert_row(session, _CUSTOMERS, row)


def flush(session: Session) -> None:
    session.flush()


def load_many(session: Session, customer_ids: Sequence[str]) -> list[Customer | PaymentMethod]:
    """Customers and their default payment methods, two queries for a whole batch: what
    `get_customer` and `get_payment_method` then find in the session without asking again, as
    long as the caller holds on to them (the session only keeps weak references)."""
    if not customer_ids:
        return []
    found: list[Customer | PaymentMethod] = list(
        session.scalars(select(Customer).where(any_of(Customer.id, customer_ids)))
    )
    method_ids = [
        c.default_payment_method_id
        for c in found
        if isinstance(c, Customer) and c.default_payment_method_id
    ]
    if method_ids:
        found += session.scalars(select(PaymentMethod).where(any_of(PaymentMethod.id, method_ids)))
    return found


def get_customer(
    session: Session, tenant_id: str, customer_id: str, *, for_update: bool = False
) -> Customer | None:
    return session.get(Customer, (tenant_id, customer_id), with_for_update=for_update)


def list_customers(
    session: Session,
    page: PageRequest,
    *,
    email: str | None,
    external_id: str | None,
    test_clock_id: str | None,
) -> Slice[Customer]:
    statement = select(Customer)
    if email is not None:
        statement = statement.where(Customer.email == email)
    if external_id is not None:
        statement = statement.where(Customer.external_id == external_id)
    if test_clock_id is not None:
        statement = statement.where(Customer.test_clock_id == test_clock_id)
    return fetch_page(session, statement, Customer.id, page)


def get_payment_method(
    session: Session,
    tenant_id: str,
    customer_id: str,
    payment_method_id: str,
    *,
    for_update: bool = False,
) -> PaymentMethod | None:
    method = session.get(PaymentMethod, (tenant_id, payment_method_id), with_for_update=for_update)
    return method if method is not None and method.customer_id == customer_id else None


def list_payment_methods(
    session: Session, customer_id: str, page: PageRequest
) -> Slice[PaymentMethod]:
    statement = select(PaymentMethod).where(
        PaymentMethod.customer_id == customer_id, PaymentMethod.detached_at.is_(None)
    )
    return fetch_page(session, statement, PaymentMethod.id, page)
