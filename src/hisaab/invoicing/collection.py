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


_installed: list[Collector] = [OutOfBandCollector()]


def install(collector: Collector) -> None:
    _installed[0] = collector


def collector() -> Collector:
    return _installed[0]
