from __future__ import annotations

import hashlib
import hmac
import json
import socket
from datetime import UTC, datetime

import pytest
import stripe

from hisaab.payments.gateways import (
    ChargeRequest,
    ChargeStatus,
    CustomerRequest,
    FailureCode,
    GatewayConfigurationError,
    PaymentGateway,
    RefundRequest,
    RefundStatus,
    SignatureInvalid,
)
from hisaab.payments.gateways.stripe_gateway import StripeGateway
from tests.payments.fakes import FakeStripe

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SECRET = "whsec_test_secret"


def _gateway(fake: FakeStripe, retries: int = 0) -> StripeGateway:
    return StripeGateway(fake.api_key, api_base=fake.url, max_network_retries=retries, timeout=5)


def _customer(gateway: StripeGateway) -> str:
    return gateway.create_customer(
        CustomerRequest(reference="cus_01", name="Asha Rao", email="asha@example.in")
    )


def _charge(customer: str, token: str, key: str = "in_1:1", **kw: bool) -> ChargeRequest:
    return ChargeRequest(
        amount=2900,
        currency="USD",
        customer_ref=customer,
        payment_method_ref=token,
        idempotency_key=key,
        description="Invoice INV-2025-1",
        metadata={"invoice_id": "in_1"},
        **kw,
    )


def test_off_session_charge_succeeds_through_the_sdk(fake_stripe: FakeStripe) -> None:
    gateway: PaymentGateway = _gateway(fake_stripe)
    assert isinstance(gateway, StripeGateway)
    customer = _customer(gateway)
    method = gateway.attach_payment_method(customer, "pm_card_visa")
    assert (method.kind, method.brand, method.last4) == ("card", "visa", "4242")
    result = gateway.charge(_charge(customer, "pm_card_visa"))
    assert result.status is ChargeStatus.SUCCEEDED
    assert result.gateway_charge_id in fake_stripe.intents
    create = fake_stripe.requests[-1]
    assert create.path == "/v1/payment_intents"
    assert create.headers["idempotency-key"] == "in_1:1"
    assert create.body["amount"] == "2900"
    assert create.body["currency"] == "usd"
    assert create.body["off_session"] == "true"
    assert create.body["confirm"] == "true"
    assert create.body["metadata[invoice_id]"] == "in_1"
    assert fake_stripe.customers[customer]["metadata"] == {"hisaab_id": "cus_01"}


@pytest.mark.parametrize(
    ("token", "failure", "retryable"),
    [
        ("pm_card_chargeDeclined", FailureCode.GENERIC_DECLINE, True),
        ("pm_card_chargeDeclinedInsufficientFunds", FailureCode.INSUFFICIENT_FUNDS, True),
        ("pm_card_chargeDeclinedExpiredCard", FailureCode.EXPIRED_CARD, False),
        ("pm_card_chargeDeclinedFraudulent", FailureCode.FRAUDULENT, False),
    ],
)
def test_declines_are_normalised(
    fake_stripe: FakeStripe, token: str, failure: FailureCode, retryable: bool
) -> None:
    gateway = _gateway(fake_stripe)
    result = gateway.charge(_charge(_customer(gateway), token))
    assert result.status is ChargeStatus.FAILED
    assert result.failure_code is failure
    assert result.retryable is retryable
    assert result.gateway_charge_id in fake_stripe.intents
    assert (
        result.raw_code
        == fake_stripe.intents[result.gateway_charge_id or ""]["last_payment_error"]["decline_code"]
    )


def test_authentication_required_off_session(fake_stripe: FakeStripe) -> None:
    gateway = _gateway(fake_stripe)
    customer = _customer(gateway)
    off = gateway.charge(_charge(customer, "pm_card_authenticationRequired"))
    assert off.status is ChargeStatus.REQUIRES_ACTION
    assert off.failure_code is FailureCode.AUTHENTICATION_REQUIRED
    assert not off.retryable
    on = gateway.charge(
        _charge(customer, "pm_card_authenticationRequired", "in_1:2", off_session=False)
    )
    assert on.status is ChargeStatus.REQUIRES_ACTION
    assert on.failure_code is None


def test_retried_charge_with_the_same_key_charges_once(fake_stripe: FakeStripe) -> None:
    gateway = _gateway(fake_stripe)
    customer = _customer(gateway)
    first = gateway.charge(_charge(customer, "pm_card_visa"))
    again = gateway.charge(_charge(customer, "pm_card_visa"))
    assert first == again
    assert fake_stripe.charges_created == 1
    declined = gateway.charge(_charge(customer, "pm_card_chargeDeclined", "in_2:1"))
    assert gateway.charge(_charge(customer, "pm_card_chargeDeclined", "in_2:1")) == declined
    assert fake_stripe.charges_created == 2


def test_reusing_a_key_with_other_parameters_is_refused(fake_stripe: FakeStripe) -> None:
    gateway = _gateway(fake_stripe)
    customer = _customer(gateway)
    gateway.charge(_charge(customer, "pm_card_visa"))
    other = gateway.charge(_charge(customer, "pm_card_chargeDeclined"))
    assert other.status is ChargeStatus.FAILED
    assert other.failure_code is FailureCode.INVALID_REQUEST
    assert fake_stripe.charges_created == 1


def test_lost_answer_is_processing_then_the_retry_finds_the_same_charge(
    fake_stripe: FakeStripe,
) -> None:
    gateway = _gateway(fake_stripe)
    customer = _customer(gateway)
    fake_stripe.drop_next = 1  # the charge happens, the answer never arrives
    lost = gateway.charge(_charge(customer, "pm_card_visa"))
    assert lost.status is ChargeStatus.PROCESSING
    assert lost.failure_code is FailureCode.NETWORK_ERROR
    assert lost.retryable
    assert fake_stripe.charges_created == 1
    retried = gateway.charge(_charge(customer, "pm_card_visa"))
    assert retried.status is ChargeStatus.SUCCEEDED
    assert fake_stripe.charges_created == 1


def test_sdk_network_retries_reuse_the_key(fake_stripe: FakeStripe) -> None:
    gateway = _gateway(fake_stripe, retries=1)
    customer = _customer(gateway)
    fake_stripe.drop_next = 1
    result = gateway.charge(_charge(customer, "pm_card_visa"))
    assert result.status is ChargeStatus.SUCCEEDED
    assert fake_stripe.paths().count("POST /v1/payment_intents") == 2
    assert fake_stripe.charges_created == 1


def test_unreachable_gateway_is_processing() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = StripeGateway("sk_test_x", api_base=f"http://127.0.0.1:{port}", max_network_retries=0)
    result = gateway.charge(_charge("cus_x", "pm_card_visa"))
    assert (result.status, result.retryable) == (ChargeStatus.PROCESSING, True)


def test_guard_catches_calls_to_the_real_api(no_internet: list[str]) -> None:
    result = StripeGateway("sk_test_x", max_network_retries=0).charge(_charge("c", "pm_card_visa"))
    assert result.status is ChargeStatus.PROCESSING
    assert no_internet == ["api.stripe.com"]
    no_internet.clear()  # expected here; any other test doing this fails at teardown


def test_refunds(fake_stripe: FakeStripe) -> None:
    gateway = _gateway(fake_stripe)
    charge = gateway.charge(_charge(_customer(gateway), "pm_card_visa"))
    assert charge.gateway_charge_id is not None
    request = RefundRequest(charge.gateway_charge_id, 900, "USD", "cn_1", reason="duplicate")
    refund = gateway.refund(request)
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund.gateway_refund_id in fake_stripe.refunds
    assert gateway.refund(request) == refund
    assert len(fake_stripe.refunds) == 1
    too_much = gateway.refund(RefundRequest(charge.gateway_charge_id, 2001, "USD", "cn_2"))
    assert too_much.status is RefundStatus.FAILED
    assert fake_stripe.requests[-1].body["payment_intent"] == charge.gateway_charge_id


def test_bad_api_key_and_unknown_method_are_configuration_errors(fake_stripe: FakeStripe) -> None:
    with pytest.raises(GatewayConfigurationError):
        StripeGateway("sk_test_wrong", api_base=fake_stripe.url).create_customer(
            CustomerRequest(reference="cus_1", name="A")
        )
    gateway = _gateway(fake_stripe)
    with pytest.raises(GatewayConfigurationError):
        gateway.attach_payment_method(_customer(gateway), "pm_nope")


def test_each_tenant_has_its_own_client(fake_stripe: FakeStripe) -> None:
    stripe.api_key = None
    other = FakeStripe(api_key="sk_test_other")
    assert _gateway(fake_stripe)._client is not StripeGateway("sk_test_other")._client
    assert stripe.api_key is None
    assert other.requests == []


# ------------------------------------------------------------------------------------ webhooks


def _stripe_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """Exactly what Stripe sends: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>"))."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


EVENT = json.dumps(
    {
        "id": "evt_1QAbc",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(NOW.timestamp()),
        "data": {"object": {"id": "pi_1", "object": "payment_intent", "status": "succeeded"}},
    }
).encode()


def test_valid_stripe_webhook_is_accepted() -> None:
    signature = _stripe_signature(EVENT, SECRET, int(NOW.timestamp()) - 30)
    event = StripeGateway("sk_test_x").verify_webhook(
        EVENT, {"Stripe-Signature": signature}, SECRET, NOW
    )
    assert (event.gateway, event.id, event.type) == (
        "stripe",
        "evt_1QAbc",
        "payment_intent.succeeded",
    )
    assert event.data["object"]["id"] == "pi_1"
    assert event.created == NOW
    # the SDK's own header generator agrees with ours
    sdk = stripe.WebhookSignature.generate_signature_header(
        EVENT.decode(), SECRET, int(NOW.timestamp())
    )
    assert sdk == _stripe_signature(EVENT, SECRET, int(NOW.timestamp()))


@pytest.mark.parametrize(
    ("payload", "secret", "age", "header"),
    [
        (EVENT.replace(b"succeeded", b"failed"), SECRET, 0, None),  # tampered body
        (EVENT, "whsec_other", 0, None),  # wrong secret
        (EVENT, SECRET, 301, None),  # stale: beyond the 5 minute tolerance
        (EVENT, SECRET, -301, None),  # from the future
        (EVENT, SECRET, 0, "t=1748779200,v1=deadbeef"),  # bad signature
        (EVENT, SECRET, 0, "v1=abc"),  # no timestamp
        (EVENT, SECRET, 0, ""),  # missing
    ],
)
def test_bad_stripe_webhooks_are_rejected(
    payload: bytes, secret: str, age: int, header: str | None
) -> None:
    signed_at = int(NOW.timestamp()) - age
    value = header if header is not None else _stripe_signature(EVENT, secret, signed_at)
    with pytest.raises(SignatureInvalid):
        StripeGateway("sk_test_x").verify_webhook(payload, {"stripe-signature": value}, SECRET, NOW)
