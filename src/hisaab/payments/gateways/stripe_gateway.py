"""Stripe through the official SDK: customers, payment methods, off-session PaymentIntents, refunds.

One `stripe.StripeClient` per tenant (its own API key), never the SDK's global `stripe.api_key`,
so two tenants' credentials can never mix inside one worker. `api_base` points the client at
another host (the test fake); production leaves it unset.

Charges are PaymentIntents created and confirmed in one call with the attempt's idempotency key,
so a retry after a lost answer returns the first PaymentIntent instead of charging again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import stripe

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
    classify_decline,
    header,
)

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = stripe.Webhook.DEFAULT_TOLERANCE  # 300: Stripe's own default


class StripeGateway:
    name = "stripe"

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout: float = 30.0,
        max_network_retries: int = 2,
        stripe_version: str | None = None,
    ) -> None:
        if not api_key:
            raise GatewayConfigurationError("a Stripe secret key is required")
        self._client = stripe.StripeClient(
            api_key,
            stripe_version=stripe_version,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def create_customer(self, request: CustomerRequest) -> str:
        params: dict[str, Any] = {
            "name": request.name,
            "metadata": {"hisaab_id": request.reference},
        }
        if request.email:
            params["email"] = request.email
        if request.phone:
            params["phone"] = request.phone
        key = request.idempotency_key or f"hisaab-customer-{request.reference}"
        try:
            customer = self._client.v1.customers.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": key},
            )
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise GatewayConfigurationError(f"Stripe rejected the credentials: {exc}") from exc
        return customer.id

    def attach_payment_method(self, customer_ref: str, token: str) -> PaymentMethod:
        try:
            method = self._client.v1.payment_methods.attach(token, {"customer": customer_ref})
        except stripe.InvalidRequestError as exc:
            raise GatewayConfigurationError(f"Stripe: {exc.user_message or exc}") from exc
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise GatewayConfigurationError(f"Stripe rejected the credentials: {exc}") from exc
        card = method.card if method.type == "card" else None
        return PaymentMethod(
            gateway_ref=method.id,
            kind=method.type,
            brand=card.brand if card else None,
            last4=card.last4 if card else None,
        )

    def charge(self, request: ChargeRequest) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "customer": request.customer_ref,
            "payment_method": request.payment_method_ref,
            "confirm": True,
            # No redirect-based methods: nobody is there to follow a redirect off session.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "metadata": dict(request.metadata),
        }
        if request.off_session:
            params["off_session"] = True
        if request.description:
            params["description"] = request.description
        try:
            intent = self._client.v1.payment_intents.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as exc:
            return _card_error(exc)
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            # The outcome is unknown or the gateway is busy: retry with the same key.
            code = (
                FailureCode.NETWORK_ERROR
                if isinstance(exc, stripe.APIConnectionError)
                else FailureCode.PROCESSING_ERROR
            )
            return ChargeResult(
                ChargeStatus.PROCESSING, None, code, retryable=True, message=str(exc)
            )
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise GatewayConfigurationError(f"Stripe rejected the credentials: {exc}") from exc
        except stripe.StripeError as exc:  # invalid request, idempotency misuse, ...
            return ChargeResult(
                ChargeStatus.FAILED,
                None,
                FailureCode.INVALID_REQUEST,
                message=exc.user_message or str(exc),
                raw_code=exc.code,
            )
        return _intent_result(intent, off_session=request.off_session)

    def refund(self, request: RefundRequest) -> RefundResult:
        params: dict[str, Any] = {
            "payment_intent": request.gateway_charge_id,
            "amount": request.amount,
        }
        if request.reason in {"duplicate", "fraudulent", "requested_by_customer"}:
            params["reason"] = request.reason
        try:
            refund = self._client.v1.refunds.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            return RefundResult(
                RefundStatus.PENDING, None, FailureCode.NETWORK_ERROR, message=str(exc)
            )
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise GatewayConfigurationError(f"Stripe rejected the credentials: {exc}") from exc
        except stripe.StripeError as exc:
            return RefundResult(
                RefundStatus.FAILED,
                None,
                FailureCode.INVALID_REQUEST,
                message=exc.user_message or str(exc),
            )
        status = {
            "succeeded": RefundStatus.SUCCEEDED,
            "failed": RefundStatus.FAILED,
            "canceled": RefundStatus.FAILED,
        }.get(refund.status or "", RefundStatus.PENDING)
        return RefundResult(status, refund.id)

    def create_payment_link(self, request: PaymentLinkRequest) -> PaymentLinkResult:
        """A Checkout Session in payment mode for the exact amount: the customer is present, so
        Stripe runs 3-D Secure (or any redirect method) itself. The PaymentIntent carries the
        same metadata, so its webhooks name the Hisaab invoice and payment too."""
        metadata = dict(request.metadata)
        params: dict[str, Any] = {
            "mode": "payment",
            "customer": request.customer_ref,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount,
                        "product_data": {"name": request.description},
                    },
                }
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata, "description": request.description},
            "success_url": request.return_url,
            "cancel_url": request.return_url,
        }
        if "hisaab_invoice_id" in metadata:
            params["client_reference_id"] = metadata["hisaab_invoice_id"]
        try:
            session = self._client.v1.checkout.sessions.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise GatewayConfigurationError(f"Stripe rejected the credentials: {exc}") from exc
        except stripe.StripeError as exc:
            raise GatewayConfigurationError(f"Stripe: {exc.user_message or exc}") from exc
        if not session.url:
            raise GatewayConfigurationError("Stripe returned a Checkout Session without a URL")
        return PaymentLinkResult(url=session.url, gateway_ref=session.id)

    def verify_webhook(
        self, payload: bytes, headers: Mapping[str, str], secret: str, now: datetime
    ) -> WebhookEvent:
        return verify_stripe_webhook(payload, headers, secret, now)


def verify_stripe_webhook(
    payload: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: datetime,
    tolerance: int = TOLERANCE_SECONDS,
) -> WebhookEvent:
    """Check `Stripe-Signature` with the SDK; judge freshness against `now`, not the OS clock."""
    signature = header(headers, SIGNATURE_HEADER)
    try:
        # tolerance=None: the SDK would compare with time.time(); we compare with `now` below.
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance=None)
    except stripe.SignatureVerificationError as exc:
        raise SignatureInvalid(str(exc)) from exc
    assert signature is not None  # verify_header rejects a missing header
    timestamps = [p[2:] for p in signature.split(",") if p.startswith("t=")]
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        raise SignatureInvalid("Stripe-Signature has no single timestamp")
    if abs(now.timestamp() - int(timestamps[0])) > tolerance:
        raise SignatureInvalid("Stripe-Signature timestamp outside the tolerance zone")
    try:
        body = json.loads(payload)
        return WebhookEvent(
            gateway="stripe",
            id=str(body["id"]),
            type=str(body["type"]),
            data=body.get("data") or {},
            created=datetime.fromtimestamp(int(body["created"]), UTC)
            if "created" in body
            else None,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureInvalid("the signed body is not a Stripe event") from exc


def _card_error(exc: stripe.CardError) -> ChargeResult:
    error = exc.error
    intent = error.payment_intent if error is not None else None
    decline = (error.decline_code if error is not None else None) or exc.code
    message = exc.user_message or str(exc)
    if exc.code == "authentication_required":
        return ChargeResult(
            ChargeStatus.REQUIRES_ACTION,
            intent.id if intent else None,
            FailureCode.AUTHENTICATION_REQUIRED,
            retryable=False,
            message=message,
            raw_code=decline,
        )
    failure, retryable = classify_decline(decline)
    return ChargeResult(
        ChargeStatus.FAILED,
        intent.id if intent else None,
        failure,
        retryable=retryable,
        message=message,
        raw_code=decline,
    )


def _intent_result(intent: stripe.PaymentIntent, *, off_session: bool) -> ChargeResult:
    match intent.status:
        case "succeeded":
            return ChargeResult(ChargeStatus.SUCCEEDED, intent.id)
        case "processing" | "requires_capture":
            return ChargeResult(ChargeStatus.PROCESSING, intent.id, retryable=False)
        case "requires_action" | "requires_confirmation":
            return ChargeResult(
                ChargeStatus.REQUIRES_ACTION,
                intent.id,
                FailureCode.AUTHENTICATION_REQUIRED if off_session else None,
            )
    last = intent.last_payment_error
    decline = (last.decline_code or last.code) if last is not None else None
    failure, retryable = classify_decline(decline)
    return ChargeResult(
        ChargeStatus.FAILED,
        intent.id,
        failure,
        retryable=retryable,
        message=last.message if last is not None else None,
        raw_code=decline,
    )
