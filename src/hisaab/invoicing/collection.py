"""The seam between invoices and getting paid.

Once an invoice is finalized with an amount due, invoicing hands it to the installed collector.
Until gateways exist (the payments issue installs its own collector), money arrives out of band:
the invoice stays `open` until the tenant records the payment with
`POST /v1/invoices/{id}/pay {"paid_out_of_band": true}`, and asking Hisaab to charge a card is
refused with a clear 409 rather than pretending to have charged it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from hisaab.core.errors import conflict
from hisaab.invoicing.models import Invoice


class Collector(Protocol):
    def collect(self, session: Session, invoice: Invoice, now: datetime) -> None:
        """Start collecting a just-finalized invoice with an amount due, per its method."""

    def charge_now(self, session: Session, invoice: Invoice, now: datetime) -> None:
        """Charge the invoice at once (`POST /v1/invoices/{id}/pay`)."""

    def refund(
        self, session: Session, invoice: Invoice, credit_note_id: str, amount: int, now: datetime
    ) -> None:
        """Give `amount` of what the (locked) invoice's payments collected back to the customer,
        for the credit note that took it back; the credit note has posted it to the ledger."""


class OutOfBandCollector:
    """No gateway: invoices wait for a payment recorded out of band."""

    def collect(self, session: Session, invoice: Invoice, now: datetime) -> None:  # noqa: ARG002
        return None

    def charge_now(self, session: Session, invoice: Invoice, now: datetime) -> None:  # noqa: ARG002
        raise conflict(
            "no_payment_gateway",
            "No payment gateway can charge this invoice yet; record a payment received "
            'outside Hisaab with {"paid_out_of_band": true}.',
        )

    def refund(
        self,
        session: Session,  # noqa: ARG002
        invoice: Invoice,  # noqa: ARG002
        credit_note_id: str,  # noqa: ARG002
        amount: int,  # noqa: ARG002
        now: datetime,  # noqa: ARG002
    ) -> None:
        raise conflict(
            "no_payment_gateway",
            "The invoice was not paid out of band and no payment gateway can refund it yet; "
            "credit the customer's balance instead (refund: false).",
        )


_installed: list[Collector] = [OutOfBandCollector()]


def install(collector: Collector) -> None:
    _installed[0] = collector


def collector() -> Collector:
    return _installed[0]
