"""Which payment events email the customer, and what the email says.

- `payment.failed`: the customer learns it from us before the merchant's service stops, with the
  reason in plain words (not a gateway code), when we try again by ourselves (if we do), and the
  pay link, which also takes a new payment method. Each failed try mails once: the retries are
  days apart, and each is a reminder that a card is still failing.
- `payment.requires_action`: nothing more happens without the customer (their bank asks them to
  authenticate, or an Indian mandate debit above ₹15,000, which the RBI e-mandate framework says
  the customer must approve each time), so the link is the whole point of the message.
- `payment.scheduled`: the RBI pre-debit notification, at least 24 hours before an automatic
  debit on an Indian mandate. It carries what the framework lists: the merchant, the amount, the
  date and time of the debit, a reference, what it is for, and how to opt out of the debit or
  the mandate.

`invoice.payment_failed` / `invoice.payment_action_required` mirror the two payment events for
webhooks and are not mailed a second time.

Texts are in the customer's language (en, hi, de, fr; anything else gets English), amounts and
dates in the customer's locale, dates and times as the tenant's timezone shows them. A process
without a mailer (`mail.configure` never called, e.g. a test app) records nothing, the way
invoicing's emails are only installed by processes that configure mail: these handlers are
installed by `payments.service.install`, which every process calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hisaab.customers import service as customers
from hisaab.invoicing import service as invoicing
from hisaab.invoicing.models import Invoice
from hisaab.mail import letters
from hisaab.mail import service as mail
from hisaab.payments import links, repository
from hisaab.tenants import service as tenants
from hisaab.webhooks import service as events
from hisaab.webhooks.service import EventRecord

# Normalised failure codes (gateways.base.FailureCode, and the service's own refusals) → the
# plain-words reason a customer is told.
REASON_OF_CODE = {
    "insufficient_funds": "insufficient_funds",
    "generic_decline": "declined",
    "card_declined": "declined",
    "fraudulent": "declined",
    "invalid_request": "declined",
    "expired_card": "expired",
    "authentication_required": "authentication",
    "no_payment_method": "no_payment_method",
    "mandate_limit_exceeded": "mandate_limit",
}

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hello {name},",
        "questions": "If you have any questions, simply reply to this email.",
        "closing": "Thank you,",
        "reason.insufficient_funds": "there were not enough funds in the account",
        "reason.declined": "your bank declined the payment",
        "reason.expired": "the card has expired",
        "reason.authentication": "your bank needs you to confirm the payment",
        "reason.no_payment_method": "there is no payment method on file",
        "reason.mandate_limit": "payments above ₹15,000 need your approval",
        "reason.processing": "the payment could not be processed",
        "failed.subject": "Payment for invoice {number} from {seller} failed",
        "failed.intro": "We could not collect your payment of {amount} for invoice {number}.",
        "failed.reason": "Reason: {reason}.",
        "failed.retry": "We will try again automatically on {date}.",
        "failed.no_retry": "We will not try this payment method again automatically.",
        "failed.link": "To pay the invoice now or update your payment method, open: {url}",
        "action.subject": "Invoice {number} from {seller}: your approval is needed",
        "action.authentication": "Your bank needs you to confirm the payment of {amount} "
        "for invoice {number}.",
        "action.mandate_limit": "Under RBI rules, automatic payments above ₹15,000 need your "
        "approval. Please approve the payment of {amount} for invoice {number}.",
        "action.link": "Complete the payment here: {url}",
        "notice.subject": "Upcoming debit of {amount} on {date} by {seller}",
        "notice.intro": "As per your e-mandate, {seller} will debit {amount} from your account "
        "on {when}.",
        "notice.purpose": "Purpose: payment of invoice {number}. Reference: {reference}.",
        "notice.cancel_email": "If you do not want this debit, cancel it or your mandate "
        "before {when} by writing to {email}.",
        "notice.cancel": "If you do not want this debit, cancel it or your mandate before "
        "{when} by contacting {seller}.",
        "notice.issuer": "You can also cancel the mandate at any time with your bank, card "
        "issuer or UPI app.",
        "notice.link": "To pay another way or change your payment method, open: {url}",
    },
    "hi": {
        "greeting": "नमस्ते {name},",
        "questions": "कोई प्रश्न हो तो बस इस ईमेल का उत्तर दें।",
        "closing": "धन्यवाद,",
        "reason.insufficient_funds": "खाते में पर्याप्त राशि नहीं थी",
        "reason.declined": "आपके बैंक ने भुगतान अस्वीकार कर दिया",
        "reason.expired": "कार्ड की वैधता समाप्त हो गई है",
        "reason.authentication": "आपके बैंक को भुगतान के लिए आपकी पुष्टि चाहिए",
        "reason.no_payment_method": "आपकी कोई भुगतान विधि सहेजी नहीं है",
        "reason.mandate_limit": "₹15,000 से अधिक के भुगतान के लिए आपकी स्वीकृति आवश्यक है",
        "reason.processing": "भुगतान की प्रक्रिया पूरी नहीं हो सकी",
        "failed.subject": "{seller}: इनवॉइस {number} का भुगतान नहीं हो सका",
        "failed.intro": "इनवॉइस {number} के लिए {amount} का भुगतान नहीं हो सका।",
        "failed.reason": "कारण: {reason}।",
        "failed.retry": "हम {date} को अपने-आप फिर से प्रयास करेंगे।",
        "failed.no_retry": "हम इस भुगतान विधि से अपने-आप दोबारा प्रयास नहीं करेंगे।",
        "failed.link": "इनवॉइस का अभी भुगतान करने या अपनी भुगतान विधि बदलने के लिए खोलें: {url}",
        "action.subject": "{seller}: इनवॉइस {number} के भुगतान के लिए आपकी स्वीकृति चाहिए",
        "action.authentication": "इनवॉइस {number} के {amount} के भुगतान के लिए आपके बैंक को "
        "आपकी पुष्टि चाहिए।",
        "action.mandate_limit": "RBI के नियमों के अनुसार ₹15,000 से अधिक के स्वचालित भुगतान के "
        "लिए आपकी स्वीकृति आवश्यक है। कृपया इनवॉइस {number} के {amount} के भुगतान को स्वीकृत करें।",
        "action.link": "भुगतान यहाँ पूरा करें: {url}",
        "notice.subject": "{seller}: {date} को {amount} की आगामी कटौती की सूचना",
        "notice.intro": "आपके ई-मैंडेट के अनुसार {seller} आपके खाते से {when} को {amount} काटेगा।",
        "notice.purpose": "उद्देश्य: इनवॉइस {number} का भुगतान। संदर्भ: {reference}।",
        "notice.cancel_email": "यदि आप यह कटौती नहीं चाहते, तो {when} से पहले {email} पर "
        "लिखकर इसे या अपना मैंडेट रद्द करें।",
        "notice.cancel": "यदि आप यह कटौती नहीं चाहते, तो {when} से पहले {seller} से संपर्क "
        "करके इसे या अपना मैंडेट रद्द करें।",
        "notice.issuer": "आप अपने बैंक, कार्ड जारीकर्ता या UPI ऐप में भी किसी भी समय मैंडेट रद्द कर सकते हैं।",
        "notice.link": "किसी और तरीके से भुगतान करने या भुगतान विधि बदलने के लिए खोलें: {url}",
    },
    "de": {
        "greeting": "Guten Tag {name},",
        "questions": "Bei Fragen antworten Sie einfach auf diese E-Mail.",
        "closing": "Mit freundlichen Grüßen",
        "reason.insufficient_funds": "das Konto war nicht ausreichend gedeckt",
        "reason.declined": "Ihre Bank hat die Zahlung abgelehnt",
        "reason.expired": "die Karte ist abgelaufen",
        "reason.authentication": "Ihre Bank möchte, dass Sie die Zahlung bestätigen",
        "reason.no_payment_method": "es ist keine Zahlungsmethode hinterlegt",
        "reason.mandate_limit": "Zahlungen über ₹15.000 müssen Sie selbst freigeben",
        "reason.processing": "die Zahlung konnte nicht verarbeitet werden",
        "failed.subject": "Zahlung für Rechnung {number} von {seller} fehlgeschlagen",
        "failed.intro": "wir konnten Ihre Zahlung über {amount} für die Rechnung {number} "
        "nicht einziehen.",
        "failed.reason": "Grund: {reason}.",
        "failed.retry": "Wir versuchen es am {date} automatisch erneut.",
        "failed.no_retry": "Mit dieser Zahlungsmethode versuchen wir es nicht automatisch erneut.",
        "failed.link": "Um die Rechnung jetzt zu bezahlen oder Ihre Zahlungsmethode zu ändern, "
        "öffnen Sie: {url}",
        "action.subject": "Rechnung {number} von {seller}: Ihre Freigabe ist nötig",
        "action.authentication": "Ihre Bank möchte, dass Sie die Zahlung über {amount} für die "
        "Rechnung {number} bestätigen.",
        "action.mandate_limit": "Nach den Regeln der RBI müssen Sie automatische Zahlungen über "
        "₹15.000 selbst freigeben. Bitte geben Sie die Zahlung über {amount} für die Rechnung "
        "{number} frei.",
        "action.link": "Schließen Sie die Zahlung hier ab: {url}",
        "notice.subject": "Ankündigung einer Abbuchung über {amount} am {date} durch {seller}",
        "notice.intro": "gemäß Ihrem E-Mandat bucht {seller} am {when} {amount} von Ihrem Konto "
        "ab.",
        "notice.purpose": "Zweck: Zahlung der Rechnung {number}. Referenz: {reference}.",
        "notice.cancel_email": "Wenn Sie diese Abbuchung nicht wünschen, widerrufen Sie sie oder "
        "Ihr Mandat vor dem {when} per E-Mail an {email}.",
        "notice.cancel": "Wenn Sie diese Abbuchung nicht wünschen, widerrufen Sie sie oder Ihr "
        "Mandat vor dem {when} bei {seller}.",
        "notice.issuer": "Sie können das Mandat auch jederzeit bei Ihrer Bank, Ihrem "
        "Kartenaussteller oder in Ihrer UPI-App widerrufen.",
        "notice.link": "Um anders zu bezahlen oder Ihre Zahlungsmethode zu ändern, öffnen Sie: "
        "{url}",
    },
    "fr": {
        "greeting": "Bonjour {name},",
        "questions": "Pour toute question, il vous suffit de répondre à cet e-mail.",
        "closing": "Cordialement,",
        "reason.insufficient_funds": "le solde du compte était insuffisant",
        "reason.declined": "votre banque a refusé le paiement",
        "reason.expired": "la carte a expiré",
        "reason.authentication": "votre banque vous demande de confirmer le paiement",
        "reason.no_payment_method": "aucun moyen de paiement n'est enregistré",
        "reason.mandate_limit": "les paiements de plus de 15\u00a0000\u00a0₹ doivent être "
        "approuvés par vous",
        "reason.processing": "le paiement n'a pas pu être traité",
        "failed.subject": "Échec du paiement de la facture {number} de {seller}",
        "failed.intro": "Nous n'avons pas pu encaisser votre paiement de {amount} pour la "
        "facture {number}.",
        "failed.reason": "Motif\u00a0: {reason}.",
        "failed.retry": "Nous réessaierons automatiquement le {date}.",
        "failed.no_retry": "Nous ne réessaierons pas automatiquement avec ce moyen de paiement.",
        "failed.link": "Pour régler la facture maintenant ou changer de moyen de paiement, "
        "ouvrez\u00a0: {url}",
        "action.subject": "Facture {number} de {seller}\u00a0: votre approbation est requise",
        "action.authentication": "Votre banque vous demande de confirmer le paiement de "
        "{amount} pour la facture {number}.",
        "action.mandate_limit": "Selon les règles de la RBI, les paiements automatiques de plus "
        "de 15\u00a0000\u00a0₹ doivent être approuvés par vous. Veuillez approuver le paiement "
        "de {amount} pour la facture {number}.",
        "action.link": "Finalisez le paiement ici\u00a0: {url}",
        "notice.subject": "Prélèvement à venir de {amount} le {date} par {seller}",
        "notice.intro": "Conformément à votre mandat électronique, {seller} prélèvera {amount} "
        "sur votre compte le {when}.",
        "notice.purpose": "Objet\u00a0: paiement de la facture {number}. Référence\u00a0: "
        "{reference}.",
        "notice.cancel_email": "Si vous ne souhaitez pas ce prélèvement, annulez-le ou annulez "
        "votre mandat avant le {when} en écrivant à {email}.",
        "notice.cancel": "Si vous ne souhaitez pas ce prélèvement, annulez-le ou annulez votre "
        "mandat avant le {when} en contactant {seller}.",
        "notice.issuer": "Vous pouvez aussi annuler le mandat à tout moment auprès de votre "
        "banque, de l'émetteur de votre carte ou dans votre application UPI.",
        "notice.link": "Pour payer autrement ou changer de moyen de paiement, ouvrez\u00a0: {url}",
    },
}


def install() -> None:
    """Subscribe to the payment events above (every process that emits them calls this)."""
    events.subscribe("payment.failed", payment_failed)
    events.subscribe("payment.requires_action", payment_action_required)
    events.subscribe("payment.scheduled", pre_debit_notice)


def uninstall() -> None:
    events.unsubscribe("payment.failed", payment_failed)
    events.unsubscribe("payment.requires_action", payment_action_required)
    events.unsubscribe("payment.scheduled", pre_debit_notice)


def language_of(locale: str) -> tuple[str, str]:
    """(language of the texts, locale for numbers and dates) for this module's texts."""
    return letters.language_of(locale, TEXTS)


def reason(language: str, failure_code: str | None) -> str:
    """Why a payment did not go through, in words a customer understands."""
    key = REASON_OF_CODE.get(failure_code or "", "processing")
    return TEXTS[language][f"reason.{key}"]


# --- events -------------------------------------------------------------------------------


def payment_failed(session: Session, event: EventRecord) -> None:
    payment: dict[str, Any] = event.data["object"]
    found = _invoice(session, event, payment)
    if found is None:
        return
    invoice, writer = found
    amount = writer.money(payment["amount"], payment["currency"])
    number = invoice.number or invoice.id
    lines = [
        writer.text("failed.intro", amount=amount, number=number),
        writer.text("failed.reason", reason=reason(writer.language, payment["failure_code"])),
    ]
    ahead = repository.future_attempts(session, invoice.id, event.created_at)
    if ahead:
        lines.append(writer.text("failed.retry", date=writer.date(ahead[0].scheduled_at)))
    else:
        lines.append(writer.text("failed.no_retry"))
    lines.append(writer.text("failed.link", url=_link(invoice, payment)))
    subject = writer.text("failed.subject", number=number, seller=writer.seller)
    writer.submit(session, event, "payment_failed", invoice.id, subject, lines)


def payment_action_required(session: Session, event: EventRecord) -> None:
    payment: dict[str, Any] = event.data["object"]
    found = _invoice(session, event, payment)
    if found is None:
        return
    invoice, writer = found
    amount = writer.money(payment["amount"], payment["currency"])
    number = invoice.number or invoice.id
    key = (
        "action.mandate_limit"
        if payment["failure_code"] == "mandate_limit_exceeded"
        else "action.authentication"
    )
    lines = [
        writer.text(key, amount=amount, number=number),
        writer.text("action.link", url=_link(invoice, payment)),
    ]
    subject = writer.text("action.subject", number=number, seller=writer.seller)
    writer.submit(session, event, "payment_action_required", invoice.id, subject, lines)


def pre_debit_notice(session: Session, event: EventRecord) -> None:
    payment: dict[str, Any] = event.data["object"]
    found = _invoice(session, event, payment)
    if found is None:
        return
    invoice, writer = found
    amount = writer.money(payment["amount"], payment["currency"])
    number = invoice.number or invoice.id
    debit_at = datetime.fromisoformat(payment["scheduled_at"])
    when = writer.date_time(debit_at)
    lines = [
        writer.text("notice.intro", seller=writer.seller, amount=amount, when=when),
        writer.text("notice.purpose", number=number, reference=payment["id"]),
        writer.text("notice.cancel_email", when=when, email=writer.reply_to)
        if writer.reply_to
        else writer.text("notice.cancel", when=when, seller=writer.seller),
        writer.text("notice.issuer"),
        writer.text("notice.link", url=_link(invoice, payment)),
    ]
    subject = writer.text(
        "notice.subject", amount=amount, date=writer.date(debit_at), seller=writer.seller
    )
    writer.submit(session, event, "pre_debit_notice", invoice.id, subject, lines)


def _mail_configured() -> bool:
    try:
        mail.mailer()
    except RuntimeError:
        return False
    return True


def _invoice(
    session: Session, event: EventRecord, payment: dict[str, Any]
) -> tuple[Invoice, letters.Letter] | None:
    """The invoice the payment is for, and the email's writer; None when nothing is to be
    mailed (no mailer in this process, or the invoice no longer waits for money)."""
    if not _mail_configured():
        return None
    invoice = invoicing.get(session, event.tenant_id, payment["invoice_id"])
    if invoice.status != "open":
        return None
    # The customer as they are now: a dunning email goes to the address they use today.
    customer = customers.get_customer(session, event.tenant_id, invoice.customer_id)
    letter = letters.Letter.to(
        TEXTS,
        tenants.get_tenant(session, event.tenant_id),
        customer.locale,
        customer.email,
        customer.name,
    )
    return invoice, letter


def _link(invoice: Invoice, payment: dict[str, Any]) -> str:
    action_url = payment.get("action_url")
    if isinstance(action_url, str) and action_url:
        return action_url
    return links.invoice_link(invoice.tenant_id, invoice.id)
