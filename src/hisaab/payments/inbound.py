"""What Stripe and Razorpay tell us after the fact: charges that finished later, refunds that
settled, disputes opened.

Trust: nothing in a delivery counts until its signature checks out with the tenant's own webhook
secret, at the real current time (a stale Stripe signature is a replay); until then nothing is
written. Once: every event is stored under (tenant, gateway, the gateway's event id) before it is
applied, by an insert the database refuses a second time, so a redelivery answers 200 and
changes nothing. Order: each outcome only moves an object forward from a state that can still
change (`service.apply_gateway_outcome`, `refunds.settle`), so events applied out of order, or
old ones replayed under new ids, cannot undo a later truth. Events Hisaab does not act on are
kept and answered 200, so the gateway stops redelivering them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.orm import Session

from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.core.errors import HisaabError
from hisaab.core.ids import new_id
from hisaab.invoicing import service as invoicing
from hisaab.payments import refunds, repository, service
from hisaab.payments.gateways import registry
from hisaab.payments.gateways.base import (
    ChargeResult,
    ChargeStatus,
    GatewayConfigurationError,
    RefundStatus,
    SignatureInvalid,
    WebhookEvent,
    classify_decline,
)
from hisaab.payments.gateways.razorpay_gateway import _payment_result as razorpay_payment_result
from hisaab.payments.models import GatewayEvent, PaymentAttempt
from hisaab.webhooks import service as events

log = structlog.get_logger("hisaab.payments.inbound")
INBOUND_GATEWAYS = ("stripe", "razorpay")
# Where our charges carry our own payment id (ChargeRequest.metadata), found on the gateway's
# object as Stripe `metadata` and Razorpay `notes`.
PAYMENT_REFERENCE = "hisaab_payment_id"


@dataclass(frozen=True)
class Outcome:
    outcome: str  # applied | unchanged | unmatched | ignored
    object_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Received:
    event: GatewayEvent
    duplicate: bool


def receive(
    session: Session, tenant_id: str, gateway: str, payload: bytes, headers: Mapping[str, str]
) -> Received:
    """Verify, store once, apply: the use case behind each gateway's webhook URL."""
    verified = _verify(session, tenant_id, gateway, payload, headers)
    claimed = GatewayEvent(
        tenant_id=tenant_id,
        id=new_id("gwe"),
        gateway=gateway,
        event_id=verified.id,
        type=verified.type,
        payload=json.loads(payload),
        received_at=SYSTEM_CLOCK.now(),
        outcome="ignored",
        object_id=None,
        detail=None,
    )
    if not repository.claim_gateway_event(session, claimed):
        known = repository.gateway_event(session, gateway, verified.id)
        assert known is not None
        return Received(known, duplicate=True)
    handler = _HANDLERS[gateway].get(verified.type)
    outcome = handler(session, tenant_id, verified) if handler else Outcome("ignored")
    event = session.get(GatewayEvent, (tenant_id, claimed.id))
    assert event is not None
    event.outcome, event.object_id, event.detail = (
        outcome.outcome,
        outcome.object_id,
        outcome.detail,
    )
    session.flush()
    log.info(
        "gateway_event",
        gateway=gateway,
        event_id=verified.id,
        type=verified.type,
        outcome=outcome.outcome,
        object_id=outcome.object_id,
    )
    return Received(event, duplicate=False)


def _verify(
    session: Session, tenant_id: str, gateway: str, payload: bytes, headers: Mapping[str, str]
) -> WebhookEvent:
    try:
        secret = registry.credentials(session, tenant_id, gateway).get("webhook_secret")
    except GatewayConfigurationError:
        secret = None
    if not secret:
        raise HisaabError(
            code="webhook_secret_not_configured",
            detail=f"The tenant has no {gateway} webhook secret; set it with PATCH /v1/tenant.",
        )
    try:
        adapter = registry.gateway_for(session, tenant_id, gateway)
        return adapter.verify_webhook(payload, headers, secret, SYSTEM_CLOCK.now())
    except SignatureInvalid as exc:
        raise HisaabError(
            code="webhook_signature_invalid",
            detail=f"The {gateway} signature does not verify with the tenant's webhook secret, "
            f"or is too old: {exc}",
        ) from None


# --- payments --------------------------------------------------------------------------------


def _attempt(
    session: Session,
    tenant_id: str,
    gateway: str,
    charge_id: str,
    reference: object,
    other_ids: tuple[str, ...] = (),
) -> PaymentAttempt | None:
    """Our try that made the gateway's charge `charge_id`.

    By the charge id the try recorded; failing that, by our payment id the charge carries in its
    metadata, for a try that never learnt its charge id (the gateway's answer was lost) or
    recorded another one (a Razorpay order) — the try then takes the charge's id.
    """
    found = repository.attempt_by_charge(session, gateway, charge_id)
    if found is not None or not isinstance(reference, str) or not reference:
        return found
    attempt = repository.lock_attempt(session, tenant_id, reference)
    if attempt is None or attempt.gateway != gateway:
        return None
    if attempt.gateway_charge_id is not None and attempt.gateway_charge_id not in other_ids:
        return None
    attempt.gateway_charge_id = charge_id
    session.flush()
    return attempt


def _charge_outcome(
    session: Session,
    tenant_id: str,
    gateway: str,
    charge_id: str,
    result: ChargeResult,
    reference: object,
    other_ids: tuple[str, ...] = (),
) -> Outcome:
    attempt = _attempt(session, tenant_id, gateway, charge_id, reference, other_ids)
    if attempt is None:
        return Outcome("unmatched", detail=f"no payment of ours made charge {charge_id}")
    before = attempt.status
    service.apply_gateway_outcome(session, gateway, charge_id, result)
    if attempt.status == before:
        return Outcome("unchanged", attempt.id, f"the payment is already {before}")
    return Outcome("applied", attempt.id, f"{before} -> {attempt.status}")


def _dispute(
    session: Session, tenant_id: str, gateway: str, charge_id: str | None, reference: object
) -> Outcome:
    found = _attempt(session, tenant_id, gateway, charge_id, reference) if charge_id else None
    if found is None:
        return Outcome("unmatched", detail=f"no payment of ours made charge {charge_id}")
    attempt = repository.lock_attempt(session, tenant_id, found.id)
    assert attempt is not None
    if attempt.disputed_at is not None:
        return Outcome("unchanged", attempt.id, "the payment is already disputed")
    invoice = invoicing.get(session, tenant_id, attempt.invoice_id)
    now = invoicing.customer_now(session, invoice)
    attempt.disputed_at = now
    session.flush()
    # No ledger entry yet: a dispute is a claim; money moves when the gateway decides it.
    events.emit(session, tenant_id, "payment.disputed", service.present(session, attempt), now)
    return Outcome("applied", attempt.id, "disputed")


def _refund(
    session: Session,
    tenant_id: str,
    gateway: str,
    refund_id: object,
    status: RefundStatus,
    *,
    charge_id: str | None = None,
    receipt: str | None = None,
) -> Outcome:
    if not isinstance(refund_id, str) or not refund_id:
        return Outcome("unmatched", detail="the event names no refund")
    refund, changed = refunds.apply_gateway_refund(
        session, tenant_id, gateway, refund_id, status, charge_id=charge_id, receipt=receipt
    )
    if refund is None:
        return Outcome("unmatched", detail=f"no refund of ours is {refund_id}")
    if not changed:
        return Outcome("unchanged", refund.id, f"the refund is already {refund.status}")
    return Outcome("applied", refund.id, refund.status)


# --- Stripe ----------------------------------------------------------------------------------

_STRIPE_REFUND_STATUS = {
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


def _object(event: WebhookEvent) -> Mapping[str, Any]:
    found = event.data.get("object")
    return found if isinstance(found, Mapping) else {}


def _metadata(obj: Mapping[str, Any], key: str) -> object:
    found = obj.get(key)
    return found.get(PAYMENT_REFERENCE) if isinstance(found, Mapping) else None


def _stripe_intent_succeeded(session: Session, tenant_id: str, event: WebhookEvent) -> Outcome:
    intent = _object(event)
    intent_id = str(intent.get("id", ""))
    result = ChargeResult(ChargeStatus.SUCCEEDED, intent_id)
    reference = _metadata(intent, "metadata")
    return _charge_outcome(session, tenant_id, "stripe", intent_id, result, reference)


def _stripe_intent_failed(session: Session, tenant_id: str, event: WebhookEvent) -> Outcome:
    intent = _object(event)
    intent_id = str(intent.get("id", ""))
    error = intent.get("last_payment_error")
    error = error if isinstance(error, Mapping) else {}
    decline = error.get("decline_code") or error.get("code")
    failure, retryable = classify_decline(str(decline) if decline else None)
    result = ChargeResult(
        ChargeStatus.FAILED,
        intent_id,
        failure,
        retryable=retryable,
        message=error.get("message"),
        raw_code=str(decline) if decline else None,
    )
    reference = _metadata(intent, "metadata")
    return _charge_outcome(session, tenant_id, "stripe", intent_id, result, reference)


def _stripe_refund(session: Session, tenant_id: str, event: WebhookEvent) -> Outcome:
    refund = _object(event)
    status = _STRIPE_REFUND_STATUS.get(str(refund.get("status")), RefundStatus.PENDING)
    return _refund(session, tenant_id, "stripe", refund.get("id"), status)


def _stripe_charge_refunded(session: Session, tenant_id: str, event: WebhookEvent) -> Outcome:
    """A Charge with the refunds it lists (API versions before 2022-11-15 embed them; later
    ones send `refund.updated` for each refund instead)."""
    listed = _object(event).get("refunds")
    items = listed.get("data") if isinstance(listed, Mapping) else None
    outcomes = [
        _refund(
            session,
            tenant_id,
            "stripe",
            item.get("id"),
            _STRIPE_REFUND_STATUS.get(str(item.get("status")), RefundStatus.PENDING),
        )
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, Mapping)
    ]
    return _combined(outcomes)


def _stripe_dispute(session: Session, tenant_id: str, event: WebhookEvent) -> Outcome:
    dispute = _object(event)
    intent = dispute.get("payment_intent")
    return _dispute(session, tenant_id, "stripe", str(intent) if intent else None, None)


# --- Razorpay --------------------------------------------------------------------------------


def _stripe_checkout_completed(session: Session, tenant_id: str, event: WebhookEvent) -> Outcome:
    """The customer paid on the Checkout page the pay link sent them to: the try waiting as
    `requires_action` recorded the Checkout Session's id as its charge."""
    checkout = _object(event)
    if checkout.get("payment_status") != "paid":
        return Outcome("ignored", detail="the checkout is not paid yet")
    checkout_id = str(checkout.get("id", ""))
    result = ChargeResult(ChargeStatus.SUCCEEDED, checkout_id)
    return _charge_outcome(
        session, tenant_id, "stripe", checkout_id, result, _metadata(checkout, "metadata")
    )


def _entity(event: WebhookEvent, name: str) -> Mapping[str, Any]:
    wrapper = event.data.get(name)
    found = wrapper.get("entity") if isinstance(wrapper, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _razorpay_payment(session: Session, tenant_id: str, event: WebhookEvent) -> Outcome:
    payment = _entity(event, "payment")
    if not payment.get("id"):
        return Outcome("unmatched", detail="the event names no payment")
    result = (
        ChargeResult(ChargeStatus.SUCCEEDED, str(payment["id"]))
        if event.type == "payment.captured"
        else razorpay_payment_result(payment, off_session=True)
    )
    # An attempt whose recurring payment call failed outright recorded the order's id.
    order = payment.get("order_id")
    return _charge_outcome(
        session,
        tenant_id,
        "razorpay",
        str(payment["id"]),
        result,
        _metadata(payment, "notes"),
        (str(order),) if order else (),
    )


def _razorpay_link_paid(session: Session, tenant_id: str, event: WebhookEvent) -> Outcome:
    """The customer paid through the Payment Link the pay page created (its id is the try's
    charge)."""
    link = _entity(event, "payment_link")
    if not link.get("id"):
        return Outcome("unmatched", detail="the event names no payment link")
    result = ChargeResult(ChargeStatus.SUCCEEDED, str(link["id"]))
    return _charge_outcome(
        session, tenant_id, "razorpay", str(link["id"]), result, _metadata(link, "notes")
    )


def _razorpay_refund(session: Session, tenant_id: str, event: WebhookEvent) -> Outcome:
    refund = _entity(event, "refund")
    status = {"processed": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED}.get(
        str(refund.get("status")), RefundStatus.PENDING
    )
    if event.type == "refund.failed":
        status = RefundStatus.FAILED
    payment_id, receipt = refund.get("payment_id"), refund.get("receipt")
    return _refund(
        session,
        tenant_id,
        "razorpay",
        refund.get("id"),
        status,
        charge_id=str(payment_id) if payment_id else None,
        receipt=str(receipt) if receipt else None,
    )


def _razorpay_dispute(session: Session, tenant_id: str, event: WebhookEvent) -> Outcome:
    payment_id = _entity(event, "dispute").get("payment_id") or _entity(event, "payment").get("id")
    reference = _metadata(_entity(event, "payment"), "notes")
    return _dispute(
        session, tenant_id, "razorpay", str(payment_id) if payment_id else None, reference
    )


def _combined(outcomes: list[Outcome]) -> Outcome:
    if not outcomes:
        return Outcome("unmatched", detail="the event lists no refund")
    for kind in ("applied", "unchanged"):
        hits = [o for o in outcomes if o.outcome == kind]
        if hits:
            return Outcome(kind, ",".join(o.object_id for o in hits if o.object_id), hits[0].detail)
    return outcomes[0]


Handler = Callable[[Session, str, WebhookEvent], Outcome]
_HANDLERS: dict[str, dict[str, Handler]] = {
    "stripe": {
        "payment_intent.succeeded": _stripe_intent_succeeded,
        "payment_intent.payment_failed": _stripe_intent_failed,
        "checkout.session.completed": _stripe_checkout_completed,
        "charge.refunded": _stripe_charge_refunded,
        "refund.created": _stripe_refund,
        "refund.updated": _stripe_refund,
        "refund.failed": _stripe_refund,
        "charge.dispute.created": _stripe_dispute,
    },
    "razorpay": {
        "payment.captured": _razorpay_payment,
        "payment.failed": _razorpay_payment,
        "payment_link.paid": _razorpay_link_paid,
        "refund.processed": _razorpay_refund,
        "refund.failed": _razorpay_refund,
        "payment.dispute.created": _razorpay_dispute,
    },
}
