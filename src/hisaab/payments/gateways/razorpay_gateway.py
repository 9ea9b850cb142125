"""Razorpay through the official SDK: customers, orders + recurring payments on tokens, refunds.

A recurring charge is an order (created with the attempt's idempotency key as its `receipt`)
paid by `payments/create/recurring` with the customer's token (card or UPI AutoPay mandate).
Razorpay has no idempotency header, so exactly-once comes from the receipt: before creating an
order the adapter looks for one with that receipt and, if found, reports its payment instead of
paying again (and Razorpay refuses a second payment on a paid order). Refunds are deduplicated
the same way through the refund `receipt`.

Webhooks are signed with hex HMAC-SHA256 of the raw body under the webhook secret
(`X-Razorpay-Signature`). The signature covers no timestamp, and Razorpay redelivers for up to a
day, so replay protection is deduplication on `X-Razorpay-Event-Id`, not a freshness window.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import razorpay
import requests
from razorpay.errors import (
    BadRequestError,
    GatewayError,
    ServerError,
    SignatureVerificationError,
)

from hisaab.payments.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerRequest,
    FailureCode,
    GatewayConfigurationError,
    PaymentLinkRequest,
    PaymentLinkResult,
    PaymentMethod,
    RefundRequest,
    RefundResult,
    RefundStatus,
    SignatureInvalid,
    WebhookEvent,
    header,
)

SIGNATURE_HEADER = "X-Razorpay-Signature"
EVENT_ID_HEADER = "X-Razorpay-Event-Id"
_RECEIPT_MAX = 40

# Razorpay `error_reason` → normalised code, retryable.
_REASONS: dict[str, tuple[FailureCode, bool]] = {
    "insufficient_funds": (FailureCode.INSUFFICIENT_FUNDS, True),
    "insufficient_balance": (FailureCode.INSUFFICIENT_FUNDS, True),
    "card_declined": (FailureCode.GENERIC_DECLINE, True),
    "payment_declined": (FailureCode.GENERIC_DECLINE, True),
    "payment_failed": (FailureCode.GENERIC_DECLINE, True),
    "authentication_failed": (FailureCode.AUTHENTICATION_REQUIRED, False),
    "card_expired": (FailureCode.EXPIRED_CARD, False),
    "payment_risk_check_failed": (FailureCode.FRAUDULENT, False),
    "mandate_not_active": (FailureCode.CARD_DECLINED, False),
    "token_not_active": (FailureCode.CARD_DECLINED, False),
    "bank_technical_error": (FailureCode.PROCESSING_ERROR, True),
    "gateway_technical_error": (FailureCode.PROCESSING_ERROR, True),
    "server_error": (FailureCode.PROCESSING_ERROR, True),
    "payment_timed_out": (FailureCode.PROCESSING_ERROR, True),
}

_TRANSIENT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ServerError,
    GatewayError,
)


def receipt_for(idempotency_key: str) -> str:
    """Razorpay receipts hold at most 40 characters; longer keys are hashed."""
    if len(idempotency_key) <= _RECEIPT_MAX:
        return idempotency_key
    return "h_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[: _RECEIPT_MAX - 2]


class RazorpayGateway:
    name = "razorpay"

    def __init__(
        self, key_id: str, key_secret: str, *, base_url: str | None = None, timeout: float = 30.0
    ) -> None:
        if not key_id or not key_secret:
            raise GatewayConfigurationError("a Razorpay key id and key secret are required")
        options: dict[str, Any] = {"base_url": base_url} if base_url else {}
        self._client: Any = razorpay.Client(auth=(key_id, key_secret), **options)
        self._timeout = timeout

    def create_customer(self, request: CustomerRequest) -> str:
        data: dict[str, Any] = {
            "name": request.name,
            "fail_existing": "0",  # the same email/contact again answers the existing customer
            "notes": {"hisaab_id": request.reference},
        }
        if request.email:
            data["email"] = request.email
        if request.phone:
            data["contact"] = request.phone
        try:
            customer = self._client.customer.create(data, timeout=self._timeout)
        except BadRequestError as exc:
            raise GatewayConfigurationError(f"Razorpay: {exc}") from exc
        return str(customer["id"])

    def attach_payment_method(self, customer_ref: str, token: str) -> PaymentMethod:
        try:
            found = self._client.token.fetch(customer_ref, token, timeout=self._timeout)
        except BadRequestError as exc:
            raise GatewayConfigurationError(f"Razorpay: {exc}") from exc
        details = found.get("recurring_details") or {}
        if not found.get("recurring") or details.get("status") != "confirmed":
            raise GatewayConfigurationError(
                f"Razorpay token {token!r} is not an active recurring mandate"
            )
        card = found.get("card") or {}
        return PaymentMethod(
            gateway_ref=str(found["id"]),
            kind=str(found.get("method", "card")),
            brand=(card.get("network") or "").lower() or None,
            last4=card.get("last4"),
        )

    def charge(self, request: ChargeRequest) -> ChargeResult:
        receipt = receipt_for(request.idempotency_key)
        try:
            existing = self._client.order.all({"receipt": receipt}, timeout=self._timeout)
            orders = existing.get("items") or []
            if orders:
                previous = self._order_outcome(str(orders[0]["id"]))
                if previous is not None:
                    return previous
                order_id = str(orders[0]["id"])
            else:
                order = self._client.order.create(
                    {
                        "amount": request.amount,
                        "currency": request.currency.upper(),
                        "receipt": receipt,
                        "payment_capture": True,
                        "notes": dict(request.metadata),
                    },
                    timeout=self._timeout,
                )
                order_id = str(order["id"])
            payment: dict[str, Any] = {
                "amount": request.amount,
                "currency": request.currency.upper(),
                "order_id": order_id,
                "customer_id": request.customer_ref,
                "token": request.payment_method_ref,
                "recurring": "1",
                "notes": dict(request.metadata),
            }
            if request.customer_email:
                payment["email"] = request.customer_email
            if request.customer_phone:
                payment["contact"] = request.customer_phone
            if request.description:
                payment["description"] = request.description
            try:
                created = self._client.payment.createRecurring(payment, timeout=self._timeout)
            except BadRequestError as exc:
                outcome = self._order_outcome(order_id)
                if outcome is not None:
                    return outcome
                return ChargeResult(
                    ChargeStatus.FAILED,
                    order_id,
                    FailureCode.INVALID_REQUEST,
                    message=str(exc),
                )
            fetched = self._client.payment.fetch(
                created["razorpay_payment_id"], timeout=self._timeout
            )
            return _payment_result(fetched, off_session=request.off_session)
        except _TRANSIENT as exc:
            # The outcome is unknown or Razorpay is failing: a retry with the same key finds
            # the order by its receipt and never pays twice.
            code = (
                FailureCode.NETWORK_ERROR
                if isinstance(exc, requests.exceptions.RequestException)
                else FailureCode.PROCESSING_ERROR
            )
            return ChargeResult(
                ChargeStatus.PROCESSING, None, code, retryable=True, message=str(exc)
            )
        except BadRequestError as exc:
            return ChargeResult(
                ChargeStatus.FAILED, None, FailureCode.INVALID_REQUEST, message=str(exc)
            )

    def _order_outcome(self, order_id: str) -> ChargeResult | None:
        """The result of the order's best payment so far; None if it has none."""
        payments = self._client.order.payments(order_id, timeout=self._timeout)
        items: list[dict[str, Any]] = payments.get("items") or []
        if not items:
            return None
        rank = {"captured": 0, "authorized": 1, "created": 2, "failed": 3}
        best = min(items, key=lambda p: rank.get(str(p.get("status")), 4))
        return _payment_result(best, off_session=True)

    def refund(self, request: RefundRequest) -> RefundResult:
        receipt = receipt_for(request.idempotency_key)
        try:
            done = self._client.payment.fetch_multiple_refund(
                request.gateway_charge_id, {"count": 100}, timeout=self._timeout
            )
            for item in done.get("items") or []:
                if item.get("receipt") == receipt:
                    return _refund_result(item)
            notes = {"reason": request.reason} if request.reason else {}
            created = self._client.payment.refund(
                request.gateway_charge_id,
                {"amount": request.amount, "speed": "normal", "receipt": receipt, "notes": notes},
                timeout=self._timeout,
            )
        except _TRANSIENT as exc:
            return RefundResult(
                RefundStatus.PENDING, None, FailureCode.NETWORK_ERROR, message=str(exc)
            )
        except BadRequestError as exc:
            return RefundResult(
                RefundStatus.FAILED, None, FailureCode.INVALID_REQUEST, message=str(exc)
            )
        return _refund_result(created)

    def create_payment_link(self, request: PaymentLinkRequest) -> PaymentLinkResult:
        """A Payment Link for the exact amount. Its `reference_id` is the idempotency key (as a
        receipt), which Razorpay keeps unique: a repeated request finds the link made first."""
        reference = receipt_for(request.idempotency_key)
        try:
            found = self._client.payment_link.all(
                {"reference_id": reference}, timeout=self._timeout
            )
            existing = found.get("payment_links") or found.get("items") or []
            if existing:
                return PaymentLinkResult(
                    url=str(existing[0]["short_url"]), gateway_ref=str(existing[0]["id"])
                )
            customer: dict[str, str] = {}
            if request.customer_name:
                customer["name"] = request.customer_name
            if request.customer_email:
                customer["email"] = request.customer_email
            created = self._client.payment_link.create(
                {
                    "amount": request.amount,
                    "currency": request.currency.upper(),
                    "accept_partial": False,
                    "reference_id": reference,
                    "description": request.description,
                    "customer": customer,
                    # Hisaab mails the customer itself; Razorpay's own notices would repeat it.
                    "notify": {"sms": False, "email": False},
                    "reminder_enable": False,
                    "notes": dict(request.metadata),
                    "callback_url": request.return_url,
                    "callback_method": "get",
                },
                timeout=self._timeout,
            )
        except (*_TRANSIENT, BadRequestError) as exc:
            raise GatewayConfigurationError(f"Razorpay: {exc}") from exc
        return PaymentLinkResult(url=str(created["short_url"]), gateway_ref=str(created["id"]))

    def verify_webhook(
        self, payload: bytes, headers: Mapping[str, str], secret: str, now: datetime
    ) -> WebhookEvent:
        del now  # Razorpay signs no timestamp; replays are caught by the event id
        signature = header(headers, SIGNATURE_HEADER)
        if not signature or not secret:
            raise SignatureInvalid("missing X-Razorpay-Signature or webhook secret")
        try:
            body_text = payload.decode("utf-8")
            self._client.utility.verify_webhook_signature(body_text, signature, secret)
        except (SignatureVerificationError, UnicodeDecodeError) as exc:
            raise SignatureInvalid("Razorpay signature does not match") from exc
        try:
            body = json.loads(body_text)
            event_id = header(headers, EVENT_ID_HEADER) or (
                "sha256_" + hashlib.sha256(payload).hexdigest()
            )
            created = body.get("created_at")
            return WebhookEvent(
                gateway=self.name,
                id=event_id,
                type=str(body["event"]),
                data=body.get("payload") or {},
                created=datetime.fromtimestamp(int(created), UTC) if created else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SignatureInvalid("the signed body is not a Razorpay event") from exc


def _payment_result(payment: Mapping[str, Any], *, off_session: bool) -> ChargeResult:
    payment_id = str(payment["id"])
    status = payment.get("status")
    if status == "captured":
        return ChargeResult(ChargeStatus.SUCCEEDED, payment_id)
    if status in {"authorized", "created", "pending"}:
        return ChargeResult(ChargeStatus.PROCESSING, payment_id)
    reason = str(payment.get("error_reason") or "")
    failure, retryable = _REASONS.get(reason, (FailureCode.GENERIC_DECLINE, True))
    if failure is FailureCode.AUTHENTICATION_REQUIRED:
        return ChargeResult(
            ChargeStatus.REQUIRES_ACTION,
            payment_id,
            FailureCode.AUTHENTICATION_REQUIRED if off_session else None,
            message=payment.get("error_description"),
            raw_code=reason or None,
        )
    return ChargeResult(
        ChargeStatus.FAILED,
        payment_id,
        failure,
        retryable=retryable,
        message=payment.get("error_description"),
        raw_code=reason or None,
    )


def _refund_result(refund: Mapping[str, Any]) -> RefundResult:
    status = {
        "processed": RefundStatus.SUCCEEDED,
        "failed": RefundStatus.FAILED,
    }.get(str(refund.get("status")), RefundStatus.PENDING)
    return RefundResult(status, str(refund["id"]))
