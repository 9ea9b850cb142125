from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

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
    SandboxGateway,
    SignatureInvalid,
)
from hisaab.payments.gateways.sandbox import sign_webhook

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _charge(token: str, key: str = "pay_1:1", *, off_session: bool = True) -> ChargeRequest:
    return ChargeRequest(
        amount=50000,
        currency="INR",
        customer_ref="cus_sandbox_x",
        payment_method_ref=token,
        idempotency_key=key,
        off_session=off_session,
    )


@pytest.mark.parametrize(
    ("token", "status", "failure_code", "retryable"),
    [
        ("pm_card_visa", ChargeStatus.SUCCEEDED, None, False),
        ("pm_card_chargeDeclined", ChargeStatus.FAILED, FailureCode.GENERIC_DECLINE, True),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            ChargeStatus.FAILED,
            FailureCode.INSUFFICIENT_FUNDS,
            True,
        ),
        (
            "pm_card_authenticationRequired",
            ChargeStatus.REQUIRES_ACTION,
            FailureCode.AUTHENTICATION_REQUIRED,
            False,
        ),
        ("pm_upi_success", ChargeStatus.SUCCEEDED, None, False),
    ],
)
def test_every_api_token_has_its_outcome(
    token: str, status: ChargeStatus, failure_code: FailureCode | None, retryable: bool
) -> None:
    gateway: PaymentGateway = SandboxGateway()
    results = {gateway.charge(_charge(token)) for _ in range(3)}
    assert len(results) == 1  # deterministic
    (result,) = results
    assert result.status is status
    assert result.failure_code is failure_code
    assert result.retryable is retryable
    assert result.gateway_charge_id is not None
    assert result.gateway_charge_id.startswith("ch_sandbox_")


def test_authentication_required_on_session_asks_for_action_without_failing() -> None:
    result = SandboxGateway().charge(_charge("pm_card_authenticationRequired", off_session=False))
    assert result.status is ChargeStatus.REQUIRES_ACTION
    assert result.failure_code is None


def test_idempotency_key_decides_the_charge_id() -> None:
    gateway = SandboxGateway()
    first = gateway.charge(_charge("pm_card_visa", "inv_1:attempt_1"))
    again = SandboxGateway().charge(_charge("pm_card_visa", "inv_1:attempt_1"))
    other = gateway.charge(_charge("pm_card_visa", "inv_1:attempt_2"))
    assert first.gateway_charge_id == again.gateway_charge_id
    assert other.gateway_charge_id != first.gateway_charge_id


def test_unknown_token_cannot_be_attached_and_fails_a_charge() -> None:
    gateway = SandboxGateway()
    with pytest.raises(GatewayConfigurationError):
        gateway.attach_payment_method("cus_sandbox_x", "pm_card_bogus")
    result = gateway.charge(_charge("pm_card_bogus"))
    assert result.status is ChargeStatus.FAILED
    assert result.failure_code is FailureCode.INVALID_REQUEST
    assert not result.retryable


def test_customers_methods_and_refunds() -> None:
    gateway = SandboxGateway()
    customer = gateway.create_customer(CustomerRequest(reference="cus_1", name="Asha"))
    assert customer == gateway.create_customer(CustomerRequest(reference="cus_1", name="Asha"))
    assert gateway.attach_payment_method(customer, "pm_upi_success").kind == "upi"
    assert gateway.attach_payment_method(customer, "pm_card_visa").last4 == "4242"
    charge = gateway.charge(_charge("pm_card_visa"))
    assert charge.gateway_charge_id is not None
    refund = gateway.refund(RefundRequest(charge.gateway_charge_id, 100, "INR", "cn_1"))
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund == gateway.refund(RefundRequest(charge.gateway_charge_id, 100, "INR", "cn_1"))
    bad = gateway.refund(RefundRequest("ch_other", 100, "INR", "cn_2"))
    assert bad.status is RefundStatus.FAILED


@pytest.mark.parametrize("amount", [0, -1, True])
def test_charge_request_rejects_bad_amounts(amount: int) -> None:
    with pytest.raises(ValueError, match="minor units"):
        _charge_with_amount(amount)


def _charge_with_amount(amount: int) -> ChargeRequest:
    return ChargeRequest(amount, "INR", "c", "pm_card_visa", "k")


def test_webhook_signature() -> None:
    gateway = SandboxGateway()
    body = json.dumps({"id": "evt_1", "type": "charge.succeeded", "data": {"a": 1}}).encode()
    stamp = int(NOW.timestamp())
    good = {"sandbox-signature": sign_webhook(body, "whsec_a", stamp)}
    event = gateway.verify_webhook(body, good, "whsec_a", NOW)
    assert (event.id, event.type, event.data) == ("evt_1", "charge.succeeded", {"a": 1})
    with pytest.raises(SignatureInvalid):
        gateway.verify_webhook(body + b" ", good, "whsec_a", NOW)
    with pytest.raises(SignatureInvalid):
        gateway.verify_webhook(body, good, "whsec_b", NOW)
    with pytest.raises(SignatureInvalid):
        gateway.verify_webhook(body, good, "whsec_a", NOW + timedelta(minutes=6))
    with pytest.raises(SignatureInvalid):
        gateway.verify_webhook(body, {}, "whsec_a", NOW)
