"""Use cases of the ledger: post what a document did, recognise revenue as time passes, read.

Documents call in here from their own use cases (DESIGN rule 5): every posting happens in the
caller's transaction, so an invoice is finalized, paid or voided exactly when its journal entry
exists. What each event posts is decided in `entries.py`; this module adds the IO around it.

Books: a customer on a test clock has simulated books. Entries carry the clock, the trial
balance shows one book at a time, and each book balances on its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hisaab.clocks import service as clocks
from hisaab.core import bulk
from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.core.ids import new_id
from hisaab.core.money import currency_code, normalize_currency
from hisaab.core.pagination import PageRequest, Slice
from hisaab.ledger import chart, entries, repository
from hisaab.ledger.entries import Posting
from hisaab.ledger.models import JournalEntry, JournalLine, RecognitionSlice
from hisaab.ledger.schemas import AccountBalanceOut, EntryLineOut, EntryOut, TrialBalanceOut
from hisaab.tenants import service as tenants

# Slices recognised per transaction by the due work; the rest wait for the next batch.
RECOGNITION_BATCH = 1_000


class LedgerInvoice(Protocol):
    """What the ledger reads from an invoice (invoicing's model satisfies it)."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def test_clock_id(self) -> str | None: ...
    @property
    def currency(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def total(self) -> int: ...
    @property
    def tax(self) -> int: ...
    @property
    def tax_lines(self) -> list[dict[str, Any]]: ...
    @property
    def credit_applied(self) -> int: ...
    @property
    def amount_due(self) -> int: ...
    @property
    def amount_remaining(self) -> int: ...


class LedgerLine(Protocol):
    """What revenue recognition reads from an invoice line."""

    @property
    def id(self) -> str: ...
    @property
    def taxable_amount(self) -> int: ...
    @property
    def period_start(self) -> datetime: ...
    @property
    def period_end(self) -> datetime: ...


def taxes_by_type(tax_lines: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """A document's tax per type: the heads tax is payable (and returns are filed) under."""
    taxes: dict[str, int] = {}
    for line in tax_lines:
        taxes[line["type"]] = taxes.get(line["type"], 0) + int(line["amount"])
    return taxes


def _post(
    session: Session,
    tenant_id: str,
    *,
    kind: str,
    source_type: str,
    source_id: str,
    test_clock_id: str | None,
    currency: str,
    occurred_at: datetime,
    postings: Sequence[Posting],
) -> str | None:
    """Write one entry and its lines; nothing at all for an event that moved no money."""
    if not postings:
        return None
    posted_at = SYSTEM_CLOCK.now()
    repository.ensure_accounts(
        session, tenant_id, currency, (chart.ACCOUNTS[p.account] for p in postings), posted_at
    )
    entry_id = new_id("je")
    repository.add_entry(
        session,
        {
            "tenant_id": tenant_id,
            "id": entry_id,
            "test_clock_id": test_clock_id,
            "currency": currency,
            "kind": kind,
            "source_type": source_type,
            "source_id": source_id,
            "occurred_at": occurred_at,
            "posted_at": posted_at,
        },
        [
            {
                "tenant_id": tenant_id,
                "entry_id": entry_id,
                "line_no": number,
                "currency": currency,
                "account_code": p.account,
                "debit": p.debit,
                "credit": p.credit,
                "customer_id": p.customer_id,
                "invoice_id": p.invoice_id,
            }
            for number, p in enumerate(postings, start=1)
        ],
    )
    return entry_id


def _post_invoice(
    session: Session,
    invoice: LedgerInvoice,
    kind: str,
    postings: Sequence[Posting],
    now: datetime,
) -> None:
    _post(
        session,
        invoice.tenant_id,
        kind=kind,
        source_type="invoice",
        source_id=invoice.id,
        test_clock_id=invoice.test_clock_id,
        currency=invoice.currency,
        occurred_at=now,
        postings=postings,
    )


# --- invoice events ------------------------------------------------------------------------


def invoice_finalized(
    session: Session, invoice: LedgerInvoice, lines: Sequence[LedgerLine], now: datetime
) -> None:
    """The invoice's amounts as issued (after credit was applied), its revenue schedule, and
    what of that schedule was already earned (a period billed in arrears)."""
    postings = entries.finalized(
        invoice.customer_id,
        invoice.id,
        net=invoice.total - invoice.tax,
        taxes=taxes_by_type(invoice.tax_lines),
        amount_due=invoice.amount_due,
        credit_applied=invoice.credit_applied,
        credit_granted=max(-invoice.total, 0),
    )
    _post_invoice(session, invoice, "invoice_finalized", postings, now)
    zone = ZoneInfo(tenants.get_tenant(session, invoice.tenant_id).timezone)
    pieces = [
        (line, piece)
        for line in lines
        for piece in entries.recognition_schedule(
            line.taxable_amount, line.period_start, line.period_end, zone, now
        )
        if piece.amount != 0
    ]
    repository.add_slices(
        session,
        [
            {
                "tenant_id": invoice.tenant_id,
                "invoice_line_id": line.id,
                "recognize_at": piece.recognize_at,
                "invoice_id": invoice.id,
                "customer_id": invoice.customer_id,
                "test_clock_id": invoice.test_clock_id,
                "currency": invoice.currency,
                "period_start": piece.period_start,
                "period_end": piece.period_end,
                "amount": piece.amount,
                "status": "pending",
                "entry_id": None,
            }
            for line, piece in pieces
        ],
    )
    if bulk.collecting(session):
        return  # the slices are not written yet: the recognition work takes what is due
    if all(piece.recognize_at > now for _, piece in pieces):
        return  # the invoice has no other slices, so none is due (a period billed in advance)
    due = repository.claim_due_slices(
        session, invoice.test_clock_id, now, RECOGNITION_BATCH, invoice_id=invoice.id
    )
    _recognize(session, due)


def invoice_paid(session: Session, invoice: LedgerInvoice, now: datetime) -> None:
    """Call before the invoice records the payment: what is still owed is what arrives."""
    postings = entries.paid(
        invoice.customer_id,
        invoice.id,
        invoice.amount_remaining,
        written_off=invoice.status == "uncollectible",
    )
    _post_invoice(session, invoice, "invoice_paid", postings, now)


def invoice_written_off(session: Session, invoice: LedgerInvoice, now: datetime) -> None:
    postings = entries.written_off(invoice.customer_id, invoice.id, invoice.amount_remaining)
    _post_invoice(session, invoice, "invoice_written_off", postings, now)


def invoice_voided(session: Session, invoice: LedgerInvoice, now: datetime) -> None:
    """Undo everything the invoice left in the books: what is still deferred and what was
    already recognised, its tax, its receivable (or write-off), the credit it used. Revenue not
    yet recognised never will be."""
    repository.cancel_pending(session, invoice.id)
    balances = repository.invoice_balances(session, invoice.id)
    postings = entries.reversal(invoice.customer_id, invoice.id, balances)
    _post_invoice(session, invoice, "invoice_voided", postings, now)


def record_credit_note(
    session: Session,
    tenant_id: str,
    *,
    credit_note_id: str,
    invoice_id: str,
    customer_id: str,
    test_clock_id: str | None,
    currency: str,
    occurred_at: datetime,
    net_amount: int,
    taxes: Mapping[str, int],
    to_receivable: int,
    to_customer_credit: int,
    refunded: int,
) -> None:
    """A credit note against an invoice: value into sales returns, tax back, and the money off
    the invoice's receivable, to the customer's credit balance, or refunded (out of band or
    through the gateway: either way it leaves through cash clearing).

    Raises ValueError unless net_amount + sum(taxes) == to_receivable + to_customer_credit +
    refunded and no amount is negative. Posts at most once per credit note (unique index).
    """
    written_off = repository.invoice_balances(session, invoice_id).get(chart.BAD_DEBT.code, 0)
    postings = entries.credit_note(
        customer_id,
        invoice_id,
        net=net_amount,
        taxes=taxes,
        to_receivable=to_receivable,
        to_customer_credit=to_customer_credit,
        refunded=refunded,
        written_off_balance=written_off,
    )
    _post(
        session,
        tenant_id,
        kind="credit_note",
        source_type="credit_note",
        source_id=credit_note_id,
        test_clock_id=test_clock_id,
        currency=normalize_currency(currency),
        occurred_at=occurred_at,
        postings=postings,
    )


# --- revenue recognition -------------------------------------------------------------------


def _recognize(session: Session, slices: Sequence[RecognitionSlice]) -> int:
    """One entry per invoice and instant; each slice remembers the entry that recognised it."""

    def key(piece: RecognitionSlice) -> tuple[str, datetime]:
        return piece.invoice_id, piece.recognize_at

    for (invoice_id, at), group in groupby(sorted(slices, key=key), key=key):
        pieces = list(group)
        first = pieces[0]
        entry_id = _post(
            session,
            first.tenant_id,
            kind="revenue_recognized",
            source_type="invoice",
            source_id=invoice_id,
            test_clock_id=first.test_clock_id,
            currency=first.currency,
            occurred_at=at,
            postings=entries.recognized(
                first.customer_id, invoice_id, sum(p.amount for p in pieces)
            ),
        )
        for piece in pieces:
            piece.status = "recognized"
            piece.entry_id = entry_id
    session.flush()
    return len(slices)


class RevenueRecognition:
    """Due work: deferred revenue whose slice has come, for the scheduler and test clocks."""

    name = "revenue_recognition"

    def next_due(self, session: Session, clock_id: str | None, until: datetime) -> datetime | None:
        return repository.earliest_slice(session, clock_id, until)

    def run_due(self, session: Session, clock_id: str | None, now: datetime) -> int:
        return _recognize(
            session, repository.claim_due_slices(session, clock_id, now, RECOGNITION_BATCH)
        )


DUE_WORK = RevenueRecognition()


# --- reading -------------------------------------------------------------------------------


def trial_balance(
    session: Session, tenant_id: str, currency: str, test_clock_id: str | None
) -> TrialBalanceOut:
    """One book's accounts in one currency: the real books, or a test clock's."""
    code = currency_code(currency, ("query", "currency"))
    if test_clock_id is not None:
        clocks.get(session, tenant_id, test_clock_id)
    totals = repository.trial_balance(session, code, test_clock_id)
    return TrialBalanceOut(
        currency=code,
        test_clock_id=test_clock_id,
        accounts=[
            AccountBalanceOut(
                code=t.account.code,
                name=t.account.name,
                type=t.account.type,
                normal_balance=t.account.normal_balance,
                debits=t.debits,
                credits=t.credits,
                balance=(
                    t.debits - t.credits
                    if t.account.normal_balance == "debit"
                    else t.credits - t.debits
                ),
            )
            for t in totals
        ],
        total_debits=sum(t.debits for t in totals),
        total_credits=sum(t.credits for t in totals),
    )


def list_entries(session: Session, page: PageRequest, source_id: str | None) -> Slice[JournalEntry]:
    return repository.list_entries(session, page, source_id)


def present_entries(session: Session, found: Sequence[JournalEntry]) -> list[EntryOut]:
    lines = repository.lines_of(session, found)
    return [_present(entry, lines.get(entry.id, [])) for entry in found]


def _present(entry: JournalEntry, lines: Sequence[tuple[JournalLine, str]]) -> EntryOut:
    return EntryOut(
        id=entry.id,
        kind=entry.kind,
        source_type=entry.source_type,
        source_id=entry.source_id,
        currency=entry.currency,
        test_clock_id=entry.test_clock_id,
        occurred_at=entry.occurred_at,
        posted_at=entry.posted_at,
        lines=list(_present_lines(lines)),
    )


def _present_lines(lines: Sequence[tuple[JournalLine, str]]) -> Iterator[EntryLineOut]:
    for line, name in lines:
        yield EntryLineOut(
            account_code=line.account_code,
            account_name=name,
            debit=line.debit,
            credit=line.credit,
            customer_id=line.customer_id,
            invoice_id=line.invoice_id,
        )
