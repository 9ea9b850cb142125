"""All SQL of invoices, their lines, pending items, credit and number series."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import TypeVar

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from hisaab.core.pagination import PageRequest, Slice, fetch_page
from hisaab.core.queries import any_of
from hisaab.invoicing.models import (
    CreditNote,
    CreditNoteLine,
    CreditTransaction,
    ExchangeRate,
    Invoice,
    InvoiceLine,
    PendingItem,
)

# A document line: its rows are grouped by the document they belong to.
L = TypeVar("L", InvoiceLine, CreditNoteLine)


def add(session: Session, *rows: object) -> None:
    session.add_all(rows)
    session.flush()


def get(
    session: Session, tenant_id: str, invoice_id: str, *, for_update: bool = False
) -> Invoice | None:
    return session.get(Invoice, (tenant_id, invoice_id), with_for_update=for_update)


def get_with_credited(session: Session, invoice_id: str) -> tuple[Invoice, int] | None:
    """The invoice and what credit notes took off it, in one statement."""
    credited = (
        select(func.coalesce(func.sum(CreditNote.total), 0))
        .where(CreditNote.invoice_id == Invoice.id)
        .scalar_subquery()
    )
    row = session.execute(select(Invoice, credited).where(Invoice.id == invoice_id)).one_or_none()
    return None if row is None else (row[0], int(row[1]))


def _lines_by_parent(
    session: Session, line: type[L], parent: InstrumentedAttribute[str], ids: Sequence[str]
) -> dict[str, list[L]]:
    """The lines of each document in `ids`, in their printed order."""
    found: dict[str, list[L]] = defaultdict(list)
    if ids:
        statement = select(line).where(any_of(parent, ids)).order_by(parent, line.position)
        for row in session.scalars(statement):
            found[getattr(row, parent.key)].append(row)
    return found


def lock_many(session: Session, invoice_ids: Sequence[str]) -> list[Invoice]:
    statement = (
        select(Invoice)
        .where(any_of(Invoice.id, invoice_ids))
        .order_by(Invoice.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(statement))


def lines_of(session: Session, invoice_ids: Sequence[str]) -> dict[str, list[InvoiceLine]]:
    return _lines_by_parent(session, InvoiceLine, InvoiceLine.invoice_id, invoice_ids)


def list_invoices(
    session: Session,
    page: PageRequest,
    customer_id: str | None,
    subscription_id: str | None,
    status: str | None,
) -> Slice[Invoice]:
    statement = select(Invoice)
    if customer_id is not None:
        statement = statement.where(Invoice.customer_id == customer_id)
    if subscription_id is not None:
        statement = statement.where(Invoice.subscription_id == subscription_id)
    if status is not None:
        statement = statement.where(Invoice.status == status)
    return fetch_page(session, statement, Invoice.id, page)


def _open_items(subscription_id: str) -> Select[PendingItem]:
    return select(PendingItem).where(
        PendingItem.subscription_id == subscription_id, PendingItem.invoice_id.is_(None)
    )


def open_pending_items(session: Session, subscription_id: str) -> list[PendingItem]:
    """Items no invoice has taken yet, locked so two invoices cannot both take one."""
    statement = _open_items(subscription_id).order_by(PendingItem.sequence).with_for_update()
    return list(session.scalars(statement))


def subscriptions_with_pending_items(session: Session, subscription_ids: Sequence[str]) -> set[str]:
    statement = (
        select(PendingItem.subscription_id)
        .where(
            any_of(PendingItem.subscription_id, subscription_ids), PendingItem.invoice_id.is_(None)
        )
        .distinct()
    )
    return set(session.scalars(statement))


def customers_with_credit(session: Session, customer_ids: Sequence[str]) -> set[tuple[str, str]]:
    """(customer, currency) pairs of these customers whose credit balance is not zero."""
    statement = (
        select(CreditTransaction.customer_id, CreditTransaction.currency)
        .where(any_of(CreditTransaction.customer_id, customer_ids))
        .group_by(CreditTransaction.customer_id, CreditTransaction.currency)
        .having(func.sum(CreditTransaction.amount) != 0)
    )
    return {(customer, currency) for customer, currency in session.execute(statement)}


def has_pending_items(session: Session, subscription_id: str) -> bool:
    return bool(session.scalar(select(_open_items(subscription_id).exists())))


def credit_balance(session: Session, customer_id: str, currency: str) -> int:
    """Without autoflush: credit transactions are written as they are made (`add`), and what
    else is pending (an invoice a batch has yet to number and write) is no part of a balance."""
    statement = select(func.coalesce(func.sum(CreditTransaction.amount), 0)).where(
        CreditTransaction.customer_id == customer_id, CreditTransaction.currency == currency
    )
    with session.no_autoflush:
        return int(session.scalar(statement) or 0)


def next_number(session: Session, tenant_id: str, series: str, count: int = 1) -> int:
    """The first of the next `count` numbers of a series. The row stays locked until the
    transaction ends, so a concurrent finalization waits, and a rollback returns the numbers:
    no gap, no duplicate.

    Without autoflush: no ORM object maps the sequences, so nothing pending need be written
    first, and what is pending (a subscription being created, which its first invoice points
    at) is written by the invoice's own flush, in one statement with it (`core.set_flush`)."""
    with session.no_autoflush:
        value = session.execute(
            text(
                "INSERT INTO document_sequences (tenant_id, series, last_number) "
                "VALUES (:tenant_id, :series, :count) "
                "ON CONFLICT (tenant_id, series) "
                "DO UPDATE SET last_number = document_sequences.last_number + :count "
                "RETURNING last_number"
            ),
            {"tenant_id": tenant_id, "series": series, "count": count},
        ).scalar_one()
    return int(value) - count + 1


# --- credit notes ----------------------------------------------------------------------------


def get_credit_note(session: Session, tenant_id: str, credit_note_id: str) -> CreditNote | None:
    return session.get(CreditNote, (tenant_id, credit_note_id))


def credit_note_lines_of(
    session: Session, credit_note_ids: Sequence[str]
) -> dict[str, list[CreditNoteLine]]:
    return _lines_by_parent(session, CreditNoteLine, CreditNoteLine.credit_note_id, credit_note_ids)


def invoice_numbers(session: Session, invoice_ids: Sequence[str]) -> dict[str, str | None]:
    statement = select(Invoice.id, Invoice.number).where(any_of(Invoice.id, invoice_ids))
    return {row.id: row.number for row in session.execute(statement)}


def credited_lines(session: Session, invoice_id: str) -> list[CreditNoteLine]:
    """Every credit note line already written against the invoice's lines."""
    statement = (
        select(CreditNoteLine)
        .join(CreditNote, CreditNote.id == CreditNoteLine.credit_note_id)
        .where(CreditNote.invoice_id == invoice_id)
    )
    return list(session.scalars(statement))


def credited_totals(session: Session, invoice_ids: Sequence[str]) -> dict[str, int]:
    """What credit notes took off each invoice, in total."""
    statement = (
        select(CreditNote.invoice_id, func.sum(CreditNote.total))
        .where(any_of(CreditNote.invoice_id, invoice_ids))
        .group_by(CreditNote.invoice_id)
    )
    return {invoice_id: int(total) for invoice_id, total in session.execute(statement)}


def refunded_on(session: Session, invoice_id: str) -> int:
    statement = select(func.coalesce(func.sum(CreditNote.refunded), 0)).where(
        CreditNote.invoice_id == invoice_id
    )
    return int(session.scalar(statement) or 0)


def list_credit_notes(
    session: Session, page: PageRequest, invoice_id: str | None, customer_id: str | None
) -> Slice[CreditNote]:
    statement = select(CreditNote)
    if invoice_id is not None:
        statement = statement.where(CreditNote.invoice_id == invoice_id)
    if customer_id is not None:
        statement = statement.where(CreditNote.customer_id == customer_id)
    return fetch_page(session, statement, CreditNote.id, page)


# --- exchange rates --------------------------------------------------------------------------


def rate_on(session: Session, currency: str, day: date) -> ExchangeRate | None:
    """The rate in force on `day`: the latest one that took effect on or before it."""
    statement = (
        select(ExchangeRate)
        .where(ExchangeRate.currency == currency, ExchangeRate.effective_on <= day)
        .order_by(ExchangeRate.effective_on.desc())
        .limit(1)
    )
    return session.scalars(statement).first()


def get_rate(session: Session, tenant_id: str, currency: str, day: date) -> ExchangeRate | None:
    return session.get(ExchangeRate, (tenant_id, currency, day))


def list_rates(session: Session, currency: str | None, limit: int) -> list[ExchangeRate]:
    statement = select(ExchangeRate).order_by(
        ExchangeRate.currency, ExchangeRate.effective_on.desc()
    )
    if currency is not None:
        statement = statement.where(ExchangeRate.currency == currency)
    return list(session.scalars(statement.limit(limit)))


def count_unpaid_automatic(session: Session, subscription_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Invoice)
            .where(
                Invoice.subscription_id == subscription_id,
                Invoice.collection_method == "charge_automatically",
                Invoice.status == "open",
                Invoice.amount_remaining > 0,
            )
        )
        or 0
    )
