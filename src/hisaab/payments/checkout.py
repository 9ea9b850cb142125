"""The customer paying one invoice themselves, through the link Hisaab mails (`links`).

The sealed token is the only authorization: whoever holds the link may see what the invoice
asks for and pay it, as with Stripe's hosted invoice page. So the page shows no more than that
(merchant, number, amounts, status), and paying only ever pays this invoice.

Which checkout: the gateway of the customer's default payment method, else the first gateway
the tenant has connected (Stripe, then Razorpay), else the sandbox. Stripe and Razorpay take the
customer to their own checkout (3-D Secure, UPI and the like happen there); the sandbox has
none, so the page itself offers its test tokens, attaches the chosen one as the customer's
default (which, as for any new default, retries the customer's other invoices being chased) and
charges this invoice at once, on session.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.core.errors import HisaabError, conflict, invalid
from hisaab.customers import service as customers
from hisaab.customers.schemas import PaymentMethodCreate
from hisaab.invoicing import service as invoicing
from hisaab.invoicing.models import Invoice
from hisaab.payments import links
from hisaab.payments import service as payments
from hisaab.payments.models import PaymentAttempt
from hisaab.tenants import service as tenants

# The sandbox tokens a customer may pick on the page (API.md lists them all; the one that
# always asks for authentication is left out: the sandbox has no challenge to complete).
SANDBOX_TOKENS = (
    "pm_card_visa",
    "pm_card_chargeDeclined",
    "pm_card_chargeDeclinedInsufficientFunds",
    "pm_upi_success",
)
HOSTED_GATEWAYS = ("stripe", "razorpay")


@dataclass(frozen=True)
class Page:
    """What the pay page shows."""

    invoice: Invoice
    seller: str
    customer_locale: str
    gateway: str

    @property
    def payable(self) -> bool:
        return self.invoice.status == "open" and self.invoice.amount_remaining > 0


def find_invoice(session: Session, token: str) -> Invoice | None:
    """The invoice of a link this deployment issued, in the request's tenant scope; None for
    anything else (an altered token, another key, an invoice that is gone)."""
    found = links.read_token(token)
    if found is None:
        return None
    tenant_id, invoice_id = found
    try:
        return invoicing.get(session, tenant_id, invoice_id)
    except HisaabError:
        return None


def tenant_of(token: str) -> str:
    """The tenant a link belongs to ("" for a token this deployment did not issue)."""
    found = links.read_token(token)
    return found[0] if found else ""


def page(session: Session, invoice: Invoice) -> Page:
    tenant = tenants.get_tenant(session, invoice.tenant_id)
    customer = customers.get_customer(session, invoice.tenant_id, invoice.customer_id)
    return Page(
        invoice=invoice,
        seller=tenant.name,
        customer_locale=customer.locale,
        gateway=gateway_of(session, invoice),
    )


def gateway_of(session: Session, invoice: Invoice) -> str:
    method = customers.default_payment_method(session, invoice.tenant_id, invoice.customer_id)
    if method is not None and method.detached_at is None:
        return method.gateway
    connected = tenants.get_tenant(session, invoice.tenant_id).gateways
    return next((name for name in HOSTED_GATEWAYS if name in connected), "sandbox")


def _payable(session: Session, invoice: Invoice) -> Invoice:
    locked = invoicing.get(session, invoice.tenant_id, invoice.id, for_update=True)
    if locked.status != "open" or locked.amount_remaining <= 0:
        raise conflict("invalid_state", f"An invoice that is {locked.status} cannot be paid.")
    return locked


def pay_with_sandbox_token(session: Session, invoice: Invoice, token: str) -> PaymentAttempt:
    """Attach the chosen test token as the customer's default and charge the invoice now, on
    session; returns the try with its outcome (the request's work is committed by then)."""
    if token not in SANDBOX_TOKENS:
        raise invalid("invalid_token", "Choose one of the listed payment methods.")
    if gateway_of(session, invoice) != "sandbox":
        raise conflict("wrong_gateway", "This invoice is paid through the merchant's gateway.")
    invoice = _payable(session, invoice)
    customers.attach_payment_method(
        session,
        invoice.tenant_id,
        invoice.customer_id,
        PaymentMethodCreate(gateway="sandbox", token=token, default=True),
        SYSTEM_CLOCK.now(),
    )
    attempt = payments.pay_on_session(session, invoice, invoicing.customer_now(session, invoice))
    payments.collect_requested(session)
    return attempt


def pay_at_gateway(session: Session, invoice: Invoice) -> PaymentAttempt:
    """A checkout at the invoice's gateway; the try's `action_url` is where to send the
    customer (None if the gateway refused: the try says why)."""
    gateway = gateway_of(session, invoice)
    invoice = _payable(session, invoice)
    return_url = links.invoice_link(invoice.tenant_id, invoice.id)
    return payments.start_checkout(session, invoice, gateway, return_url)
