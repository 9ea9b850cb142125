"""The built-in sandbox gateway: deterministic outcomes, no credentials, no network.

Tokens behave like Stripe's test payment methods (API.md). Every id is derived from the request's
idempotency key, so the adapter is stateless: a repeated charge answers the same charge id, in any
process, which is exactly the guarantee a real gateway gives for a repeated idempotency key.

Sandbox webhooks are signed like Stripe's (`t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>` in
`Sandbox-Signature`), so the inbound webhook path can be exercised without a gateway account.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

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

SIGNATURE_HEADER = "Sandbox-Signature"
TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class _Behaviour:
    kind: str
    status: ChargeStatus
    failure_code: FailureCode | None = None
    retryable: bool = False
    message: str | None = None


TOKENS: Mapping[str, _Behaviour] = {
    "pm_card_visa": _Behaviour("card", ChargeStatus.SUCCEEDED),
    "pm_card_chargeDeclined": _Behaviour(
        "card",
        ChargeStatus.FAILED,
        FailureCode.GENERIC_DECLINE,
        retryable=True,
        message="Your card was declined.",
    ),
    "pm_card_chargeDeclinedInsufficientFunds": _Behaviour(
        "card",
        ChargeStatus.FAILED,
        FailureCode.INSUFFICIENT_FUNDS,
        retryable=True,
        message="Your card has insufficient funds.",
    ),
    "pm_card_authenticationRequired": _Behaviour(
        "card",
        ChargeStatus.REQUIRES_ACTION,
        FailureCode.AUTHENTICATION_REQUIRED,
        message="This payment requires the customer to authenticate.",
    ),
    "pm_upi_success": _Behaviour("upi", ChargeStatus.SUCCEEDED),
}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def sign_webhook(payload: bytes, secret: str, timestamp: int) -> str:
    """The `Sandbox-Signature` value for this body (for tests and local tooling)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class SandboxGateway:
    name = "sandbox"

    def create_customer(self, request: CustomerRequest) -> str:
        return f"cus_sandbox_{_digest('customer', request.reference)}"

    def attach_payment_method(self, customer_ref: str, token: str) -> PaymentMethod:
        if not customer_ref:
            raise GatewayConfigurationError("a payment method is attached to a customer")
        behaviour = TOKENS.get(token)
        if behaviour is None:
            raise GatewayConfigurationError(f"unknown sandbox payment method token {token!r}")
        if behaviour.kind == "card":
            return PaymentMethod(gateway_ref=token, kind="card", brand="visa", last4="4242")
        return PaymentMethod(gateway_ref=token, kind="upi")

    def charge(self, request: ChargeRequest) -> ChargeResult:
        behaviour = TOKENS.get(request.payment_method_ref)
        charge_id = f"ch_sandbox_{_digest('charge', request.idempotency_key)}"
        if behaviour is None:
            return ChargeResult(
                ChargeStatus.FAILED,
                charge_id,
                FailureCode.INVALID_REQUEST,
                message=f"No such payment method: {request.payment_method_ref!r}",
                raw_code="resource_missing",
            )
        if behaviour.status is ChargeStatus.REQUIRES_ACTION and not request.off_session:
            # On session the customer is present and can complete the challenge.
            return ChargeResult(ChargeStatus.REQUIRES_ACTION, charge_id, message=behaviour.message)
        return ChargeResult(
            behaviour.status,
            charge_id,
            behaviour.failure_code,
            retryable=behaviour.retryable,
            message=behaviour.message,
            raw_code=behaviour.failure_code.value if behaviour.failure_code else None,
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        if not request.gateway_charge_id.startswith("ch_sandbox_"):
            return RefundResult(
                RefundStatus.FAILED,
                None,
                FailureCode.INVALID_REQUEST,
                message=f"No such charge: {request.gateway_charge_id!r}",
            )
        refund_id = f"re_sandbox_{_digest('refund', request.idempotency_key)}"
        return RefundResult(RefundStatus.SUCCEEDED, refund_id)

    def create_payment_link(self, request: PaymentLinkRequest) -> PaymentLinkResult:
        """The sandbox has no checkout of its own: the customer pays on Hisaab's page, choosing
        a test token there."""
        return PaymentLinkResult(url=request.return_url, gateway_ref=None)

    def verify_webhook(
        self, payload: bytes, headers: Mapping[str, str], secret: str, now: datetime
    ) -> WebhookEvent:
        timestamp = _verify_timestamped_hmac(
            payload, header(headers, SIGNATURE_HEADER), secret, now, TOLERANCE_SECONDS
        )
        try:
            body = json.loads(payload)
            return WebhookEvent(
                gateway=self.name,
                id=str(body["id"]),
                type=str(body["type"]),
                data=body.get("data") or {},
                created=datetime.fromtimestamp(timestamp, UTC),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SignatureInvalid("the signed body is not a sandbox event") from exc


def _verify_timestamped_hmac(
    payload: bytes, value: str | None, secret: str, now: datetime, tolerance: int
) -> int:
    if not value:
        raise SignatureInvalid("no signature header")
    if not secret:
        raise SignatureInvalid("no webhook secret configured")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in value.split(","):
        key, _, part = item.strip().partition("=")
        if key == "t" and part.isdigit():
            timestamp = int(part)
        elif key == "v1":
            signatures.append(part)
    if timestamp is None or not signatures:
        raise SignatureInvalid("malformed signature header")
    expected = sign_webhook(payload, secret, timestamp).rpartition("v1=")[2]
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureInvalid("signature does not match")
    if abs(now.timestamp() - timestamp) > tolerance:
        raise SignatureInvalid("signature timestamp outside the tolerance")
    return timestamp
