from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

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
from hisaab.payments.gateways.razorpay_gateway import RazorpayGateway, receipt_for
from tests.payments.fakes import FakeRazorpay

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SECRET = "rzp_webhook_secret"


def _gateway(fake: FakeRazorpay) -> RazorpayGateway:
    return RazorpayGateway(fake.key_id, fake.key_secret, base_url=fake.url, timeout=5)


def _customer(gateway: RazorpayGateway) -> str:
    return gateway.create_customer(
        CustomerRequest(
            reference="cus_01", name="Asha Rao", email="asha@example.in", phone="+919812345678"
        )
    )


def _charge(customer: str, token: str, key: str = "in_1:1") -> ChargeRequest:
    return ChargeRequest(
        amount=236000,
        currency="INR",
        customer_ref=customer,
        payment_method_ref=token,
        idempotency_key=key,
        description="Invoice HSB/2526/1",
        metadata={"invoice_id": "in_1"},
        customer_email="asha@example.in",
        customer_phone="+919812345678",
    )


def test_recurring_charge_on_a_token_succeeds(fake_razorpay: FakeRazorpay) -> None:
    gateway: PaymentGateway = _gateway(fake_razorpay)
    assert isinstance(gateway, RazorpayGateway)
    customer = _customer(gateway)
    assert customer == _customer(gateway)  # fail_existing=0: no duplicate customer
    assert len(fake_razorpay.customers) == 1
    method = gateway.attach_payment_method(customer, "token_upi_success")
    assert method.kind == "upi"
    card = gateway.attach_payment_method(customer, "token_card_success")
    assert (card.kind, card.brand, card.last4) == ("card", "visa", "1111")
    result = gateway.charge(_charge(customer, "token_upi_success"))
    assert result.status is ChargeStatus.SUCCEEDED
    payment = fake_razorpay.payments[result.gateway_charge_id or ""]
    assert payment["recurring"] is True
    order = fake_razorpay.orders[payment["order_id"]]
    assert (order["receipt"], order["status"], order["amount"]) == ("in_1:1", "paid", 236000)
    assert "POST /v1/payments/create/recurring" in fake_razorpay.paths()


@pytest.mark.parametrize(
    ("token", "status", "failure", "retryable"),
    [
        ("token_card_declined", ChargeStatus.FAILED, FailureCode.GENERIC_DECLINE, True),
        ("token_card_insufficient", ChargeStatus.FAILED, FailureCode.INSUFFICIENT_FUNDS, True),
        ("token_card_expired", ChargeStatus.FAILED, FailureCode.EXPIRED_CARD, False),
        (
            "token_card_authentication",
            ChargeStatus.REQUIRES_ACTION,
            FailureCode.AUTHENTICATION_REQUIRED,
            False,
        ),
    ],
)
def test_failed_recurring_payments_are_normalised(
    fake_razorpay: FakeRazorpay,
    token: str,
    status: ChargeStatus,
    failure: FailureCode,
    retryable: bool,
) -> None:
    gateway = _gateway(fake_razorpay)
    result = gateway.charge(_charge(_customer(gateway), token))
    assert result.status is status
    assert result.failure_code is failure
    assert result.retryable is retryable
    assert result.gateway_charge_id in fake_razorpay.payments


def test_same_key_never_pays_twice(fake_razorpay: FakeRazorpay) -> None:
    gateway = _gateway(fake_razorpay)
    customer = _customer(gateway)
    first = gateway.charge(_charge(customer, "token_card_success"))
    assert gateway.charge(_charge(customer, "token_card_success")) == first
    assert fake_razorpay.charges_created == 1
    assert len(fake_razorpay.orders) == 1
    declined = gateway.charge(_charge(customer, "token_card_declined", "in_2:1"))
    assert gateway.charge(_charge(customer, "token_card_declined", "in_2:1")) == declined
    assert fake_razorpay.charges_created == 2


def test_lost_answer_then_retry_finds_the_payment(fake_razorpay: FakeRazorpay) -> None:
    gateway = _gateway(fake_razorpay)
    customer = _customer(gateway)
    fake_razorpay.drop_path = "/v1/payments/create/recurring"  # paid, answer lost
    lost = gateway.charge(_charge(customer, "token_card_success"))
    assert fake_razorpay.drop_path is None
    assert lost.status is ChargeStatus.PROCESSING
    assert lost.failure_code is FailureCode.NETWORK_ERROR
    assert lost.retryable
    retried = gateway.charge(_charge(customer, "token_card_success"))
    assert retried.status is ChargeStatus.SUCCEEDED
    assert fake_razorpay.charges_created == 1


def test_guard_catches_calls_to_the_real_api(no_internet: list[str]) -> None:
    result = RazorpayGateway("rzp_test_x", "s").charge(_charge("cust_x", "token_card_success"))
    assert result.status is ChargeStatus.PROCESSING
    assert no_internet == ["api.razorpay.com"]
    no_internet.clear()


def test_long_idempotency_keys_fit_the_receipt() -> None:
    key = "in_01jd3k" + "x" * 60 + ":attempt_3"
    assert len(receipt_for(key)) == 40
    assert receipt_for(key) == receipt_for(key)
    assert receipt_for("short") == "short"


def test_refunds_are_deduplicated_by_receipt(fake_razorpay: FakeRazorpay) -> None:
    gateway = _gateway(fake_razorpay)
    charge = gateway.charge(_charge(_customer(gateway), "token_card_success"))
    assert charge.gateway_charge_id is not None
    request = RefundRequest(charge.gateway_charge_id, 10000, "INR", "cn_1")
    refund = gateway.refund(request)
    assert refund.status is RefundStatus.SUCCEEDED
    assert gateway.refund(request) == refund
    assert len(fake_razorpay.refunds) == 1
    too_much = gateway.refund(RefundRequest(charge.gateway_charge_id, 236000, "INR", "cn_2"))
    assert too_much.status is RefundStatus.FAILED


def test_bad_credentials_and_unknown_token(fake_razorpay: FakeRazorpay) -> None:
    wrong = RazorpayGateway("rzp_test_fake", "nope", base_url=fake_razorpay.url)
    with pytest.raises(GatewayConfigurationError):
        wrong.create_customer(CustomerRequest(reference="cus_1", name="A"))
    gateway = _gateway(fake_razorpay)
    with pytest.raises(GatewayConfigurationError):
        gateway.attach_payment_method(_customer(gateway), "token_nope")


# ------------------------------------------------------------------------------------ webhooks

EVENT = json.dumps(
    {
        "entity": "event",
        "account_id": "acc_BFQ7uQEaa7j2z7",
        "event": "payment.captured",
        "contains": ["payment"],
        "payload": {"payment": {"entity": {"id": "pay_1", "status": "captured"}}},
        "created_at": int(NOW.timestamp()),
    },
    separators=(",", ":"),
).encode()


def _razorpay_signature(payload: bytes, secret: str) -> str:
    """Exactly what Razorpay sends: hex HMAC-SHA256 of the raw body under the webhook secret."""
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def test_valid_razorpay_webhook_is_accepted() -> None:
    headers = {
        "X-Razorpay-Signature": _razorpay_signature(EVENT, SECRET),
        "X-Razorpay-Event-Id": "HkOlUu1GpUxyz",
    }
    event = RazorpayGateway("k", "s").verify_webhook(EVENT, headers, SECRET, NOW)
    assert (event.gateway, event.id, event.type) == (
        "razorpay",
        "HkOlUu1GpUxyz",
        "payment.captured",
    )
    assert event.data["payment"]["entity"]["id"] == "pay_1"
    assert event.created == NOW


@pytest.mark.parametrize(
    ("payload", "signature"),
    [
        (EVENT.replace(b"captured", b"failed"), _razorpay_signature(EVENT, SECRET)),  # tampered
        (EVENT, _razorpay_signature(EVENT, "another_secret")),  # wrong secret
        (EVENT, "0" * 64),  # bad signature
        (EVENT, ""),  # missing
    ],
)
def test_bad_razorpay_webhooks_are_rejected(payload: bytes, signature: str) -> None:
    with pytest.raises(SignatureInvalid):
        RazorpayGateway("k", "s").verify_webhook(
            payload, {"x-razorpay-signature": signature}, SECRET, NOW
        )
