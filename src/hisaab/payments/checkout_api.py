"""The hosted pay page behind an invoice's link: `GET /pay/{token}` shows it, `POST` pays.

No API key: the sealed token is the authorization, and it also names the tenant whose scope
the transaction is bound to (`PayLinkRoute`). Answers are HTML pages in the customer's
language, never problem documents: whoever follows the link is a person with a browser. A link
that is not ours (or whose invoice is gone) is a 404 page that reveals nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hisaab.core.errors import HisaabError
from hisaab.core.http import PathTenantRoute, SessionDep
from hisaab.core.money import Money
from hisaab.db import bind_scope
from hisaab.invoicing.models import Invoice
from hisaab.payments import checkout, notifications
from hisaab.payments.models import PaymentAttempt

MAX_TOKEN_LENGTH = 1024
GATEWAY_NAMES = {"stripe": "Stripe", "razorpay": "Razorpay"}

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Pay invoice {number}",
        "merchant": "Merchant",
        "invoice": "Invoice",
        "total": "Total",
        "amount_due": "Amount due",
        "status": "Status",
        "status.draft": "Draft",
        "status.open": "Awaiting payment",
        "status.paid": "Paid",
        "status.void": "Cancelled",
        "status.uncollectible": "Written off",
        "paid": "This invoice has been paid. Thank you!",
        "void": "This invoice has been cancelled: there is nothing to pay.",
        "not_payable": "This invoice cannot be paid online. Please contact {seller}.",
        "pay": "Pay {amount}",
        "pay_with": "Pay {amount} with {gateway}",
        "sandbox_legend": "Test payment method",
        "sandbox_note": "This merchant uses the Hisaab sandbox: no real money moves.",
        "result.succeeded": "Payment received. Thank you!",
        "result.failed": "The payment did not go through: {reason}.",
        "result.requires_action": "The payment needs your confirmation: {reason}.",
        "result.processing": "Your payment is being processed; this page shows it once it is "
        "confirmed.",
        "choose": "Please choose one of the listed payment methods.",
        "gateway_error": "The payment provider could not be reached. Please try again in a few "
        "minutes.",
        "not_found.title": "Payment link not found",
        "not_found": "This payment link is not valid. Please use the link from your email, or "
        "contact the merchant.",
    },
    "hi": {
        "title": "इनवॉइस {number} का भुगतान करें",
        "merchant": "व्यापारी",
        "invoice": "इनवॉइस",
        "total": "कुल",
        "amount_due": "देय राशि",
        "status": "स्थिति",
        "status.draft": "ड्राफ़्ट",
        "status.open": "भुगतान बाकी",
        "status.paid": "भुगतान हो गया",
        "status.void": "रद्द",
        "status.uncollectible": "बट्टे खाते में",
        "paid": "इस इनवॉइस का भुगतान हो चुका है। धन्यवाद!",
        "void": "यह इनवॉइस रद्द कर दिया गया है: कुछ भी चुकाना नहीं है।",
        "not_payable": "इस इनवॉइस का ऑनलाइन भुगतान नहीं हो सकता। कृपया {seller} से संपर्क करें।",
        "pay": "{amount} का भुगतान करें",
        "pay_with": "{gateway} से {amount} का भुगतान करें",
        "sandbox_legend": "परीक्षण भुगतान विधि",
        "sandbox_note": "यह व्यापारी Hisaab सैंडबॉक्स का उपयोग करता है: कोई असली पैसा नहीं कटता।",
        "result.succeeded": "भुगतान मिल गया। धन्यवाद!",
        "result.failed": "भुगतान नहीं हो सका: {reason}।",
        "result.requires_action": "भुगतान के लिए आपकी पुष्टि चाहिए: {reason}।",
        "result.processing": "आपका भुगतान प्रक्रिया में है; पुष्टि होते ही यह पेज उसे दिखाएगा।",
        "choose": "कृपया सूची में से कोई भुगतान विधि चुनें।",
        "gateway_error": "भुगतान प्रदाता से संपर्क नहीं हो सका। कृपया कुछ मिनट बाद फिर प्रयास करें।",
        "not_found.title": "भुगतान लिंक नहीं मिला",
        "not_found": "यह भुगतान लिंक मान्य नहीं है। कृपया अपने ईमेल वाला लिंक इस्तेमाल करें, या "
        "व्यापारी से संपर्क करें।",
    },
    "de": {
        "title": "Rechnung {number} bezahlen",
        "merchant": "Händler",
        "invoice": "Rechnung",
        "total": "Gesamtbetrag",
        "amount_due": "Offener Betrag",
        "status": "Status",
        "status.draft": "Entwurf",
        "status.open": "Zahlung ausstehend",
        "status.paid": "Bezahlt",
        "status.void": "Storniert",
        "status.uncollectible": "Abgeschrieben",
        "paid": "Diese Rechnung ist bezahlt. Vielen Dank!",
        "void": "Diese Rechnung wurde storniert: Es ist nichts zu zahlen.",
        "not_payable": "Diese Rechnung kann nicht online bezahlt werden. Bitte wenden Sie sich an "
        "{seller}.",
        "pay": "{amount} bezahlen",
        "pay_with": "{amount} mit {gateway} bezahlen",
        "sandbox_legend": "Test-Zahlungsmethode",
        "sandbox_note": "Dieser Händler nutzt die Hisaab-Sandbox: Es fließt kein echtes Geld.",
        "result.succeeded": "Zahlung erhalten. Vielen Dank!",
        "result.failed": "Die Zahlung ist nicht durchgegangen: {reason}.",
        "result.requires_action": "Die Zahlung braucht Ihre Bestätigung: {reason}.",
        "result.processing": "Ihre Zahlung wird verarbeitet; diese Seite zeigt sie, sobald sie "
        "bestätigt ist.",
        "choose": "Bitte wählen Sie eine der aufgeführten Zahlungsmethoden.",
        "gateway_error": "Der Zahlungsanbieter ist nicht erreichbar. Bitte versuchen Sie es in "
        "einigen Minuten erneut.",
        "not_found.title": "Zahlungslink nicht gefunden",
        "not_found": "Dieser Zahlungslink ist ungültig. Bitte verwenden Sie den Link aus Ihrer "
        "E-Mail oder wenden Sie sich an den Händler.",
    },
    "fr": {
        "title": "Régler la facture {number}",
        "merchant": "Marchand",
        "invoice": "Facture",
        "total": "Total",
        "amount_due": "Montant dû",
        "status": "Statut",
        "status.draft": "Brouillon",
        "status.open": "En attente de paiement",
        "status.paid": "Payée",
        "status.void": "Annulée",
        "status.uncollectible": "Passée en perte",
        "paid": "Cette facture est réglée. Merci\u00a0!",
        "void": "Cette facture a été annulée\u00a0: il n'y a rien à payer.",
        "not_payable": "Cette facture ne peut pas être réglée en ligne. Veuillez contacter "
        "{seller}.",
        "pay": "Payer {amount}",
        "pay_with": "Payer {amount} avec {gateway}",
        "sandbox_legend": "Moyen de paiement de test",
        "sandbox_note": "Ce marchand utilise le bac à sable Hisaab\u00a0: aucun argent réel "
        "n'est débité.",
        "result.succeeded": "Paiement reçu. Merci\u00a0!",
        "result.failed": "Le paiement n'a pas abouti\u00a0: {reason}.",
        "result.requires_action": "Le paiement doit être confirmé par vous\u00a0: {reason}.",
        "result.processing": "Votre paiement est en cours de traitement\u00a0; cette page "
        "l'affichera dès sa confirmation.",
        "choose": "Veuillez choisir l'un des moyens de paiement proposés.",
        "gateway_error": "Le prestataire de paiement est injoignable. Veuillez réessayer dans "
        "quelques minutes.",
        "not_found.title": "Lien de paiement introuvable",
        "not_found": "Ce lien de paiement n'est pas valide. Utilisez le lien reçu par e-mail ou "
        "contactez le marchand.",
    },
}


class PayLinkRoute(PathTenantRoute):
    """A `PathTenantRoute` whose tenant is the one sealed in the link's token; a token that is
    not ours answers the not-found page instead of a problem document."""

    def tenant_of(self, request: Request) -> str:
        token = str(request.path_params.get("token", ""))
        return checkout.tenant_of(token) if len(token) <= MAX_TOKEN_LENGTH else ""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except HisaabError as exc:
                if exc.code != "unknown_tenant":
                    raise
                return _not_found(request.headers.get("accept-language", ""))

        return handle


router = APIRouter(route_class=PayLinkRoute, include_in_schema=False)


@router.get("/pay/{token}", response_class=HTMLResponse)
def show(token: str, session: SessionDep) -> Response:
    invoice = checkout.find_invoice(session, token)
    if invoice is None:
        return _not_found("")
    return _page(session, invoice, token)


@router.post("/pay/{token}", response_class=HTMLResponse)
async def pay(token: str, request: Request, session: SessionDep) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=10)
    chosen = form.get("token", [""])[0]
    return await run_in_threadpool(_pay, session, token, chosen)


def _pay(session: Session, token: str, chosen: str) -> Response:
    invoice = checkout.find_invoice(session, token)
    if invoice is None:
        return _not_found("")
    gateway = checkout.gateway_of(session, invoice)
    tenant_id = invoice.tenant_id  # read now: a rollback expires the invoice
    try:
        if gateway == "sandbox":
            attempt = checkout.pay_with_sandbox_token(session, invoice, chosen)
            return _page(session, invoice, token, attempt=attempt)
        attempt = checkout.pay_at_gateway(session, invoice)
    except HisaabError as exc:
        # Refused before anything was written (validation, or the invoice is not payable).
        session.rollback()
        bind_scope(session, tenant_id)
        language = _language(session, invoice)
        message = TEXTS[language]["choose"] if exc.code == "invalid_token" else None
        return _page(session, invoice, token, message=message, status=exc.status)
    if attempt.action_url is None:
        language = _language(session, invoice)
        return _page(session, invoice, token, message=TEXTS[language]["gateway_error"], status=503)
    return RedirectResponse(attempt.action_url, status_code=303)


# --- rendering ----------------------------------------------------------------------------


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def _language(session: Session, invoice: Invoice) -> str:
    return notifications.language_of(checkout.page(session, invoice).customer_locale)[0]


def _page(
    session: Session,
    invoice: Invoice,
    token: str,
    *,
    attempt: PaymentAttempt | None = None,
    message: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    view = checkout.page(session, invoice)
    language, locale = notifications.language_of(view.customer_locale)
    t = TEXTS[language]
    number = invoice.number or invoice.id
    due = Money(invoice.amount_remaining, invoice.currency).format(locale)
    result, result_kind = _result(language, attempt)
    message_kind = "bad"
    if message is None:
        message_kind = "ok" if invoice.status == "paid" else "info"
        if invoice.status == "paid" and attempt is None:
            message = t["paid"]
        elif invoice.status == "void":
            message = t["void"]
        elif not view.payable and invoice.status != "paid":
            message = t["not_payable"].format(seller=view.seller)
    form = ""
    if view.payable:
        form = "sandbox" if view.gateway == "sandbox" else "hosted"
    gateway_name = GATEWAY_NAMES.get(view.gateway)
    pay_label = (
        t["pay_with"].format(amount=due, gateway=gateway_name)
        if gateway_name
        else t["pay"].format(amount=due)
    )
    body = (
        _templates()
        .get_template("pay.html")
        .render(
            language=language,
            title=t["title"].format(number=number),
            t=t,
            invoice=invoice,
            seller=view.seller,
            number=number,
            total=Money(invoice.total, invoice.currency).format(locale),
            amount_due=due,
            status=t.get(f"status.{invoice.status}", invoice.status),
            result=result,
            result_kind=result_kind,
            message=message,
            message_kind=message_kind,
            form=form,
            action=f"/pay/{token}",
            tokens=checkout.SANDBOX_TOKENS,
            pay_label=pay_label,
        )
    )
    return HTMLResponse(body, status_code=status, headers=_NO_STORE)


def _result(language: str, attempt: PaymentAttempt | None) -> tuple[str | None, str]:
    if attempt is None:
        return None, ""
    t = TEXTS[language]
    if attempt.status == "succeeded":
        return t["result.succeeded"], "ok"
    reason = notifications.reason(language, attempt.failure_code)
    if attempt.status == "requires_action":
        return t["result.requires_action"].format(reason=reason), "bad"
    if attempt.status == "failed":
        return t["result.failed"].format(reason=reason), "bad"
    return t["result.processing"], "info"


def _not_found(accept_language: str) -> HTMLResponse:
    """The same page for every link that is not ours: it says nothing about why."""
    wanted = [part.split(";")[0].strip() for part in accept_language.split(",") if part.strip()]
    language = next(
        (notifications.language_of(tag)[0] for tag in wanted if tag and tag != "*"), "en"
    )
    t = TEXTS[language]
    body = (
        _templates()
        .get_template("pay.html")
        .render(
            language=language,
            title=t["not_found.title"],
            t=t,
            invoice=None,
            result=None,
            result_kind="",
            message=t["not_found"],
            message_kind="bad",
            form="",
        )
    )
    return HTMLResponse(body, status_code=404, headers=_NO_STORE)


# The page shows what an invoice owes to whoever holds the link: no shared cache keeps it.
_NO_STORE = {"Cache-Control": "no-store"}
