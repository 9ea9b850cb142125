"""Which invoicing events email the customer, and what the email says.

- `invoice.finalized` mails the invoice, with its PDF, whatever the collection method. The
  finalized document is the tax invoice: GST (CGST Rules, rule 46) and EU VAT (Directive
  2006/112/EC, art. 220) expect the buyer to receive it, and a business customer needs it to
  claim input tax. Stripe mails a card-charged customer only a receipt; here the receipt follows
  as a second email when money arrives. An invoice whose total is zero (a trial, a 100 % coupon)
  bills nothing and is not mailed; one paid entirely from the customer's credit balance is, since
  it still documents a taxable supply.
- `invoice.paid` with money received (`amount_paid > 0`) mails a receipt with the paid invoice's
  PDF. An invoice settled by credit alone had its email at finalization and gets no receipt.
- `credit_note.created` mails the credit note with its PDF: the customer must receive the
  document that corrects their tax invoice, whether the money went back to the invoice, to
  their credit balance or to them.

Subject and body are in the customer's language (en, hi, de, fr; anything else gets English),
amounts and dates in the customer's locale, dates as the tenant's calendar shows them. A customer
without an email address gets a message recorded as skipped, so support can see why.

The event handlers only decide whether a letter is due and to whom; its words and its PDF are
written by the send job (the letters registered below, from the event's snapshot of the
document, with the tenant's name, address and timezone recorded with the message): finalizing
an invoice, or a billing run renewing thousands, stays fast and never fails on an email.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from hisaab.invoicing.rendering import service as rendering
from hisaab.mail import letters
from hisaab.mail import service as mail
from hisaab.tenants import service as tenants
from hisaab.webhooks import service as events
from hisaab.webhooks.service import EventRecord

INVOICE_PDF = "invoice_pdf"
CREDIT_NOTE_PDF = "credit_note_pdf"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "invoice.subject": "Invoice {number} from {seller}",
        "receipt.subject": "Receipt for invoice {number} from {seller}",
        "credit_note.subject": "Credit note {number} from {seller}",
        "greeting": "Hello {name},",
        "invoice.intro": "Please find attached invoice {number} for {total}.",
        "invoice.due": "Amount due: {amount}, payable by {date}.",
        "invoice.auto": "{amount} will be charged automatically to your payment method on file.",
        "invoice.credit_applied": "{amount} of your account credit has been applied to it.",
        "invoice.covered": "It has been paid in full from your account credit; "
        "there is nothing to pay.",
        "invoice.net_credit": "{amount} has been added to your account credit for future invoices.",
        "receipt.intro": "We have received your payment of {amount} for invoice {number}. "
        "Thank you!",
        "receipt.date": "Paid on {date}.",
        "receipt.attached": "The paid invoice is attached for your records.",
        "credit_note.intro": "Please find attached credit note {number} for {total}, "
        "issued against invoice {invoice_number}.",
        "credit_note.to_invoice": "{amount} has been taken off what invoice {invoice_number} "
        "still owed.",
        "credit_note.to_balance": "{amount} has been added to your account credit "
        "for future invoices.",
        "credit_note.refunded": "{amount} has been refunded to you.",
        "questions": "If you have any questions, simply reply to this email.",
        "closing": "Thank you,",
    },
    "hi": {
        "invoice.subject": "{seller} का इनवॉइस {number}",
        "receipt.subject": "{seller}: इनवॉइस {number} के भुगतान की रसीद",
        "credit_note.subject": "{seller} का क्रेडिट नोट {number}",
        "greeting": "नमस्ते {name},",
        "invoice.intro": "इनवॉइस {number} संलग्न है, कुल राशि {total}।",
        "invoice.due": "देय राशि: {amount}, भुगतान की अंतिम तिथि {date}।",
        "invoice.auto": "देय राशि {amount} आपकी सहेजी गई भुगतान विधि से अपने-आप ली जाएगी।",
        "invoice.credit_applied": "इसमें आपके खाते के क्रेडिट से {amount} समायोजित किए गए हैं।",
        "invoice.covered": "इसका पूरा भुगतान आपके खाते के क्रेडिट से हो गया है; आपको कुछ भी चुकाना नहीं है।",
        "invoice.net_credit": "{amount} आपके खाते के क्रेडिट में जोड़ दिए गए हैं, "
        "जो आगे के इनवॉइस में समायोजित होंगे।",
        "receipt.intro": "इनवॉइस {number} के लिए आपका {amount} का भुगतान हमें मिल गया है। धन्यवाद!",
        "receipt.date": "भुगतान की तारीख: {date}।",
        "receipt.attached": "भुगतान किया गया इनवॉइस आपके रिकॉर्ड के लिए संलग्न है।",
        "credit_note.intro": "इनवॉइस {invoice_number} पर जारी क्रेडिट नोट {number} संलग्न है, "
        "राशि {total}।",
        "credit_note.to_invoice": "इनवॉइस {invoice_number} की बकाया राशि में से {amount} "
        "घटा दिए गए हैं।",
        "credit_note.to_balance": "{amount} आपके खाते के क्रेडिट में जोड़ दिए गए हैं, "
        "जो आगे के इनवॉइस में समायोजित होंगे।",
        "credit_note.refunded": "{amount} आपको वापस कर दिए गए हैं।",
        "questions": "कोई प्रश्न हो तो बस इस ईमेल का उत्तर दें।",
        "closing": "धन्यवाद,",
    },
    "de": {
        "invoice.subject": "Rechnung {number} von {seller}",
        "receipt.subject": "Zahlungsbestätigung für Rechnung {number} von {seller}",
        "credit_note.subject": "Rechnungskorrektur {number} von {seller}",
        "greeting": "Guten Tag {name},",
        "invoice.intro": "anbei erhalten Sie die Rechnung {number} über {total}.",
        "invoice.due": "Zu zahlen sind {amount} bis zum {date}.",
        "invoice.auto": "Der Betrag von {amount} wird automatisch über Ihre hinterlegte "
        "Zahlungsmethode eingezogen.",
        "invoice.credit_applied": "Ihr Guthaben wurde mit {amount} angerechnet.",
        "invoice.covered": "Sie wurde vollständig mit Ihrem Guthaben beglichen; "
        "es ist nichts zu zahlen.",
        "invoice.net_credit": "{amount} wurden Ihrem Guthaben für künftige Rechnungen "
        "gutgeschrieben.",
        "receipt.intro": "wir haben Ihre Zahlung über {amount} für die Rechnung {number} "
        "erhalten. Vielen Dank!",
        "receipt.date": "Zahlungsdatum: {date}.",
        "receipt.attached": "Die bezahlte Rechnung finden Sie für Ihre Unterlagen im Anhang.",
        "credit_note.intro": "anbei erhalten Sie die Rechnungskorrektur {number} über {total} "
        "zur Rechnung {invoice_number}.",
        "credit_note.to_invoice": "Der offene Betrag der Rechnung {invoice_number} verringert "
        "sich um {amount}.",
        "credit_note.to_balance": "{amount} wurden Ihrem Guthaben für künftige Rechnungen "
        "gutgeschrieben.",
        "credit_note.refunded": "{amount} wurden Ihnen erstattet.",
        "questions": "Bei Fragen antworten Sie einfach auf diese E-Mail.",
        "closing": "Mit freundlichen Grüßen",
    },
    "fr": {
        "invoice.subject": "Facture {number} de {seller}",
        "receipt.subject": "Reçu de paiement de la facture {number} de {seller}",
        "credit_note.subject": "Avoir {number} de {seller}",
        "greeting": "Bonjour {name},",
        "invoice.intro": "Veuillez trouver ci-joint la facture {number} d'un montant de {total}.",
        "invoice.due": "Montant à régler\u00a0: {amount}, au plus tard le {date}.",
        "invoice.auto": "Le montant de {amount} sera prélevé automatiquement sur votre moyen "
        "de paiement enregistré.",
        "invoice.credit_applied": "Votre crédit a été imputé à hauteur de {amount}.",
        "invoice.covered": "Elle a été entièrement réglée avec votre crédit\u00a0; "
        "vous n'avez rien à payer.",
        "invoice.net_credit": "Un crédit de {amount} a été ajouté à votre compte pour vos "
        "prochaines factures.",
        "receipt.intro": "Nous avons bien reçu votre paiement de {amount} pour la facture "
        "{number}. Merci\u00a0!",
        "receipt.date": "Date du paiement\u00a0: {date}.",
        "receipt.attached": "La facture acquittée est jointe pour vos archives.",
        "credit_note.intro": "Veuillez trouver ci-joint l'avoir {number} d'un montant de "
        "{total}, relatif à la facture {invoice_number}.",
        "credit_note.to_invoice": "Le solde de la facture {invoice_number} a été réduit de "
        "{amount}.",
        "credit_note.to_balance": "Un crédit de {amount} a été ajouté à votre compte pour vos "
        "prochaines factures.",
        "credit_note.refunded": "Un remboursement de {amount} vous a été versé.",
        "questions": "Pour toute question, il vous suffit de répondre à cet e-mail.",
        "closing": "Cordialement,",
    },
}


def install() -> None:
    """Subscribe to the events above; called once by every process that emits events (API and
    worker) and that sends mail (worker)."""
    events.subscribe("invoice.finalized", invoice_finalized)
    events.subscribe("invoice.paid", invoice_paid)
    events.subscribe("credit_note.created", credit_note_created)
    for kind, write in LETTERS.items():
        mail.register_letter(kind, letters.written_by(TEXTS, write))
    mail.register_attachment(INVOICE_PDF, rendering.invoice_pdf)
    mail.register_attachment(CREDIT_NOTE_PDF, rendering.credit_note_pdf)


def uninstall() -> None:
    events.unsubscribe("invoice.finalized", invoice_finalized)
    events.unsubscribe("invoice.paid", invoice_paid)
    events.unsubscribe("credit_note.created", credit_note_created)
    for kind in LETTERS:
        mail.unregister_letter(kind)
    mail.unregister_attachment(INVOICE_PDF)
    mail.unregister_attachment(CREDIT_NOTE_PDF)


# --- events -------------------------------------------------------------------------------


def invoice_finalized(session: Session, event: EventRecord) -> None:
    invoice: dict[str, Any] = event.data["object"]
    if invoice["total"] == 0:
        return
    _due(session, event, "invoice", invoice, INVOICE_PDF)


def invoice_paid(session: Session, event: EventRecord) -> None:
    invoice: dict[str, Any] = event.data["object"]
    if invoice["amount_paid"] <= 0:
        return
    _due(session, event, "receipt", invoice, INVOICE_PDF)


def credit_note_created(session: Session, event: EventRecord) -> None:
    _due(session, event, "credit_note", event.data["object"], CREDIT_NOTE_PDF)


# --- letters (written by the send job) ------------------------------------------------------


def invoice_letter(writer: letters.Letter, invoice: dict[str, Any]) -> tuple[str, list[str]]:
    money = partial(_amount, writer, invoice["currency"])
    lines = [writer.text("invoice.intro", number=invoice["number"], total=money(invoice["total"]))]
    if invoice["total"] < 0:
        lines.append(writer.text("invoice.net_credit", amount=money(-invoice["total"])))
    elif invoice["amount_due"] == 0:
        lines.append(writer.text("invoice.covered"))
    else:
        if invoice["credit_applied"] > 0:
            lines.append(
                writer.text("invoice.credit_applied", amount=money(invoice["credit_applied"]))
            )
        if invoice["collection_method"] == "send_invoice" and invoice["due_at"]:
            due = writer.date(_day(invoice["due_at"]))
            lines.append(writer.text("invoice.due", amount=money(invoice["amount_due"]), date=due))
        else:
            lines.append(writer.text("invoice.auto", amount=money(invoice["amount_due"])))
    subject = writer.text("invoice.subject", number=invoice["number"], seller=writer.seller)
    return subject, lines


def receipt_letter(writer: letters.Letter, invoice: dict[str, Any]) -> tuple[str, list[str]]:
    money = partial(_amount, writer, invoice["currency"])
    lines = [
        writer.text("receipt.intro", amount=money(invoice["amount_paid"]), number=invoice["number"])
    ]
    if invoice.get("paid_at"):
        lines.append(writer.text("receipt.date", date=writer.date(_day(invoice["paid_at"]))))
    lines.append(writer.text("receipt.attached"))
    subject = writer.text("receipt.subject", number=invoice["number"], seller=writer.seller)
    return subject, lines


def credit_note_letter(writer: letters.Letter, note: dict[str, Any]) -> tuple[str, list[str]]:
    money = partial(_amount, writer, note["currency"])
    invoice_number = note.get("invoice_number") or note["invoice_id"]
    lines = [
        writer.text(
            "credit_note.intro",
            number=note["number"],
            total=money(note["total"]),
            invoice_number=invoice_number,
        )
    ]
    for key, field in (
        ("credit_note.to_invoice", "credited_to_invoice"),
        ("credit_note.to_balance", "credited_to_balance"),
        ("credit_note.refunded", "refunded"),
    ):
        if note.get(field, 0) > 0:
            lines.append(writer.text(key, amount=money(note[field]), invoice_number=invoice_number))
    subject = writer.text("credit_note.subject", number=note["number"], seller=writer.seller)
    return subject, lines


LETTERS: dict[str, letters.Write] = {
    "invoice": invoice_letter,
    "receipt": receipt_letter,
    "credit_note": credit_note_letter,
}


# --- writing ------------------------------------------------------------------------------


def _due(
    session: Session, event: EventRecord, kind: str, document: dict[str, Any], pdf: str
) -> None:
    """Record the letter for the send job: to the customer of the document's snapshot (who the
    customer was when it was issued), from the tenant as it is now."""
    customer: dict[str, Any] = document.get("customer") or {}
    writer = letters.Letter.to(
        TEXTS,
        tenants.get_tenant(session, event.tenant_id),
        customer.get("locale"),
        customer.get("email"),
        customer.get("name"),
    )
    writer.due(session, event, kind, document["id"], _pdf(pdf, document["id"]))


def _day(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def _amount(writer: letters.Letter, currency: str, amount: int) -> str:
    return writer.money(amount, currency)


def _pdf(kind: str, document_id: str) -> tuple[mail.AttachmentRef, ...]:
    return (mail.AttachmentRef(kind, document_id),)
