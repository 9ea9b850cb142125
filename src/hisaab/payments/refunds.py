"""Money given back through the gateway for a credit note.

The credit note decides how much goes back and posts it to the ledger; this module gets it to the
customer. How "exactly once" holds, as for charges: the refund rows commit with the credit note,
before any gateway call, each with an idempotency key derived from its own id, and the amount is
reserved the moment its row is written (a payment's refundable rest is its amount less its
refunds that did not fail, read under the payment's lock), so a second credit note can never
spend the same payment twice. The gateway is called by a job after that commit, holding the
refund's row lock: a duplicate job waits on the lock and then finds the refund settled, and a job
that died after the gateway answered sends the very same request with the very same key, which
the gateway answers with the first refund instead of making a second one.

Refunds are real-time work even for a customer on a test clock: money leaves when the tenant asks,
not when a simulated month has passed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import procrastinate
import structlog
from sqlalchemy.orm import Session

from hisaab.core.errors import conflict
from hisaab.core.ids import new_id
from hisaab.db import Database
from hisaab.invoicing import service as invoicing
from hisaab.invoicing.models import Invoice
from hisaab.jobs import queue
from hisaab.payments import repository, service
from hisaab.payments.gateways.base import (
    GatewayConfigurationError,
    RefundRequest,
    RefundResult,
    RefundStatus,
)
from hisaab.payments.gateways.razorpay_gateway import receipt_for
from hisaab.payments.gateways.registry import gateway_for
from hisaab.payments.models import PaymentAttempt, Refund
from hisaab.webhooks import service as events

log = structlog.get_logger("hisaab.payments.refunds")
QUEUE = "payments"
REFUND_TASK = "refund_payment"
# The gateway could not be reached: try again with the same key, for about eight minutes.
RETRY = procrastinate.RetryStrategy(max_attempts=8, exponential_wait=2)


class RefundNotSettled(Exception):
    """The gateway's answer was lost or it is failing; the job runs again (same key)."""


def _idempotency_key(tenant_id: str, refund_id: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}\x1frefund\x1f{refund_id}".encode()).hexdigest()
    return f"hisaab-rf-{digest[:30]}"


def start(
    session: Session, invoice: Invoice, credit_note_id: str, amount: int, now: datetime
) -> list[Refund]:
    """Refund rows for `amount`, spread over the invoice's gateway payments oldest first, and a
    job for each; the caller holds the invoice's lock (credit notes of one invoice queue up)."""
    payments = [
        (payment, rest)
        for payment, rest in repository.refundable_payments(session, invoice.id)
        if _refundable(payment)
    ]
    available = sum(rest for _, rest in payments)
    if available < amount:
        raise conflict(
            "refund_exceeds_gateway_payments",
            f"Only {available} of what was paid for {invoice.id} can be refunded through the "
            f"gateway; {amount} was asked. Credit the customer's balance instead (refund: false).",
        )
    made = []
    left = amount
    for payment, rest in payments:
        if left == 0:
            break
        part = min(left, rest)
        refund_id = new_id("rf")
        refund = Refund(
            tenant_id=invoice.tenant_id,
            id=refund_id,
            payment_id=payment.id,
            invoice_id=invoice.id,
            credit_note_id=credit_note_id,
            amount=part,
            currency=payment.currency,
            gateway=payment.gateway,
            idempotency_key=_idempotency_key(invoice.tenant_id, refund_id),
            status="pending",
            attempts=0,
            created_at=now,
        )
        repository.add(session, refund)
        left -= part
        queue.enqueue(
            session,
            REFUND_TASK,
            {"tenant_id": invoice.tenant_id, "refund_id": refund_id},
            queue=QUEUE,
        )
        made.append(refund)
    session.flush()
    return made


def _refundable(payment: PaymentAttempt) -> bool:
    return payment.gateway is not None and payment.gateway_charge_id is not None


def run_job(database: Database, tenant_id: str, refund_id: str) -> None:
    """The refund job: ask the gateway, record its answer, and fail (to be retried) only when
    the answer is unknown, after committing that it was tried."""
    with database.transaction(tenant_id) as session:
        settled = send(session, tenant_id, refund_id)
    if not settled:
        raise RefundNotSettled(refund_id)


def send(session: Session, tenant_id: str, refund_id: str) -> bool:
    """Send one pending refund to its gateway, holding its lock; False if the outcome is
    unknown and it must be sent again."""
    refund = repository.lock_refund(session, tenant_id, refund_id)
    if refund is None or refund.status != "pending" or refund.gateway_refund_id is not None:
        return True  # settled already, or the gateway took it and its webhook will tell
    payment = repository.lock_attempt(session, tenant_id, refund.payment_id)
    assert payment is not None
    assert payment.gateway_charge_id is not None
    refund.attempts += 1
    try:
        result = gateway_for(session, tenant_id, refund.gateway).refund(
            RefundRequest(
                gateway_charge_id=payment.gateway_charge_id,
                amount=refund.amount,
                currency=refund.currency,
                idempotency_key=refund.idempotency_key,
                reason="requested_by_customer",
            )
        )
        code = result.failure_code.value if result.failure_code else None
    except GatewayConfigurationError as exc:
        log.warning("refund_gateway_not_configured", refund_id=refund.id, error=str(exc))
        result, code = RefundResult(RefundStatus.FAILED, None), "gateway_not_configured"
    if result.status is RefundStatus.PENDING and result.gateway_refund_id is None:
        log.warning("refund_outcome_unknown", refund_id=refund.id, attempts=refund.attempts)
        return False
    settle(session, refund, payment, result.status, result.gateway_refund_id, code)
    return True


def settle(
    session: Session,
    refund: Refund,
    payment: PaymentAttempt,
    status: RefundStatus,
    gateway_refund_id: str | None,
    failure_code: str | None = None,
) -> bool:
    """Record what the gateway says of a refund (its answer, or later its webhook); whether
    that changed anything. Both are locked by the caller.

    A pending refund becomes succeeded or failed; a succeeded one can still fail later (Stripe:
    the card account was closed), which gives the money back to the payment. Nothing else moves:
    a late "succeeded" does not undo a failure, nor is one outcome applied twice.
    """
    if gateway_refund_id is not None and refund.gateway_refund_id is None:
        refund.gateway_refund_id = gateway_refund_id
    changed = False
    now = _now(session, refund)
    if status is RefundStatus.SUCCEEDED and refund.status == "pending":
        refund.status = "succeeded"
        refund.completed_at = now
        session.flush()
        events.emit(
            session, refund.tenant_id, "payment.refunded", service.present(session, payment), now
        )
        changed = True
    elif status is RefundStatus.FAILED and refund.status in {"pending", "succeeded"}:
        # The money stayed with the tenant: the payment can be refunded again (by support; the
        # credit note that asked for it already told the books it went back).
        log.warning("refund_failed", refund_id=refund.id, failure_code=failure_code)
        refund.status = "failed"
        refund.failure_code = failure_code or "refund_failed"
        refund.completed_at = now
        changed = True
    session.flush()
    return changed


def _now(session: Session, refund: Refund) -> datetime:
    invoice = invoicing.get(session, refund.tenant_id, refund.invoice_id)
    return invoicing.customer_now(session, invoice)


def apply_gateway_refund(
    session: Session,
    tenant_id: str,
    gateway: str,
    gateway_refund_id: str,
    status: RefundStatus,
    *,
    charge_id: str | None = None,
    receipt: str | None = None,
) -> tuple[Refund | None, bool]:
    """A gateway's webhook about one of its refunds: the refund of ours it names (by the
    gateway's id, or, before our job recorded that id, by the receipt Razorpay echoes back),
    and whether it changed."""
    found = repository.refund_by_gateway_id(session, gateway, gateway_refund_id)
    if found is None and charge_id is not None and receipt is not None:
        found = _by_receipt(session, gateway, charge_id, receipt)
    if found is None:
        return None, False
    refund = repository.lock_refund(session, tenant_id, found.id)
    assert refund is not None
    payment = repository.lock_attempt(session, tenant_id, refund.payment_id)
    assert payment is not None
    return refund, settle(session, refund, payment, status, gateway_refund_id)


def _by_receipt(session: Session, gateway: str, charge_id: str, receipt: str) -> Refund | None:
    payment = repository.attempt_by_charge(session, gateway, charge_id)
    if payment is None:
        return None
    for refund in repository.refunds_of(session, [payment.id]):
        if receipt_for(refund.idempotency_key) == receipt:
            return refund
    return None
