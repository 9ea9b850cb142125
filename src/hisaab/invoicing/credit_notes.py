"""Use cases of credit notes: issue one against an invoice, read them.

A finalized invoice never changes (DESIGN rule 6); a credit note is how value, and the tax on it,
is taken back (CGST Act s. 34). It numbers in its own gapless series (`PREFIX-CN/FY/SEQ`), names
the invoice it corrects, and settles its total in a fixed order: off what the invoice still owes,
then back to the customer as a refund (when asked) or as credit balance. The invoice's row lock
serialises credit notes of one invoice, so two at once cannot both take the last rupee.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from hisaab.core.errors import conflict, invalid
from hisaab.core.ids import new_id
from hisaab.core.lookup import found
from hisaab.core.pagination import PageRequest, Slice
from hisaab.invoicing import collection, crediting, fx, repository, service
from hisaab.invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from hisaab.invoicing.schemas import CreditNoteCreate, CreditNoteOut
from hisaab.ledger import service as ledger
from hisaab.tenants import service as tenants
from hisaab.webhooks import service as events

# An invoice that was issued and not cancelled: only such a document can be corrected.
CREDITABLE = frozenset({"open", "paid"})


def get(session: Session, tenant_id: str, credit_note_id: str) -> CreditNote:
    return found(
        "credit_note",
        "cn",
        credit_note_id,
        lambda: repository.get_credit_note(session, tenant_id, credit_note_id),
    )


def list_credit_notes(
    session: Session, page: PageRequest, invoice_id: str | None, customer_id: str | None
) -> Slice[CreditNote]:
    return repository.list_credit_notes(session, page, invoice_id, customer_id)


def present(session: Session, note: CreditNote) -> CreditNoteOut:
    return present_many(session, [note])[0]


def present_many(session: Session, notes: Sequence[CreditNote]) -> list[CreditNoteOut]:
    lines = repository.credit_note_lines_of(session, [n.id for n in notes])
    numbers = repository.invoice_numbers(session, list({n.invoice_id for n in notes}))
    return [
        CreditNoteOut.model_validate(
            {
                **{
                    name: getattr(n, name)
                    for name in CreditNoteOut.model_fields
                    if hasattr(n, name)
                },
                "invoice_number": numbers[n.invoice_id],
                "lines": lines.get(n.id, []),
                "customer": n.customer_snapshot,
            },
            from_attributes=True,
        )
        for n in notes
    ]


def create(session: Session, tenant_id: str, request: CreditNoteCreate) -> CreditNote:
    invoice = service.get(session, tenant_id, request.invoice_id, for_update=True)
    if invoice.status not in CREDITABLE:
        raise conflict(
            "invalid_state",
            f"An invoice that is {invoice.status} cannot be credited"
            + (" (void it instead)." if invoice.status == "draft" else "."),
        )
    invoice_lines = repository.lines_of(session, [invoice.id])[invoice.id]
    creditable = _creditable(invoice_lines, repository.credited_lines(session, invoice.id))
    try:
        if request.lines is not None:
            asked = [(line.invoice_line_id, line.amount) for line in request.lines]
            credits = crediting.of_lines(creditable, asked)
        elif request.amount is not None:
            credits = crediting.of_total(creditable, request.amount)
        else:
            credits = crediting.whole(creditable)
        total = sum(credit.gross for credit in credits)
        refundable = invoice.amount_paid - repository.refunded_on(session, invoice.id)
        settlement = crediting.settle(
            total, invoice.amount_remaining, refundable, refund=request.refund
        )
    except crediting.CreditRefused as refused:
        raise invalid(refused.code, str(refused), ("body",)) from None
    now = service.customer_now(session, invoice)
    note = _issue(session, invoice, invoice_lines, credits, settlement, request, now)
    _apply(session, invoice, note, now)
    if settlement.refunded and not invoice.paid_out_of_band:
        # Paid through a gateway: the money goes back the way it came. (Paid out of band, the
        # tenant gives it back the same way; the note records it.) A refusal rolls all back.
        collection.collector().refund(session, invoice, note.id, settlement.refunded, now)
    events.emit(session, tenant_id, "credit_note.created", present(session, note), now)
    return note


def _creditable(
    invoice_lines: Sequence[InvoiceLine], credited: Sequence[CreditNoteLine]
) -> list[crediting.LineValue]:
    """Each invoice line less what earlier credit notes took of its value and of each tax."""
    taken_value: dict[str, int] = defaultdict(int)
    taken_tax: dict[tuple[str, str, str], int] = defaultdict(int)
    for taken in credited:
        taken_value[taken.invoice_line_id] += taken.taxable_amount
        for c in taken.tax_lines:
            taken_tax[(taken.invoice_line_id, c["type"], c["jurisdiction"])] += c["amount"]
    creditable = []
    for line in invoice_lines:
        creditable.append(
            crediting.LineValue(
                line_id=line.id,
                taxable=line.taxable_amount - taken_value[line.id],
                components=tuple(
                    crediting.Component(
                        c["type"],
                        Decimal(c["rate"]),
                        c["jurisdiction"],
                        c["amount"] - taken_tax[(line.id, c["type"], c["jurisdiction"])],
                    )
                    for c in line.tax_lines
                ),
            )
        )
    return creditable


def _issue(
    session: Session,
    invoice: Invoice,
    invoice_lines: Sequence[InvoiceLine],
    credits: Sequence[crediting.LineValue],
    settlement: crediting.Settlement,
    request: CreditNoteCreate,
    now: datetime,
) -> CreditNote:
    tenant = tenants.get_tenant(session, invoice.tenant_id)
    series, number = service.assign_number(
        session, tenant, "credit_note", invoice.test_clock_id, now
    )
    by_id = {line.id: line for line in invoice_lines}
    lines = [
        CreditNoteLine(
            tenant_id=invoice.tenant_id,
            id=new_id("cnl"),
            credit_note_id="",
            invoice_line_id=credit.line_id,
            position=position,
            description=by_id[credit.line_id].description,
            sac_code=by_id[credit.line_id].sac_code,
            taxable_amount=credit.taxable,
            tax=credit.tax,
            amount=credit.gross,
            tax_lines=[_tax_line(c, credit.taxable) for c in credit.components],
        )
        for position, credit in enumerate(credits)
    ]
    tax_lines = service.tax_totals(c for line in lines for c in line.tax_lines)
    subtotal = sum(line.taxable_amount for line in lines)
    tax = sum(line.tax for line in lines)
    note = CreditNote(
        tenant_id=invoice.tenant_id,
        id=new_id("cn"),
        number=number,
        series=series,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        test_clock_id=invoice.test_clock_id,
        currency=invoice.currency,
        reason=request.reason,
        memo=request.memo,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        credited_to_invoice=settlement.to_invoice,
        credited_to_balance=settlement.to_balance,
        refunded=settlement.refunded,
        tax_lines=tax_lines,
        place_of_supply=invoice.place_of_supply,
        reverse_charge=invoice.reverse_charge,
        notes=list(invoice.notes),
        # At the invoice's own rate: the credit note reverses what that invoice reported.
        inr_values=(
            fx.inr_values(
                invoice.currency,
                Decimal(invoice.inr_values["rate"]),
                date.fromisoformat(invoice.inr_values["rate_date"]),
                subtotal,
                tax_lines,
            )
            if invoice.inr_values
            else None
        ),
        customer_snapshot=invoice.customer_snapshot,
        seller_snapshot=service.seller_snapshot(tenant),
        issued_at=now,
        created_at=now,
    )
    for line in lines:
        line.credit_note_id = note.id
    repository.add(session, note)
    repository.add(session, *lines)
    return note


def _tax_line(component: crediting.Component, taxable: int) -> dict[str, object]:
    return {
        "type": component.type,
        "rate": str(component.rate),
        "jurisdiction": component.jurisdiction,
        "taxable_amount": taxable,
        "amount": component.amount,
    }


def _apply(session: Session, invoice: Invoice, note: CreditNote, now: datetime) -> None:
    """What the note does to the invoice, the customer's balance and the books."""
    invoice.updated_at = now
    if note.credited_to_invoice:
        invoice.amount_remaining -= note.credited_to_invoice
    if note.credited_to_balance:
        service.move_credit(session, invoice, note.credited_to_balance, "credit_note", now)
    ledger.record_credit_note(
        session,
        invoice.tenant_id,
        credit_note_id=note.id,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        test_clock_id=invoice.test_clock_id,
        currency=invoice.currency,
        occurred_at=now,
        net_amount=note.subtotal,
        taxes=ledger.taxes_by_type(note.tax_lines),
        to_receivable=note.credited_to_invoice,
        to_customer_credit=note.credited_to_balance,
        refunded=note.refunded,
    )
    session.flush()
    if invoice.status == "open" and invoice.amount_remaining == 0:
        # Nothing is owed any more: the invoice is settled by the credit, as Stripe does.
        invoice.status = "paid"
        invoice.paid_at = now
        session.flush()
        events.emit(
            session, invoice.tenant_id, "invoice.paid", service.present(session, invoice), now
        )
