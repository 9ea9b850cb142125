"""Getting paid end to end on test clocks: charges, dunning on the tenant's schedule, recovery by
a new card, the final action, and the RBI rules for Indian mandates."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import TenantHandle
from tests.e2e.billing import Billing

PRO = 200000  # ₹2,000.00


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing(tenant, run_jobs)


def payments(billing: Billing, invoice_id: str) -> list[dict[str, Any]]:
    found = billing.get("/v1/payments", invoice_id=invoice_id, limit=100)
    return sorted(found["data"], key=lambda p: p["attempt_number"])


def tried(billing: Billing, invoice_id: str) -> list[tuple[str, str]]:
    """(day, status) of each try that reached its time."""
    return [
        (p["scheduled_at"][:10], p["status"])
        for p in payments(billing, invoice_id)
        if p["status"] != "scheduled"
    ]


def renewal_with_card(billing: Billing, card: str, **customer: Any) -> tuple[str, str, str]:
    """A subscription paid at signup whose card then starts to fail; advanced to the renewal.
    Returns (clock, subscription, renewal invoice)."""
    clock = billing.clock("2026-03-01T09:00:00Z")
    customer_id = billing.customer(clock, **customer)
    sub = billing.subscribe(customer_id, billing.plan("pro", PRO))
    assert sub["status"] == "active"
    assert billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")["status"] == "paid"
    billing.pay_with(customer_id, card)
    billing.advance(clock, "2026-04-01T09:00:00Z")
    renewal = billing.invoices(sub["id"])[-1]
    assert renewal["period_start"] == "2026-04-01T09:00:00Z"
    return clock, sub["id"], renewal["id"]


def test_declined_card_is_retried_on_days_1_3_5_then_canceled(billing: Billing) -> None:
    clock, sub, invoice = renewal_with_card(billing, "pm_card_chargeDeclined")
    assert billing.subscription(sub)["status"] == "past_due"
    assert tried(billing, invoice) == [("2026-04-01", "failed")]
    failed = payments(billing, invoice)[0]
    assert (failed["failure_code"], failed["gateway"]) == ("generic_decline", "sandbox")
    assert failed["amount"] == PRO

    billing.advance(clock, "2026-04-03T12:00:00Z")
    assert tried(billing, invoice) == [("2026-04-01", "failed"), ("2026-04-02", "failed")]
    assert billing.subscription(sub)["status"] == "past_due"

    billing.advance(clock, "2026-04-05T12:00:00Z")
    assert len(tried(billing, invoice)) == 3
    assert billing.subscription(sub)["status"] == "past_due"

    billing.advance(clock, "2026-04-20T00:00:00Z")
    assert tried(billing, invoice) == [
        ("2026-04-01", "failed"),
        ("2026-04-02", "failed"),
        ("2026-04-04", "failed"),
        ("2026-04-06", "failed"),
    ]
    attempts = payments(billing, invoice)
    assert [p["attempt_number"] for p in attempts] == [1, 2, 3, 4]
    assert [p["reason"] for p in attempts] == ["initial", "retry", "retry", "retry"]
    assert len({p["id"] for p in attempts}) == 4
    subscription = billing.subscription(sub)
    assert subscription["status"] == "canceled"
    assert subscription["ended_at"] == "2026-04-06T09:00:00Z"
    assert billing.get(f"/v1/invoices/{invoice}")["status"] == "open", "still owed"
    events = billing.events(sub)
    assert events.count("subscription.past_due") == 1
    assert events[-1] == "subscription.canceled"
    assert billing.events(invoice).count("invoice.payment_failed") == 4


def test_a_new_card_mid_dunning_recovers_the_subscription(billing: Billing) -> None:
    clock, sub, invoice = renewal_with_card(billing, "pm_card_chargeDeclinedInsufficientFunds")
    billing.advance(clock, "2026-04-03T00:00:00Z")
    assert tried(billing, invoice) == [("2026-04-01", "failed"), ("2026-04-02", "failed")]
    assert payments(billing, invoice)[0]["failure_code"] == "insufficient_funds"
    assert billing.subscription(sub)["status"] == "past_due"

    customer = billing.get(f"/v1/invoices/{invoice}")["customer_id"]
    billing.pay_with(customer, "pm_card_visa")  # the customer updates their card

    paid = billing.get(f"/v1/invoices/{invoice}")
    assert paid["status"] == "paid"
    assert paid["paid_at"] == "2026-04-03T00:00:00Z"
    assert billing.subscription(sub)["status"] == "active"
    attempts = payments(billing, invoice)
    assert [(p["reason"], p["status"]) for p in attempts] == [
        ("initial", "failed"),
        ("retry", "failed"),
        ("retry", "canceled"),  # day 3 was still ahead: called off, never sent
        ("payment_method_updated", "succeeded"),
    ]
    billing.advance(clock, "2026-04-20T00:00:00Z")
    assert len(payments(billing, invoice)) == 4, "nothing more is tried on a paid invoice"
    assert billing.subscription(sub)["status"] == "active"
    assert billing.events(sub).count("subscription.updated") >= 1


@pytest.mark.parametrize(
    ("final_action", "status"), [("unpaid", "unpaid"), ("past_due", "past_due")]
)
def test_final_action_is_the_tenants(billing: Billing, final_action: str, status: str) -> None:
    response = billing.tenant.http.patch(
        "/v1/tenant", json={"dunning": {"retry_days": [2], "final_action": final_action}}
    )
    assert response.status_code == 200, response.text
    clock, sub, invoice = renewal_with_card(billing, "pm_card_chargeDeclined")
    billing.advance(clock, "2026-04-10T00:00:00Z")
    assert tried(billing, invoice) == [("2026-04-01", "failed"), ("2026-04-03", "failed")]
    assert billing.subscription(sub)["status"] == status
    # An unpaid subscription still renews, but its invoices wait for the customer.
    billing.advance(clock, "2026-05-02T00:00:00Z")
    may = billing.invoices(sub)[-1]
    assert may["period_start"] == "2026-05-01T09:00:00Z"
    expected = 0 if status == "unpaid" else 1
    assert len(tried(billing, may["id"])) == expected


def test_a_hard_decline_is_not_retried_and_asks_the_customer(billing: Billing) -> None:
    clock, sub, invoice = renewal_with_card(billing, "pm_card_authenticationRequired")
    first = payments(billing, invoice)
    assert [(p["status"], p["failure_code"]) for p in first] == [
        ("requires_action", "authentication_required")
    ]
    assert first[0]["action_url"].startswith("http")
    assert billing.subscription(sub)["status"] == "past_due"
    billing.advance(clock, "2026-04-05T00:00:00Z")
    assert len(payments(billing, invoice)) == 1, "the same card would fail the same way"
    billing.advance(clock, "2026-04-07T00:00:00Z")
    assert billing.subscription(sub)["status"] == "canceled", "final action on the last day"
    assert "invoice.payment_action_required" in billing.events(invoice)


def test_a_declined_first_payment_leaves_the_subscription_incomplete(billing: Billing) -> None:
    clock = billing.clock("2026-03-01T09:00:00Z")
    customer = billing.customer(clock, payment_method="pm_card_chargeDeclined")
    sub = billing.subscribe(customer, billing.plan("pro", PRO))
    assert sub["status"] == "incomplete"
    invoice = sub["latest_invoice_id"]
    assert tried(billing, invoice) == [("2026-03-01", "failed")]
    billing.advance(clock, "2026-03-02T10:00:00Z")
    assert len(tried(billing, invoice)) == 2
    billing.pay_with(customer, "pm_card_visa")
    assert billing.subscription(sub["id"])["status"] == "active"
    assert billing.get(f"/v1/invoices/{invoice}")["status"] == "paid"


def test_a_first_payment_that_never_succeeds_cancels(billing: Billing) -> None:
    clock = billing.clock("2026-03-01T09:00:00Z")
    customer = billing.customer(clock, payment_method=None)
    sub = billing.subscribe(customer, billing.plan("pro", PRO))
    assert sub["status"] == "incomplete"
    assert payments(billing, sub["latest_invoice_id"])[0]["failure_code"] == "no_payment_method"
    billing.advance(clock, "2026-03-10T00:00:00Z")
    assert billing.subscription(sub["id"])["status"] == "canceled"


def test_paying_an_invoice_charges_the_default_card_now(
    tenant: TenantHandle, run_jobs: Any
) -> None:
    billing = Billing(tenant, run_jobs, payment_method=None, collection_method="send_invoice")
    clock = billing.clock("2026-03-01T09:00:00Z")
    customer = billing.customer(clock)
    sub = billing.subscribe(customer, billing.plan("pro", PRO))
    invoice = sub["latest_invoice_id"]
    assert payments(billing, invoice) == [], "sent invoices are not charged"
    billing.pay_with(customer, "pm_card_visa")
    paid = billing.post(f"/v1/invoices/{invoice}/pay")
    assert (paid["status"], paid["amount_paid"]) == ("paid", PRO)
    assert [(p["reason"], p["status"]) for p in payments(billing, invoice)] == [
        ("manual", "succeeded")
    ]
    events = billing.events(invoice)
    assert "invoice.paid" in events
    payment_events = billing.get("/v1/events", type="payment.succeeded")["data"]
    assert payment_events[0]["data"]["object"]["invoice_id"] == invoice


# --- India: RBI e-mandate rules ------------------------------------------------------------

INDIAN = {"country": "IN", "state": "MH"}


def test_an_indian_mandate_is_debited_a_day_after_the_pre_debit_notice(billing: Billing) -> None:
    clock = billing.clock("2026-03-01T09:00:00Z")
    customer = billing.customer(clock, **INDIAN, payment_method="pm_upi_success")
    sub = billing.subscribe(customer, billing.plan("pro", PRO))
    assert billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")["status"] == "paid", (
        "the first payment registers the mandate with the customer present: no notice"
    )
    billing.advance(clock, "2026-04-01T09:00:00Z")
    renewal = billing.invoices(sub["id"])[-1]
    assert renewal["status"] == "open"
    [scheduled] = payments(billing, renewal["id"])
    assert (scheduled["status"], scheduled["scheduled_at"]) == ("scheduled", "2026-04-02T09:00:00Z")
    notices = billing.get("/v1/events", type="payment.scheduled")["data"]
    assert notices[0]["data"]["object"]["id"] == scheduled["id"]
    assert notices[0]["created_at"] == "2026-04-01T09:00:00Z", "24 h before the debit"

    billing.advance(clock, "2026-04-02T08:59:00Z")
    assert billing.get(f"/v1/invoices/{renewal['id']}")["status"] == "open"
    billing.advance(clock, "2026-04-02T09:00:00Z")
    assert billing.get(f"/v1/invoices/{renewal['id']}")["status"] == "paid"
    assert billing.subscription(sub["id"])["status"] == "active"


def test_an_indian_debit_above_15000_rupees_goes_to_the_customer_as_a_link(
    billing: Billing,
) -> None:
    clock = billing.clock("2026-03-01T09:00:00Z")
    customer = billing.customer(clock, **INDIAN, payment_method="pm_card_visa")
    sub = billing.subscribe(customer, billing.plan("enterprise", 20_000_00))
    assert billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")["status"] == "paid"
    billing.advance(clock, "2026-04-01T09:00:00Z")
    renewal = billing.invoices(sub["id"])[-1]
    assert renewal["total"] > 15_000_00
    [attempt] = payments(billing, renewal["id"])
    assert (attempt["status"], attempt["failure_code"]) == (
        "requires_action",
        "mandate_limit_exceeded",
    )
    assert attempt["gateway_charge_id"] is None, "nothing was sent to the gateway"
    assert "/pay/" in attempt["action_url"]
    assert "invoice.payment_action_required" in billing.events(renewal["id"])
