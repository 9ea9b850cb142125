"""Use cases of customers and their payment methods, and what other domains may ask of them.

Other domains call `get_customer`, `default_payment_method` and `present`. A customer on a test
clock lives at that clock's time (DESIGN rule 2), so its timestamps and events take the clock's
"now", not the request's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hisaab.clocks import service as clocks
from hisaab.core import bulk
from hisaab.core.errors import conflict, invalid, not_found
from hisaab.core.ids import looks_like, new_id
from hisaab.core.lookup import found
from hisaab.core.money import currency_code
from hisaab.core.pagination import PageRequest, Slice
from hisaab.customers import repository, rules
from hisaab.customers.models import Customer, PaymentMethod
from hisaab.customers.schemas import (
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    PaymentMethodCreate,
    PaymentMethodOut,
)
from hisaab.tenants import service as tenants
from hisaab.webhooks import service as events

_TAX_FIELDS = ("country", "state", "gstin", "vat_id", "sez")


def present(customer: Customer) -> CustomerOut:
    """The customer as the API (and its events) show it."""
    return CustomerOut(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        external_id=customer.external_id,
        country=customer.country,
        state=customer.state,
        gstin=customer.gstin,
        vat_id=customer.vat_id,
        sez=customer.sez,
        currency=customer.currency,
        locale=customer.locale,
        address=customer.address,
        test_clock_id=customer.test_clock_id,
        metadata=customer.metadata_,
        default_payment_method_id=customer.default_payment_method_id,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


def present_payment_method(method: PaymentMethod, default_id: str | None) -> PaymentMethodOut:
    return PaymentMethodOut.model_validate(
        {
            "id": method.id,
            "customer_id": method.customer_id,
            "gateway": method.gateway,
            "type": method.type,
            "token": method.token,
            "default": method.id == default_id,
            "created_at": method.created_at,
            "detached_at": method.detached_at,
        }
    )


@contextmanager
def _constraints(test_clock_id: str | None = None) -> Iterator[None]:
    """Turn the constraints that guard races (unique external id, live test clock) into the
    answers a client can act on; PostgreSQL, not a prior SELECT, is what decides."""
    try:
        yield
    except IntegrityError as exc:
        constraint = repository.violated_constraint(exc)
        if constraint == repository.EXTERNAL_ID_CONSTRAINT:
            raise conflict(
                "external_id_taken", "Another customer already has this external_id."
            ) from None
        if constraint == repository.TEST_CLOCK_CONSTRAINT:
            raise not_found("test_clock", test_clock_id or "") from None
        raise


def _clock_now(
    session: Session, tenant_id: str, test_clock_id: str | None, now: datetime
) -> datetime:
    """The customer's "now": its test clock's time (404 if there is no such clock), else the
    request's."""
    return clocks.clock_for(session, tenant_id, test_clock_id).now() if test_clock_id else now


def create_customer(
    session: Session, tenant_id: str, data: CustomerCreate, now: datetime
) -> CustomerOut:
    """The new customer as the API shows it (as its `customer.created` event shows it too).

    Written as a plain row, and shown from what was written: nothing reads the new customer
    back in this transaction, so an ORM object (its construction, its place in the session)
    would be work for nobody."""
    identity = rules.tax_identity(data.country, data.state, data.gstin, data.vat_id, data.sez)
    currency = (
        currency_code(data.currency, ("body", "currency"))
        if data.currency
        else tenants.base_currency(session, tenant_id)
    )
    locale = rules.locale(data.locale)
    now = _clock_now(session, tenant_id, data.test_clock_id, now)
    shown = CustomerOut(
        id=new_id("cus"),
        name=data.name,
        email=data.email,
        phone=data.phone,
        external_id=data.external_id,
        country=identity.country,
        state=identity.state,
        gstin=identity.gstin,
        vat_id=identity.vat_id,
        sez=identity.sez,
        currency=currency,
        locale=locale,
        address=data.address.model_dump(exclude_none=True) if data.address else None,
        test_clock_id=data.test_clock_id,
        metadata=dict(data.metadata),
        default_payment_method_id=None,
        created_at=now,
        updated_at=now,
    )
    # The customer's row, its event's, what the event's handlers write (webhook deliveries,
    # their jobs) and the request's audit entry go out together when the batch ends, where a
    # conflict is still the client's answer.
    with _constraints(data.test_clock_id), bulk.batch(session, last=True):
        repository.insert_customer(session, tenant_id, shown)
        events.emit(session, tenant_id, "customer.created", shown, now)
    return shown


def get_customer(
    session: Session, tenant_id: str, customer_id: str, *, for_update: bool = False
) -> Customer:
    """The tenant's customer, or 404 (also for a malformed id or another tenant's customer)."""
    return found(
        "customer",
        "cus",
        customer_id,
        lambda: repository.get_customer(session, tenant_id, customer_id, for_update=for_update),
    )


def load_many(session: Session, customer_ids: Iterable[str]) -> None:
    """Read a batch's customers (and default payment methods) at once, kept for the rest of the
    bulk batch; the tenant's RLS scope keeps another tenant's out."""
    bulk.keep(session, repository.load_many(session, sorted(set(customer_ids))))


def list_customers(
    session: Session,
    page: PageRequest,
    *,
    email: str | None = None,
    external_id: str | None = None,
    test_clock_id: str | None = None,
) -> Slice[Customer]:
    return repository.list_customers(
        session, page, email=email, external_id=external_id, test_clock_id=test_clock_id
    )


def _refuse_changing(field: str, sent: str | None, current: str | None) -> None:
    if sent != current:
        raise invalid(
            "immutable_field",
            f"{field} is fixed when the customer is created; create another customer instead.",
            ("body", field),
        )


def _attached_method(session: Session, customer: Customer, payment_method_id: str) -> PaymentMethod:
    method = (
        repository.get_payment_method(session, customer.tenant_id, customer.id, payment_method_id)
        if looks_like("pm", payment_method_id)
        else None
    )
    if method is None or method.detached_at is not None:
        raise invalid(
            "payment_method_not_attached",
            f"{payment_method_id} is not a payment method attached to {customer.id}.",
            ("body", "default_payment_method_id"),
        )
    return method


def update_customer(
    session: Session, tenant_id: str, customer_id: str, patch: CustomerUpdate, now: datetime
) -> Customer:
    """Apply a PATCH; the tax identity is validated again as a whole after the change.

    Everything is checked (and read) before the first attribute changes, so a refused PATCH
    leaves nothing half-applied for a later flush to write.
    """
    customer = get_customer(session, tenant_id, customer_id, for_update=True)
    fields = patch.model_fields_set
    if "currency" in fields:
        sent = patch.currency.upper() if patch.currency else None
        _refuse_changing("currency", sent, customer.currency)
    if "test_clock_id" in fields:
        _refuse_changing("test_clock_id", patch.test_clock_id, customer.test_clock_id)
    tax_changes: dict[str, Any] = {f: getattr(patch, f) for f in _TAX_FIELDS if f in fields}
    identity = (
        rules.changed_tax_identity(_identity(customer), tax_changes)
        if tax_changes
        else _identity(customer)
    )
    locale = rules.locale(patch.locale) if patch.locale is not None else customer.locale
    metadata = customer.metadata_
    if "metadata" in fields:
        metadata = (
            rules.merged_metadata(customer.metadata_, patch.metadata)
            if patch.metadata is not None
            else {}
        )
    default_id = customer.default_payment_method_id
    if "default_payment_method_id" in fields:
        default_id = (
            _attached_method(session, customer, patch.default_payment_method_id).id
            if patch.default_payment_method_id is not None
            else None
        )
    at = _clock_now(session, tenant_id, customer.test_clock_id, now)

    before = present(customer)
    customer.country = identity.country
    customer.state = identity.state
    customer.gstin = identity.gstin
    customer.vat_id = identity.vat_id
    customer.sez = identity.sez
    customer.locale = locale
    customer.metadata_ = metadata
    customer.default_payment_method_id = default_id
    if patch.name is not None:
        customer.name = patch.name
    if patch.email is not None:
        customer.email = patch.email
    if "phone" in fields:
        customer.phone = patch.phone
    if "external_id" in fields:
        customer.external_id = patch.external_id
    if "address" in fields:
        customer.address = patch.address.model_dump(exclude_none=True) if patch.address else None
    if present(customer) != before:
        _touched(session, customer, at)
    return customer


def _identity(customer: Customer) -> rules.TaxIdentity:
    return rules.TaxIdentity(
        customer.country, customer.state, customer.gstin, customer.vat_id, customer.sez
    )


def _touched(session: Session, customer: Customer, at: datetime) -> None:
    """Record a change of the customer (at its clock's time) and announce it."""
    customer.updated_at = at
    with _constraints():
        repository.flush(session)
    events.emit(session, customer.tenant_id, "customer.updated", present(customer), at)


def default_payment_method(
    session: Session, tenant_id: str, customer_id: str
) -> PaymentMethod | None:
    """What to charge when the customer pays automatically; None if it has no default."""
    customer = get_customer(session, tenant_id, customer_id)
    if customer.default_payment_method_id is None:
        return None
    return repository.get_payment_method(
        session, tenant_id, customer_id, customer.default_payment_method_id
    )


def payment_method(
    session: Session, tenant_id: str, customer_id: str, payment_method_id: str
) -> PaymentMethod | None:
    """One of the customer's payment methods, detached ones included (past charges name them)."""
    return repository.get_payment_method(session, tenant_id, customer_id, payment_method_id)


def attach_payment_method(
    session: Session,
    tenant_id: str,
    customer_id: str,
    data: PaymentMethodCreate,
    now: datetime,
) -> tuple[PaymentMethod, Customer]:
    """Attach a gateway token; it becomes the default if asked, or if there is none yet.

    The customer row is locked first, so concurrent attaches decide the default one at a time.
    """
    kind = rules.payment_method_type(data.gateway, data.token, data.type)
    customer = get_customer(session, tenant_id, customer_id, for_update=True)
    at = _clock_now(session, tenant_id, customer.test_clock_id, now)
    method = PaymentMethod(
        tenant_id=tenant_id,
        id=new_id("pm"),
        customer_id=customer.id,
        gateway=data.gateway,
        token=data.token,
        type=kind,
        created_at=at,
        detached_at=None,
    )
    repository.add(session, method)
    make_default = (
        data.default if data.default is not None else customer.default_payment_method_id is None
    )
    if make_default and customer.default_payment_method_id != method.id:
        customer.default_payment_method_id = method.id
        _touched(session, customer, at)
    return method, customer


def list_payment_methods(
    session: Session, tenant_id: str, customer_id: str, page: PageRequest
) -> tuple[Slice[PaymentMethod], Customer]:
    """The customer's attached payment methods, newest first."""
    customer = get_customer(session, tenant_id, customer_id)
    return repository.list_payment_methods(session, customer.id, page), customer


def get_payment_method(
    session: Session, tenant_id: str, customer_id: str, payment_method_id: str
) -> tuple[PaymentMethod, Customer]:
    """One payment method of the customer, detached ones included."""
    customer = get_customer(session, tenant_id, customer_id)
    return _payment_method(session, customer, payment_method_id), customer


def _payment_method(
    session: Session, customer: Customer, payment_method_id: str, *, for_update: bool = False
) -> PaymentMethod:
    return found(
        "payment_method",
        "pm",
        payment_method_id,
        lambda: repository.get_payment_method(
            session, customer.tenant_id, customer.id, payment_method_id, for_update=for_update
        ),
    )


def detach_payment_method(
    session: Session, tenant_id: str, customer_id: str, payment_method_id: str, now: datetime
) -> tuple[PaymentMethod, Customer]:
    """Detach; if it was the default the customer is left without one (no silent successor).

    Detaching twice is harmless: the first detach time stays.
    """
    customer = get_customer(session, tenant_id, customer_id, for_update=True)
    method = _payment_method(session, customer, payment_method_id, for_update=True)
    if method.detached_at is None:
        at = _clock_now(session, tenant_id, customer.test_clock_id, now)
        method.detached_at = at
        if customer.default_payment_method_id == method.id:
            customer.default_payment_method_id = None
            _touched(session, customer, at)
        repository.flush(session)
    return method, customer
