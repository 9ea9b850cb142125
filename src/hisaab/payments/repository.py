"""All SQL of payments."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from hisaab.core import bulk
from hisaab.core.pagination import PageRequest, Slice, fetch_page
from hisaab.core.queries import any_of
from hisaab.payments.models import (
    GatewayCustomer,
    GatewayEvent,
    InvoiceDunning,
    PaymentAttempt,
    Refund,
)

ACTIVE_DUNNING = ("retrying", "action_required")


def add(session: Session, row: PaymentAttempt | Refund | InvoiceDunning | GatewayCustomer) -> None:
    session.add(row)
    if not bulk.collecting(session):
        session.flush()


def _on_clock(
    column: InstrumentedAttribute[str | None], clock_id: str | None
) -> ColumnElement[bool]:
    return column.is_(None) if clock_id is None else column == clock_id


def get_attempt(
    session: Session, tenant_id: str, attempt_id: str, *, for_update: bool = False
) -> PaymentAttempt | None:
    return session.get(PaymentAttempt, (tenant_id, attempt_id), with_for_update=for_update)


def attempt_by_charge(session: Session, gateway: str, charge_id: str) -> PaymentAttempt | None:
    return session.scalars(
        select(PaymentAttempt).where(
            PaymentAttempt.gateway == gateway, PaymentAttempt.gateway_charge_id == charge_id
        )
    ).first()


def list_attempts(
    session: Session, page: PageRequest, invoice_id: str | None, customer_id: str | None
) -> Slice[PaymentAttempt]:
    statement = select(PaymentAttempt)
    if invoice_id is not None:
        statement = statement.where(PaymentAttempt.invoice_id == invoice_id)
    if customer_id is not None:
        statement = statement.where(PaymentAttempt.customer_id == customer_id)
    return fetch_page(session, statement, PaymentAttempt.id, page)


def attempts_of(session: Session, invoice_id: str) -> Sequence[PaymentAttempt]:
    return session.scalars(
        select(PaymentAttempt)
        .where(PaymentAttempt.invoice_id == invoice_id)
        .order_by(PaymentAttempt.attempt_number)
    ).all()


def next_attempt_number(session: Session, invoice_id: str) -> int:
    highest = session.scalar(
        select(func.max(PaymentAttempt.attempt_number)).where(
            PaymentAttempt.invoice_id == invoice_id
        )
    )
    return (highest or 0) + 1


def due_attempts(session: Session, invoice_id: str, now: datetime) -> Sequence[PaymentAttempt]:
    """Scheduled tries of the invoice due by `now`, oldest first, locked. The same statement
    reads and locks its tries still ahead, for `future_attempts` to answer from in a bulk batch
    or `memoizing` block: a try that succeeds calls them off, one that fails looks for them."""
    scheduled = session.scalars(
        select(PaymentAttempt)
        .where(PaymentAttempt.invoice_id == invoice_id, PaymentAttempt.status == "scheduled")
        .order_by(PaymentAttempt.attempt_number)
        .with_for_update()
    ).all()
    later = [attempt for attempt in scheduled if attempt.scheduled_at > now]
    bulk.remember(session, _future_key(invoice_id), later)
    return [attempt for attempt in scheduled if attempt.scheduled_at <= now]


def future_attempts(session: Session, invoice_id: str, now: datetime) -> Sequence[PaymentAttempt]:
    """Scheduled tries not yet due: never sent, so they can be called off safely."""
    return bulk.memo(session, _future_key(invoice_id), lambda: _future(session, invoice_id, now))


def _future_key(invoice_id: str) -> tuple[str, str]:
    return ("future_attempts", invoice_id)


def _future(session: Session, invoice_id: str, now: datetime) -> Sequence[PaymentAttempt]:
    return session.scalars(
        select(PaymentAttempt)
        .where(
            PaymentAttempt.invoice_id == invoice_id,
            PaymentAttempt.status == "scheduled",
            PaymentAttempt.scheduled_at > now,
        )
        .with_for_update()
    ).all()


def invoices_with_due_attempts(
    session: Session, clock_id: str | None, cutoff: datetime, skip: Collection[str], limit: int
) -> list[tuple[str, str]]:
    """(tenant, invoice) pairs with a try due by `cutoff`, earliest first."""
    statement = (
        select(PaymentAttempt.tenant_id, PaymentAttempt.invoice_id)
        .where(
            _on_clock(PaymentAttempt.test_clock_id, clock_id),
            PaymentAttempt.status == "scheduled",
            PaymentAttempt.scheduled_at <= cutoff,
            PaymentAttempt.id.not_in(skip) if skip else true(),
        )
        .order_by(PaymentAttempt.scheduled_at)
        .limit(limit)
    )
    return list(
        dict.fromkeys((row.tenant_id, row.invoice_id) for row in session.execute(statement))
    )


def earliest_due(session: Session, clock_id: str | None, until: datetime) -> datetime | None:
    attempt = session.scalar(
        select(func.min(PaymentAttempt.scheduled_at)).where(
            _on_clock(PaymentAttempt.test_clock_id, clock_id),
            PaymentAttempt.status == "scheduled",
            PaymentAttempt.scheduled_at <= until,
        )
    )
    final = session.scalar(
        select(func.min(InvoiceDunning.final_action_at)).where(
            _on_clock(InvoiceDunning.test_clock_id, clock_id),
            InvoiceDunning.state.in_(ACTIVE_DUNNING),
            InvoiceDunning.final_action_at <= until,
        )
    )
    return min((t for t in (attempt, final) if t is not None), default=None)


def dunning(
    session: Session, invoice_id: str, *, for_update: bool = False
) -> InvoiceDunning | None:
    return bulk.memo(
        session, ("dunning", invoice_id), lambda: _dunning(session, invoice_id, for_update)
    )


def _dunning(session: Session, invoice_id: str, for_update: bool) -> InvoiceDunning | None:
    statement = select(InvoiceDunning).where(InvoiceDunning.invoice_id == invoice_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def dunning_due(
    session: Session, clock_id: str | None, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Invoices whose dunning reached its final action, with no try of theirs still due."""
    pending = (
        select(PaymentAttempt.invoice_id)
        .where(
            PaymentAttempt.invoice_id == InvoiceDunning.invoice_id,
            PaymentAttempt.status == "scheduled",
            PaymentAttempt.scheduled_at <= now,
        )
        .exists()
    )
    return [
        (row.tenant_id, row.invoice_id)
        for row in session.execute(
            select(InvoiceDunning.tenant_id, InvoiceDunning.invoice_id)
            .where(
                _on_clock(InvoiceDunning.test_clock_id, clock_id),
                InvoiceDunning.state.in_(ACTIVE_DUNNING),
                InvoiceDunning.final_action_at <= now,
                ~pending,
            )
            .order_by(InvoiceDunning.final_action_at)
            .limit(limit)
        )
    ]


def dunning_of_customer(session: Session, customer_id: str) -> Sequence[InvoiceDunning]:
    return session.scalars(
        select(InvoiceDunning).where(
            InvoiceDunning.customer_id == customer_id, InvoiceDunning.state.in_(ACTIVE_DUNNING)
        )
    ).all()


def gateway_customer(session: Session, customer_id: str, gateway: str) -> str | None:
    return bulk.memo(
        session,
        ("gateway_customer", customer_id, gateway),
        lambda: _gateway_customer(session, customer_id, gateway),
    )


def _gateway_customer(session: Session, customer_id: str, gateway: str) -> str | None:
    return session.scalar(
        select(GatewayCustomer.gateway_customer_id).where(
            GatewayCustomer.customer_id == customer_id, GatewayCustomer.gateway == gateway
        )
    )


def refundable_payments(session: Session, invoice_id: str) -> list[tuple[PaymentAttempt, int]]:
    """Succeeded payments of the invoice with what is left to refund on each, oldest first; the
    payments are locked, so credit notes refunding at once take turns."""
    payments = session.scalars(
        select(PaymentAttempt)
        .where(PaymentAttempt.invoice_id == invoice_id, PaymentAttempt.status == "succeeded")
        .order_by(PaymentAttempt.attempt_number)
        .with_for_update()
    ).all()
    refunded = refunded_amounts(session, [p.id for p in payments])
    return [
        (payment, payment.amount - refunded.get(payment.id, 0))
        for payment in payments
        if payment.amount > refunded.get(payment.id, 0)
    ]


def refunded_amounts(session: Session, payment_ids: Collection[str]) -> dict[str, int]:
    """What each payment has given back or is giving back (refunds that did not fail)."""
    if not payment_ids:
        return {}
    rows = session.execute(
        select(Refund.payment_id, func.sum(Refund.amount))
        .where(any_of(Refund.payment_id, payment_ids), Refund.status != "failed")
        .group_by(Refund.payment_id)
    )
    return {payment_id: int(total) for payment_id, total in rows}


def refunds_of(session: Session, payment_ids: Collection[str]) -> Sequence[Refund]:
    if not payment_ids or all(
        bulk.memo(session, ("no_refunds", i), lambda: False) for i in payment_ids
    ):
        return []
    return session.scalars(
        select(Refund).where(any_of(Refund.payment_id, payment_ids)).order_by(Refund.created_at)
    ).all()


def lock_attempt(session: Session, tenant_id: str, attempt_id: str) -> PaymentAttempt | None:
    """The try, locked and read afresh: whoever waited for the lock sees the winner's change."""
    return session.get(
        PaymentAttempt, (tenant_id, attempt_id), with_for_update=True, populate_existing=True
    )


def lock_refund(session: Session, tenant_id: str, refund_id: str) -> Refund | None:
    """The refund, locked and read afresh: a second job waits here, then finds it settled."""
    return session.get(Refund, (tenant_id, refund_id), with_for_update=True, populate_existing=True)


def refund_by_gateway_id(session: Session, gateway: str, gateway_refund_id: str) -> Refund | None:
    return session.scalars(
        select(Refund).where(
            Refund.gateway == gateway, Refund.gateway_refund_id == gateway_refund_id
        )
    ).first()


def claim_gateway_event(session: Session, event: GatewayEvent) -> bool:
    """Store the event unless the gateway sent it before; whether this call stored it.

    ON CONFLICT rather than a check first: two deliveries of one event at the same moment
    cannot both see "not yet", the second waits for the first and then finds it.
    """
    values = {c.key: getattr(event, c.key) for c in GatewayEvent.__table__.columns}
    statement = (
        insert(GatewayEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "gateway", "event_id"])
        .returning(GatewayEvent.id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def gateway_event(session: Session, gateway: str, event_id: str) -> GatewayEvent | None:
    return session.scalars(
        select(GatewayEvent).where(
            GatewayEvent.gateway == gateway, GatewayEvent.event_id == event_id
        )
    ).one_or_none()


# --- a batch of invoices at once (the billing run) ------------------------------------------


def due_attempts_of(
    session: Session, invoice_ids: Sequence[str], now: datetime
) -> dict[str, list[PaymentAttempt]]:
    """`due_attempts` of many invoices in one query (their invoices are locked by the caller)."""
    found: dict[str, list[PaymentAttempt]] = {}
    statement = (
        select(PaymentAttempt)
        .where(
            any_of(PaymentAttempt.invoice_id, invoice_ids),
            PaymentAttempt.status == "scheduled",
            PaymentAttempt.scheduled_at <= now,
        )
        .order_by(PaymentAttempt.invoice_id, PaymentAttempt.attempt_number)
        .with_for_update()
    )
    for attempt in session.scalars(statement):
        found.setdefault(attempt.invoice_id, []).append(attempt)
    return found


def read_ahead(
    session: Session,
    invoice_ids: Sequence[str],
    attempts: Sequence[PaymentAttempt],
    now: datetime,
) -> None:
    """What charging these invoices reads about each (dunning, later tries, gateway customers,
    refunds) in four queries, for `bulk.memo` to answer from."""
    records = {
        r.invoice_id: r
        for r in session.scalars(
            select(InvoiceDunning)
            .where(any_of(InvoiceDunning.invoice_id, invoice_ids))
            .with_for_update()
        )
    }
    later: dict[str, list[PaymentAttempt]] = {}
    for attempt in session.scalars(
        select(PaymentAttempt)
        .where(
            any_of(PaymentAttempt.invoice_id, invoice_ids),
            PaymentAttempt.status == "scheduled",
            PaymentAttempt.scheduled_at > now,
        )
        .with_for_update()
    ):
        later.setdefault(attempt.invoice_id, []).append(attempt)
    for invoice_id in invoice_ids:
        bulk.remember(session, ("dunning", invoice_id), records.get(invoice_id))
        bulk.remember(session, ("future_attempts", invoice_id), later.get(invoice_id, []))
    pairs = {(a.customer_id, a.gateway) for a in attempts if a.gateway is not None}
    known = {
        (row.customer_id, row.gateway): row.gateway_customer_id
        for row in session.scalars(
            select(GatewayCustomer).where(
                any_of(GatewayCustomer.customer_id, {customer for customer, _ in pairs})
            )
        )
    }
    for customer_id, gateway in pairs:
        bulk.remember(
            session, ("gateway_customer", customer_id, gateway), known.get((customer_id, gateway))
        )
    attempt_ids = [a.id for a in attempts]
    with_refunds = set(
        session.scalars(select(Refund.payment_id).where(any_of(Refund.payment_id, attempt_ids)))
    )
    for attempt_id in attempt_ids:
        if attempt_id not in with_refunds:
            bulk.remember(session, ("no_refunds", attempt_id), True)
