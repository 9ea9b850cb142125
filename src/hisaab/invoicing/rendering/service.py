"""Use cases of invoice documents: the PDF and the India e-invoice JSON of one invoice.

Only finalized invoices have documents: a draft has no number and no date, the two things every
document starts with, so asking for its PDF or e-invoice is a state conflict (409
`invalid_state`), not a document with blanks. A void invoice keeps its PDF, stamped VOID: it was
issued, numbered and perhaps sent, and the customer's copy must still be reproducible; it has no
e-invoice any more (an e-invoice of a cancelled document would be registered as a live one).

Seller and customer are the snapshots frozen on the document when it was issued (only the logo,
which is branding, is the tenant's current one). A credit note prints as the same kind of document,
titled "Credit Note" and naming the invoice it corrects (rule 53 of the CGST Rules).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hisaab.core.errors import conflict
from hisaab.invoicing import credit_notes
from hisaab.invoicing import service as invoices
from hisaab.invoicing.rendering import document, einvoice
from hisaab.invoicing.rendering.pdf import render_pdf
from hisaab.invoicing.schemas import CreditNoteOut, InvoiceLineOut, InvoiceOut
from hisaab.tenants import service as tenants

if TYPE_CHECKING:
    from hisaab.tenants.models import Tenant

__all__ = [
    "credit_note_document",
    "credit_note_einvoice",
    "credit_note_pdf",
    "invoice_document",
    "invoice_einvoice",
    "invoice_pdf",
    "seller",
]

_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def seller(tenant: Tenant, snapshot: Mapping[str, Any] | None = None) -> document.Seller:
    """The issuer as frozen on the document (`snapshot`), or as the tenant is now."""
    issued = snapshot if snapshot is not None else invoices.seller_snapshot(tenant)
    return document.Seller(
        name=issued["name"],
        country=issued["country"],
        state=issued["state"],
        gstin=issued["gstin"],
        address=issued["address"],
        email=issued["email"],
        timezone=issued["timezone"],
        registrations=tuple((r["scheme"], r["number"]) for r in issued["tax_registrations"]),
        logo=tenant.logo,
    )


def _finalized(
    session: Session, tenant_id: str, invoice_id: str
) -> tuple[InvoiceOut, document.Seller]:
    row = invoices.get(session, tenant_id, invoice_id)
    invoice = invoices.present(session, row)
    if invoice.status == "draft" or invoice.number is None:
        raise conflict(
            "invalid_state",
            "A draft invoice has no number or date yet; its documents exist once it is finalized.",
        )
    return invoice, seller(tenants.get_tenant(session, tenant_id), row.seller_snapshot)


def invoice_document(session: Session, tenant_id: str, invoice_id: str) -> document.TaxDocument:
    return document.from_invoice(*_finalized(session, tenant_id, invoice_id))


def _pdf(doc: document.TaxDocument, fallback_name: str) -> tuple[str, bytes]:
    """The file name (the document number, `/` made `-`) and the PDF bytes."""
    filename = _UNSAFE_IN_FILENAME.sub("-", doc.number).strip("-") or fallback_name
    return f"{filename}.pdf", render_pdf(doc)


def invoice_pdf(session: Session, tenant_id: str, invoice_id: str) -> tuple[str, bytes]:
    return _pdf(invoice_document(session, tenant_id, invoice_id), invoice_id)


def _credit_note(
    session: Session, tenant_id: str, credit_note_id: str
) -> tuple[InvoiceOut, document.Seller, document.Reference]:
    """The credit note in the invoice's shape, its issuer, and the invoice it corrects."""
    row = credit_notes.get(session, tenant_id, credit_note_id)
    note = credit_notes.present(session, row)
    invoice = invoices.present(session, invoices.get(session, tenant_id, note.invoice_id))
    assert invoice.issued_at is not None  # only issued invoices are credited
    return (
        _as_invoice(note, invoice),
        seller(tenants.get_tenant(session, tenant_id), row.seller_snapshot),
        document.Reference(invoice.number or "", invoice.issued_at),
    )


def credit_note_document(
    session: Session, tenant_id: str, credit_note_id: str
) -> document.TaxDocument:
    note, issuer, corrected = _credit_note(session, tenant_id, credit_note_id)
    return document.from_invoice(note, issuer, kind="credit_note", reference=corrected)


def credit_note_einvoice(session: Session, tenant_id: str, credit_note_id: str) -> dict[str, Any]:
    """The INV-01 JSON of a credit note (`Typ: CRN`, the invoice in `PrecDocDtls`): a B2B
    credit note is reported to the IRP like the invoice it corrects."""
    note, issuer, corrected = _credit_note(session, tenant_id, credit_note_id)
    return _registered(
        lambda: einvoice.build(note, issuer, document_type="CRN", preceding=corrected)
    )


def credit_note_pdf(session: Session, tenant_id: str, credit_note_id: str) -> tuple[str, bytes]:
    return _pdf(credit_note_document(session, tenant_id, credit_note_id), credit_note_id)


def _as_invoice(note: CreditNoteOut, invoice: InvoiceOut) -> InvoiceOut:
    """The credit note in the invoice's shape: its own number, date, lines and totals; the
    parties, place of supply and wording of the invoice it corrects. Its lines state the value
    taken back (tax-exclusive), so the document shows value + tax = total like any invoice."""
    originals = {line.id: line for line in invoice.lines}
    lines = [
        InvoiceLineOut.model_validate(
            {
                **originals[line.invoice_line_id].model_dump(),
                "id": line.id,
                "quantity": 1,
                "unit_amount": line.taxable_amount,
                "amount": line.taxable_amount,
                "discount_amount": 0,
                "tax_behavior": "exclusive",
                "tax_lines": [t.model_dump() for t in line.tax_lines],
            }
        )
        for line in note.lines
    ]
    return invoice.model_copy(
        update={
            "id": note.id,
            "number": note.number,
            "status": "paid",
            "subtotal": note.subtotal,
            "discount": 0,
            "tax": note.tax,
            "total": note.total,
            "credit_applied": 0,
            "amount_due": note.total,
            "issued_at": note.issued_at,
            "due_at": note.issued_at,
            "lines": lines,
            "tax_lines": note.tax_lines,
            "inr_values": note.inr_values,
            "customer": note.customer,
        }
    )


def _json_numbers(value: Any) -> Any:
    """Decimal rupees as JSON numbers (the IRP wants numbers; a two-place Decimal survives the
    float's shortest repr digit for digit), not the strings Pydantic would make of them."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    return value


def invoice_einvoice(session: Session, tenant_id: str, invoice_id: str) -> dict[str, Any]:
    """The INV-01 JSON (einvoice.py), amounts as JSON numbers in rupees."""
    invoice, issuer = _finalized(session, tenant_id, invoice_id)
    if invoice.status == "void":
        raise conflict(
            "invalid_state", "A void invoice has no e-invoice; cancel its IRN on the IRP."
        )
    return _registered(lambda: einvoice.build(invoice, issuer))


def _registered(build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        built = build()
    except einvoice.EinvoiceRefused as refused:
        raise conflict(refused.code, refused.detail) from None
    json: dict[str, Any] = _json_numbers(built)
    return json
