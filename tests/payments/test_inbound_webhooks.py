"""Gateway webhooks through HTTP, and refunds of credit notes through the gateways.

Real PostgreSQL, the real Stripe and Razorpay SDKs against the local fakes
(tests/payments/fakes.py), webhooks signed exactly as the gateways sign them.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hisaab.core.ids import new_id
from hisaab.db import Database
from hisaab.payments import refunds
from hisaab.payments.gateways import registry
from hisaab.payments.gateways.razorpay_gateway import receipt_for
from hisaab.payments.models import GatewayEvent, PaymentAttempt, Refund
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing
from tests.payments.fakes import CREATED, FakeRazorpay, FakeStripe

STRIPE_SECRET = "whsec_inboundTestSecret1"
RAZORPAY_SECRET = "rzp_inbound_webhook_secret"
_PLANS = itertools.count()
AMOUNT = 50_000  # ₹500, an export under LUT: no GST, so the invoice total is the plan price


# ------------------------------------------------------------------------------------ plumbing


@pytest.fixture
def gateways(fake_stripe: FakeStripe, fake_razorpay: FakeRazorpay) -> Iterator[None]:
    registry.configure(registry.ApiBases(stripe=fake_stripe.url, razorpay=fake_razorpay.url))
    yield
    registry.configure(registry.ApiBases())


def _configure(
    tenant: TenantHandle, fake_stripe: FakeStripe, fake_razorpay: FakeRazorpay, **secrets: str
) -> None:
    body = {
        "gateways": {
            "stripe": {
                "secret_key": fake_stripe.api_key,
                "webhook_secret": secrets.get("stripe", STRIPE_SECRET),
            },
            "razorpay": {
                "key_id": fake_razorpay.key_id,
                "key_secret": fake_razorpay.key_secret,
                "webhook_secret": secrets.get("razorpay", RAZORPAY_SECRET),
            },
        }
    }
    response = tenant.http.patch("/v1/tenant", json=body)
    assert response.status_code == 200, response.text


@pytest.fixture
def merchant(
    tenant: TenantHandle, gateways: None, fake_stripe: FakeStripe, fake_razorpay: FakeRazorpay
) -> TenantHandle:
    """A tenant with Stripe and Razorpay accounts (the fakes) and their webhook secrets."""
    _configure(tenant, fake_stripe, fake_razorpay)
    return tenant


def _stripe_event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    body = {
        "id": event_id or f"evt_{new_id('gwe')[4:]}",
        "object": "event",
        "type": event_type,
        "created": CREATED,
        "livemode": False,
        "api_version": "2024-06-20",
        "data": {"object": obj},
    }
    return json.dumps(body).encode()


def _stripe_post(
    client: TestClient,
    tenant_id: str,
    payload: bytes,
    secret: str = STRIPE_SECRET,
    age: int = 5,
    signature: str | None = None,
) -> Any:
    """What Stripe sends: `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`."""
    timestamp = int(time.time()) - age
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    header = signature if signature is not None else f"t={timestamp},v1={mac.hexdigest()}"
    return client.post(
        f"/v1/gateways/stripe/webhooks/{tenant_id}",
        content=payload,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def _razorpay_event(event_type: str, **entities: dict[str, Any]) -> bytes:
    body = {
        "entity": "event",
        "account_id": "acc_BFQ7uQEaa7j2z7",
        "event": event_type,
        "contains": list(entities),
        "payload": {name: {"entity": entity} for name, entity in entities.items()},
        "created_at": CREATED,
    }
    return json.dumps(body).encode()


def _razorpay_post(
    client: TestClient,
    tenant_id: str,
    payload: bytes,
    event_id: str,
    secret: str = RAZORPAY_SECRET,
) -> Any:
    """What Razorpay sends: hex HMAC-SHA256 of the raw body, and the event's id."""
    signature = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return client.post(
        f"/v1/gateways/razorpay/webhooks/{tenant_id}",
        content=payload,
        headers={
            "X-Razorpay-Signature": signature,
            "X-Razorpay-Event-Id": event_id,
            "Content-Type": "application/json",
        },
    )


def _open_invoice(tenant: TenantHandle, run_jobs: Any) -> dict[str, Any]:
    """An invoice waiting for money, with no try of ours yet."""
    billing = Billing.invoiced(tenant, run_jobs)
    customer = billing.customer(None)
    sub = billing.subscribe(customer, billing.plan(f"pro{next(_PLANS)}", AMOUNT))
    invoice: dict[str, Any] = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    assert (invoice["status"], invoice["amount_remaining"]) == ("open", AMOUNT)
    return invoice


def _attempt(
    database: Database,
    tenant_id: str,
    invoice: dict[str, Any],
    gateway: str,
    charge_id: str | None,
    status: str = "processing",
) -> str:
    """A try that reached the gateway and waits for its webhook (a UPI debit, a 3-D Secure
    challenge, a lost answer): what the charging code leaves behind in those cases."""
    now = datetime.now(UTC)
    payment_id = new_id("pay")
    with database.transaction(tenant_id) as session:
        session.add(
            PaymentAttempt(
                tenant_id=tenant_id,
                id=payment_id,
                invoice_id=invoice["id"],
                customer_id=invoice["customer_id"],
                test_clock_id=None,
                attempt_number=1,
                reason="initial",
                amount=invoice["amount_remaining"],
                currency=invoice["currency"],
                payment_method_id=None,
                gateway=gateway,
                off_session=True,
                idempotency_key=f"test-{payment_id}",
                status=status,
                gateway_charge_id=charge_id,
                retryable=False,
                scheduled_at=now,
                created_at=now,
            )
        )
    return payment_id


def _stored(database: Database, tenant_id: str) -> int:
    with database.transaction(tenant_id) as session:
        return int(session.scalar(select(func.count()).select_from(GatewayEvent)) or 0)


def _events(tenant: TenantHandle, object_id: str) -> list[str]:
    found = tenant.http.get("/v1/events", params={"object_id": object_id, "limit": 100})
    assert found.status_code == 200, found.text
    return [e["type"] for e in reversed(found.json()["data"])]


def _payment(tenant: TenantHandle, payment_id: str) -> dict[str, Any]:
    response = tenant.http.get(f"/v1/payments/{payment_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _invoice(tenant: TenantHandle, invoice_id: str) -> dict[str, Any]:
    response = tenant.http.get(f"/v1/invoices/{invoice_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ------------------------------------------------------------------------------ authenticity


def test_bad_signatures_are_400_and_change_nothing(
    client: TestClient,
    merchant: TenantHandle,
    other_tenant: TenantHandle,
    fake_stripe: FakeStripe,
    fake_razorpay: FakeRazorpay,
    database: Database,
    run_jobs: Any,
) -> None:
    _configure(other_tenant, fake_stripe, fake_razorpay, stripe="whsec_otherTenantSecret")
    invoice = _open_invoice(merchant, run_jobs)
    payment_id = _attempt(database, merchant.id, invoice, "stripe", "pi_waiting")
    payload = _stripe_event("payment_intent.succeeded", {"id": "pi_waiting", "status": "succeeded"})
    tampered = payload.replace(b"pi_waiting", b"pi_elsewhere")
    rzp = _razorpay_event("payment.captured", payment={"id": "pay_x", "status": "captured"})
    rzp_signature = hmac.new(RAZORPAY_SECRET.encode(), rzp, hashlib.sha256).hexdigest()
    answers = {
        "wrong secret": _stripe_post(client, merchant.id, payload, secret="whsec_someoneElse1"),
        "stale": _stripe_post(client, merchant.id, payload, age=301),
        "from the future": _stripe_post(client, merchant.id, payload, age=-400),
        "no signature": _stripe_post(client, merchant.id, payload, signature=""),
        "garbage signature": _stripe_post(client, merchant.id, payload, signature="t=1,v1=00"),
        "tampered body": client.post(
            f"/v1/gateways/stripe/webhooks/{merchant.id}",
            content=tampered,
            headers={"Stripe-Signature": _sign(payload)},
        ),
        "razorpay wrong secret": _razorpay_post(
            client, merchant.id, rzp, "evt_rzp_1", secret="someone_else"
        ),
        "razorpay tampered": client.post(
            f"/v1/gateways/razorpay/webhooks/{merchant.id}",
            content=rzp.replace(b"pay_x", b"pay_y"),
            headers={"X-Razorpay-Signature": rzp_signature, "X-Razorpay-Event-Id": "evt_rzp_2"},
        ),
        # Signed with the merchant's secret, sent to another tenant's URL.
        "other tenant's url": _stripe_post(client, other_tenant.id, payload),
    }
    for name, response in answers.items():
        assert response.status_code == 400, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json", name
        assert response.json()["code"] == "webhook_signature_invalid", (name, response.json())
    assert _stored(database, merchant.id) == 0
    assert _stored(database, other_tenant.id) == 0
    assert _payment(merchant, payment_id)["status"] == "processing"
    assert _invoice(merchant, invoice["id"])["status"] == "open"


def _sign(payload: bytes, secret: str = STRIPE_SECRET) -> str:
    timestamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def test_unknown_tenants_and_missing_secrets_are_400(
    client: TestClient,
    tenant: TenantHandle,
    gateways: None,
    fake_stripe: FakeStripe,
    fake_razorpay: FakeRazorpay,
) -> None:
    payload = _stripe_event("payment_intent.succeeded", {"id": "pi_1"})
    for tenant_id in (new_id("ten"), "ten_nonsense", "not-a-tenant", "ten_%00"):
        response = _stripe_post(client, tenant_id, payload)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "unknown_tenant"
    # A tenant with no gateway configured, then with Stripe but no webhook secret.
    assert _stripe_post(client, tenant.id, payload).json()["code"] == (
        "webhook_secret_not_configured"
    )
    keys = {"secret_key": fake_stripe.api_key}
    assert tenant.http.patch("/v1/tenant", json={"gateways": {"stripe": keys}}).status_code == 200
    response = _stripe_post(client, tenant.id, payload)
    assert (response.status_code, response.json()["code"]) == (400, "webhook_secret_not_configured")
    rzp = _razorpay_event("payment.captured", payment={"id": "pay_1"})
    response = _razorpay_post(client, tenant.id, rzp, "evt_1")
    assert (response.status_code, response.json()["code"]) == (400, "webhook_secret_not_configured")


# --------------------------------------------------------------------------------- payments


def test_stripe_success_is_applied_once_however_often_delivered(
    client: TestClient, merchant: TenantHandle, database: Database, run_jobs: Any
) -> None:
    invoice = _open_invoice(merchant, run_jobs)
    payment_id = _attempt(database, merchant.id, invoice, "stripe", "pi_3ds")
    payload = _stripe_event(
        "payment_intent.succeeded", {"id": "pi_3ds", "status": "succeeded"}, "evt_success_1"
    )
    answers = [_stripe_post(client, merchant.id, payload).json() for _ in range(3)]
    assert [(a["outcome"], a["duplicate"]) for a in answers] == [
        ("applied", False),
        ("applied", True),
        ("applied", True),
    ]
    assert {a["id"] for a in answers} == {answers[0]["id"]}
    assert answers[0]["object_id"] == payment_id
    assert _stored(database, merchant.id) == 1
    assert _payment(merchant, payment_id)["status"] == "succeeded"
    paid = _invoice(merchant, invoice["id"])
    assert (paid["status"], paid["amount_paid"]) == ("paid", AMOUNT)
    assert _events(merchant, payment_id).count("payment.succeeded") == 1
    assert _events(merchant, invoice["id"]).count("invoice.paid") == 1


def test_a_failure_after_the_success_changes_nothing(
    client: TestClient, merchant: TenantHandle, database: Database, run_jobs: Any
) -> None:
    invoice = _open_invoice(merchant, run_jobs)
    payment_id = _attempt(database, merchant.id, invoice, "stripe", "pi_late")
    succeeded = _stripe_event("payment_intent.succeeded", {"id": "pi_late"})
    failed = _stripe_event(
        "payment_intent.payment_failed",
        {
            "id": "pi_late",
            "status": "requires_payment_method",
            "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"},
        },
    )
    assert _stripe_post(client, merchant.id, succeeded).json()["outcome"] == "applied"
    late = _stripe_post(client, merchant.id, failed).json()
    assert (late["outcome"], late["duplicate"]) == ("unchanged", False)
    payment = _payment(merchant, payment_id)
    assert (payment["status"], payment["failure_code"]) == ("succeeded", None)
    assert _invoice(merchant, invoice["id"])["status"] == "paid"
    assert "payment.failed" not in _events(merchant, payment_id)
    assert _stored(database, merchant.id) == 2


def test_a_success_after_a_failure_of_the_same_charge_is_recorded(
    client: TestClient, merchant: TenantHandle, database: Database, run_jobs: Any
) -> None:
    """Razorpay may capture a payment it first reported failed: the money was taken."""
    invoice = _open_invoice(merchant, run_jobs)
    payment_id = _attempt(database, merchant.id, invoice, "razorpay", "pay_upi_1")
    failed = _razorpay_event(
        "payment.failed",
        payment={
            "id": "pay_upi_1",
            "status": "failed",
            "error_reason": "payment_timed_out",
            "error_description": "The bank did not answer in time.",
        },
    )
    captured = _razorpay_event(
        "payment.captured", payment={"id": "pay_upi_1", "status": "captured"}
    )
    first = _razorpay_post(client, merchant.id, failed, "evt_failed").json()
    assert first["outcome"] == "applied"
    payment = _payment(merchant, payment_id)
    assert (payment["status"], payment["failure_code"]) == ("failed", "processing_error")
    for _ in range(2):
        _razorpay_post(client, merchant.id, captured, "evt_captured")
    payment = _payment(merchant, payment_id)
    assert (payment["status"], payment["failure_code"]) == ("succeeded", None)
    assert _invoice(merchant, invoice["id"])["status"] == "paid"
    assert _events(merchant, payment_id) == ["payment.failed", "payment.succeeded"]
    # ... and the failure redelivered afterwards changes nothing.
    assert _razorpay_post(client, merchant.id, failed, "evt_failed").json()["duplicate"] is True
    assert _razorpay_post(client, merchant.id, failed, "evt_failed_again").json()["outcome"] == (
        "unchanged"
    )
    assert _payment(merchant, payment_id)["status"] == "succeeded"


def test_a_try_that_lost_its_answer_is_found_by_its_metadata(
    client: TestClient, merchant: TenantHandle, database: Database, run_jobs: Any
) -> None:
    invoice = _open_invoice(merchant, run_jobs)
    payment_id = _attempt(database, merchant.id, invoice, "stripe", None)
    payload = _stripe_event(
        "payment_intent.succeeded",
        {"id": "pi_found", "status": "succeeded", "metadata": {"hisaab_payment_id": payment_id}},
    )
    assert _stripe_post(client, merchant.id, payload).json()["outcome"] == "applied"
    payment = _payment(merchant, payment_id)
    assert (payment["status"], payment["gateway_charge_id"]) == ("succeeded", "pi_found")


def test_unknown_and_foreign_events_are_kept_and_ignored(
    client: TestClient, merchant: TenantHandle, database: Database
) -> None:
    unknown = _stripe_event("customer.subscription.created", {"id": "sub_1"})
    foreign = _stripe_event("payment_intent.succeeded", {"id": "pi_not_ours"})
    rzp_unknown = _razorpay_event("order.paid", order={"id": "order_1"})
    assert _stripe_post(client, merchant.id, unknown).json()["outcome"] == "ignored"
    assert _stripe_post(client, merchant.id, foreign).json()["outcome"] == "unmatched"
    assert _razorpay_post(client, merchant.id, rzp_unknown, "e1").json()["outcome"] == "ignored"
    assert _stored(database, merchant.id) == 3


def test_disputes_are_recorded_once(
    client: TestClient, merchant: TenantHandle, database: Database, run_jobs: Any
) -> None:
    for gateway in ("stripe", "razorpay"):
        invoice = _open_invoice(merchant, run_jobs)
        charge = f"{gateway}_charge_1"
        payment_id = _attempt(database, merchant.id, invoice, gateway, charge, "succeeded")
        for event_id in ("evt_dispute_1", "evt_dispute_1", "evt_dispute_2"):
            if gateway == "stripe":
                payload = _stripe_event(
                    "charge.dispute.created",
                    {"id": "dp_1", "charge": "ch_1", "payment_intent": charge, "status": "open"},
                    event_id,
                )
                _stripe_post(client, merchant.id, payload)
            else:
                payload = _razorpay_event(
                    "payment.dispute.created",
                    payment={"id": charge},
                    dispute={"id": "disp_1", "payment_id": charge, "phase": "chargeback"},
                )
                _razorpay_post(client, merchant.id, payload, event_id)
        assert _payment(merchant, payment_id)["disputed_at"] is not None
        assert _events(merchant, payment_id) == ["payment.disputed"]


# ---------------------------------------------------------------------------------- refunds


def test_stripe_end_to_end_charge_and_refund(
    client: TestClient,
    merchant: TenantHandle,
    fake_stripe: FakeStripe,
    database: Database,
    run_jobs: Any,
) -> None:
    billing = Billing(merchant, run_jobs, payment_method=None)
    customer = billing.customer(None)
    method = {"gateway": "stripe", "token": "pm_card_visa", "default": True}
    billing.post(f"/v1/customers/{customer}/payment_methods", method, 201)
    sub = billing.subscribe(customer, billing.plan("pro", AMOUNT))
    invoice = _invoice(merchant, sub["latest_invoice_id"])
    assert invoice["status"] == "paid"
    assert fake_stripe.charges_created == 1
    [payment] = billing.get("/v1/payments", invoice_id=invoice["id"])["data"]
    assert payment["gateway_charge_id"] in fake_stripe.intents

    note = billing.post(
        "/v1/credit_notes",
        {"invoice_id": invoice["id"], "reason": "duplicate", "amount": 20_000, "refund": True},
        201,
    )
    assert note["refunded"] == 20_000
    pending = _payment(merchant, payment["id"])
    assert pending["refunded_amount"] == 20_000
    assert [r["status"] for r in pending["refunds"]] == ["pending"]
    assert fake_stripe.refunds == {}  # the gateway is asked by the job, after the commit
    run_jobs()
    [refund] = fake_stripe.refunds.values()
    assert (refund["amount"], refund["payment_intent"]) == (20_000, payment["gateway_charge_id"])
    done = _payment(merchant, payment["id"])
    assert done["refunded_amount"] == 20_000
    [ours] = done["refunds"]
    assert (ours["status"], ours["gateway_refund_id"], ours["credit_note_id"]) == (
        "succeeded",
        refund["id"],
        note["id"],
    )
    assert _events(merchant, payment["id"]).count("payment.refunded") == 1

    # A duplicate job, or the job run again, never refunds twice.
    with database.transaction(merchant.id) as session:
        assert refunds.send(session, merchant.id, ours["id"]) is True
    run_jobs()
    assert len(fake_stripe.refunds) == 1
    # Stripe's own webhook for the refund finds it settled.
    updated = _stripe_event("refund.updated", {**refund, "status": "succeeded"})
    assert _stripe_post(client, merchant.id, updated).json()["outcome"] == "unchanged"
    # The rest of the invoice, then nothing is left to give back.
    billing.post(
        "/v1/credit_notes",
        {"invoice_id": invoice["id"], "reason": "duplicate", "refund": True},
        201,
    )
    run_jobs()
    assert sorted(r["amount"] for r in fake_stripe.refunds.values()) == [20_000, 30_000]
    assert _payment(merchant, payment["id"])["refunded_amount"] == AMOUNT
    assert _events(merchant, payment["id"]).count("payment.refunded") == 2


def test_razorpay_refund_with_a_lost_answer_is_settled_by_its_webhook(
    client: TestClient,
    merchant: TenantHandle,
    fake_razorpay: FakeRazorpay,
    database: Database,
    run_jobs: Any,
) -> None:
    invoice = _open_invoice(merchant, run_jobs)
    fake_razorpay.payments["pay_rzp_1"] = {
        "id": "pay_rzp_1",
        "entity": "payment",
        "amount": AMOUNT,
        "currency": "INR",
        "status": "captured",
        "order_id": "order_1",
    }
    payment_id = _attempt(database, merchant.id, invoice, "razorpay", "pay_rzp_1")
    captured = _razorpay_event("payment.captured", payment=fake_razorpay.payments["pay_rzp_1"])
    assert _razorpay_post(client, merchant.id, captured, "evt_cap").json()["outcome"] == "applied"
    assert _invoice(merchant, invoice["id"])["status"] == "paid"

    fake_razorpay.drop_path = "/v1/payments/pay_rzp_1/refund"  # refunded, but the answer is lost
    note = merchant.http.post(
        "/v1/credit_notes",
        json={"invoice_id": invoice["id"], "reason": "duplicate", "refund": True},
    )
    assert note.status_code == 201, note.text
    run_jobs()
    [made] = fake_razorpay.refunds.values()
    [ours] = _payment(merchant, payment_id)["refunds"]
    assert (ours["status"], ours["gateway_refund_id"]) == ("pending", None)
    assert made["receipt"] == receipt_for(_idempotency_key(database, merchant.id, ours["id"]))

    processed = _razorpay_event("refund.processed", refund=made)
    answer = _razorpay_post(client, merchant.id, processed, "evt_refund")
    assert (answer.json()["outcome"], answer.json()["object_id"]) == ("applied", ours["id"])
    payment = _payment(merchant, payment_id)
    assert (payment["refunds"][0]["status"], payment["refunds"][0]["gateway_refund_id"]) == (
        "succeeded",
        made["id"],
    )
    assert payment["refunded_amount"] == AMOUNT
    assert _events(merchant, payment_id).count("payment.refunded") == 1
    # The retried job finds it settled and asks Razorpay nothing.
    asked = len(fake_razorpay.requests)
    with database.transaction(merchant.id) as session:
        assert refunds.send(session, merchant.id, ours["id"]) is True
    assert len(fake_razorpay.requests) == asked
    assert len(fake_razorpay.refunds) == 1


def _idempotency_key(database: Database, tenant_id: str, refund_id: str) -> str:
    with database.transaction(tenant_id) as session:
        refund = session.get(Refund, (tenant_id, refund_id))
        assert refund is not None
        return refund.idempotency_key


def test_a_refund_the_gateway_refuses_gives_the_money_back_to_the_payment(
    client: TestClient, merchant: TenantHandle, database: Database, run_jobs: Any
) -> None:
    """The fake knows no such PaymentIntent: Stripe refuses, the refund fails, nothing is
    reserved any more; a later Stripe webhook saying otherwise is not believed over it."""
    invoice = _open_invoice(merchant, run_jobs)
    payment_id = _attempt(database, merchant.id, invoice, "stripe", "pi_unknown_to_stripe")
    _stripe_post(
        client,
        merchant.id,
        _stripe_event("payment_intent.succeeded", {"id": "pi_unknown_to_stripe"}),
    )
    merchant.http.post(
        "/v1/credit_notes",
        json={"invoice_id": invoice["id"], "reason": "duplicate", "refund": True},
    )
    run_jobs()
    payment = _payment(merchant, payment_id)
    assert payment["refunded_amount"] == 0
    assert [(r["status"], r["failure_code"]) for r in payment["refunds"]] == [
        ("failed", "invalid_request")
    ]
    assert "payment.refunded" not in _events(merchant, payment_id)


def test_an_invoice_paid_out_of_band_is_refunded_outside_hisaab(
    merchant: TenantHandle, fake_stripe: FakeStripe, run_jobs: Any
) -> None:
    """Paid out of band: the credit note records the refund, no gateway is asked."""
    invoice = _open_invoice(merchant, run_jobs)
    merchant.http.post(f"/v1/invoices/{invoice['id']}/pay", json={"paid_out_of_band": True})
    note = merchant.http.post(
        "/v1/credit_notes",
        json={"invoice_id": invoice["id"], "reason": "duplicate", "refund": True},
    )
    assert note.status_code == 201, note.text
    assert note.json()["refunded"] == AMOUNT
    run_jobs()
    assert fake_stripe.refunds == {}


@pytest.mark.parametrize(
    ("token", "status", "failure"),
    [
        ("token_upi_success", "paid", None),
        ("token_card_insufficient", "open", "insufficient_funds"),
    ],
)
def test_razorpay_recurring_charge_end_to_end(
    merchant: TenantHandle,
    fake_razorpay: FakeRazorpay,
    run_jobs: Any,
    token: str,
    status: str,
    failure: str | None,
) -> None:
    """A customer with a Razorpay token (and the phone number Razorpay requires) is charged
    through the SDK against the fake: an order, then a recurring payment."""
    billing = Billing(merchant, run_jobs, payment_method=None)
    customer = billing.customer(None, country="US", phone="+14155550123")
    method = {"gateway": "razorpay", "token": token, "default": True}
    billing.post(f"/v1/customers/{customer}/payment_methods", method, 201)
    sub = billing.subscribe(customer, billing.plan("pro", AMOUNT))
    invoice = _invoice(merchant, sub["latest_invoice_id"])
    assert invoice["status"] == status
    payment = billing.get("/v1/payments", invoice_id=invoice["id"])["data"][-1]
    assert (payment["attempt_number"], payment["gateway"]) == (1, "razorpay")
    assert payment["failure_code"] == failure
    assert payment["gateway_charge_id"] in fake_razorpay.payments
    assert fake_razorpay.charges_created == 1
    [charge] = fake_razorpay.payments.values()
    assert charge["amount"] == invoice["total"]
    [recurring] = [r for r in fake_razorpay.requests if r.path == "/v1/payments/create/recurring"]
    assert recurring.body["contact"] == "+14155550123"
