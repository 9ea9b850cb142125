"""The link a customer follows to pay an invoice themselves or give a new payment method.

One link per invoice, whatever the gateway: `<public URL>/pay/<token>`, where the token is the
(tenant, invoice) pair sealed with the deployment's secret key, so it cannot be guessed or
altered and names nothing readable. The page behind it (`payments.checkout`) shows the invoice
and takes the customer to the gateway's own checkout.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hisaab.core import secrets
from hisaab.invoicing.models import Invoice
from hisaab.payments.models import PaymentAttempt

_public_url = ["http://127.0.0.1:8000"]


def configure(public_url: str) -> None:
    _public_url[0] = public_url.rstrip("/")


def token_for(tenant_id: str, invoice_id: str) -> str:
    return secrets.seal(f"{tenant_id}\x1f{invoice_id}")


def read_token(token: str) -> tuple[str, str] | None:
    """(tenant, invoice) of a token this deployment issued; None for anything else."""
    try:
        tenant_id, _, invoice_id = secrets.unseal(token).partition("\x1f")
    except (secrets.SecretUnreadable, UnicodeError, ValueError):
        return None
    return (tenant_id, invoice_id) if tenant_id and invoice_id else None


def invoice_link(tenant_id: str, invoice_id: str) -> str:
    return f"{_public_url[0]}/pay/{token_for(tenant_id, invoice_id)}"


def payment_link(session: Session, invoice: Invoice, attempt: PaymentAttempt) -> str:  # noqa: ARG001
    return invoice_link(invoice.tenant_id, invoice.id)
