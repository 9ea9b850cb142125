"""The hosted pay page behind an invoice's link: what it shows, paying on it with the sandbox,
the RBI limit lifted because the customer is present, and the hand-over to Stripe and Razorpay
checkouts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hisaab.payments import links
from hisaab.payments.gateways import registry
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing
from tests.payments.fakes import FakeRazorpay, FakeStripe, serve
from tests.payments.test_inbound_webhooks import (
    RAZORPAY_SECRET,
    STRIPE_SECRET,
    _razorpay_event,
    _razorpay_post,
    _stripe_event,
    _stripe_post,
)

PRO = 200000  # ₹2,000.00


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing(tenant, run_jobs)


def pay_path(tenant: TenantHandle, invoice_id: str) -> str:
    return f"/pay/{links.token_for(tenant.id, invoice_id)}"


def back_to_page(url: str) -> tuple[str, str] | None:
    """The invoice of a URL that leads back to the pay page (tokens differ on every sealing)."""
    return links.read_token(url.partition("/pay/")[2])


def past_due(billing: Billing, card: str, **customer: Any) -> tuple[str, str, str]:
    """A renewal whose charge failed with `card`: (customer, subscription, invoice)."""
    clock = billing.clock("2026-03-01T09:00:00Z")
    customer_id = billing.customer(clock, **customer)
    sub = billing.subscribe(customer_id, billing.plan("pro", PRO))
    billing.pay_with(customer_id, card)
    billing.advance(clock, "2026-04-01T09:00:00Z")
    invoice = billing.invoices(sub["id"])[-1]
    assert invoice["status"] == "open"
    return customer_id, sub["id"], invoice["id"]


def test_the_page_shows_the_invoice_and_unknown_links_are_404(
    billing: Billing, client: Any
) -> None:
    _, sub, invoice_id = past_due(billing, "pm_card_chargeDeclined")
    assert billing.subscription(sub)["status"] == "past_due"
    invoice = billing.get(f"/v1/invoices/{invoice_id}")
    page = client.get(pay_path(billing.tenant, invoice_id))  # no API key
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert '<html lang="en">' in text
    assert f"<title>Pay invoice {invoice['number']}</title>" in text
    assert "Acme Learning Pvt Ltd" in text
    assert "₹2,000.00" in text
    assert "Awaiting payment" in text
    assert 'value="pm_card_chargeDeclinedInsufficientFunds"' in text
    assert 'value="pm_upi_success"' in text

    for bad in ("nonsense", "gAAAAA" + "x" * 80, "x" * 3000):
        missing = client.get(f"/pay/{bad}")
        assert missing.status_code == 404, bad
        assert "Payment link not found" in missing.text
        assert client.post(f"/pay/{bad}", data={"token": "pm_card_visa"}).status_code == 404
    # A well-sealed token for an invoice that does not exist reveals nothing more.
    assert client.get(pay_path(billing.tenant, "in_doesnotexist")).status_code == 404


def test_paying_with_a_working_card_pays_the_invoice_and_reactivates(
    billing: Billing, client: Any
) -> None:
    customer, sub, invoice_id = past_due(billing, "pm_card_chargeDeclinedInsufficientFunds")
    path = pay_path(billing.tenant, invoice_id)
    refused = client.post(path, data={"token": "pm_card_authenticationRequired"})
    assert refused.status_code == 422
    assert "Please choose one of the listed payment methods." in refused.text

    done = client.post(path, data={"token": "pm_card_visa"})
    assert done.status_code == 200, done.text
    assert "Payment received. Thank you!" in done.text
    assert "<dd>Paid</dd>" in done.text
    assert billing.get(f"/v1/invoices/{invoice_id}")["status"] == "paid"
    assert billing.subscription(sub)["status"] == "active"
    tries = billing.get("/v1/payments", invoice_id=invoice_id)["data"]
    newest = tries[0]
    assert (newest["reason"], newest["status"], newest["off_session"]) == (
        "manual",
        "succeeded",
        False,
    )
    assert sum(p["status"] == "succeeded" for p in tries) == 1, "charged once"
    methods = billing.get(f"/v1/customers/{customer}/payment_methods")["data"]
    assert methods[0]["default"] is True

    again = client.get(path)
    assert "This invoice has been paid. Thank you!" in again.text
    assert "<form" not in again.text
    assert client.post(path, data={"token": "pm_card_visa"}).status_code == 409


def test_a_declined_card_shows_the_reason_and_leaves_the_invoice_open(
    billing: Billing, client: Any
) -> None:
    _, sub, invoice_id = past_due(billing, "pm_card_chargeDeclined")
    page = client.post(
        pay_path(billing.tenant, invoice_id),
        data={"token": "pm_card_chargeDeclinedInsufficientFunds"},
    )
    assert page.status_code == 200
    assert (
        "The payment did not go through: there were not enough funds in the account." in page.text
    )
    assert billing.get(f"/v1/invoices/{invoice_id}")["status"] == "open"
    assert billing.subscription(sub)["status"] == "past_due"
    assert 'name="token"' in page.text, "the customer can try another method"


def test_an_indian_invoice_above_the_rbi_limit_is_paid_on_session(
    billing: Billing, client: Any
) -> None:
    clock = billing.clock("2026-03-01T09:00:00Z")
    customer = billing.customer(
        clock, country="IN", state="MH", locale="hi", payment_method="pm_card_visa"
    )
    sub = billing.subscribe(customer, billing.plan("enterprise", 20_000_00))
    billing.advance(clock, "2026-04-01T09:00:00Z")
    renewal = billing.invoices(sub["id"])[-1]
    [waiting] = billing.get("/v1/payments", invoice_id=renewal["id"])["data"]
    assert waiting["failure_code"] == "mandate_limit_exceeded"
    path = waiting["action_url"][waiting["action_url"].index("/pay/") :]

    page = client.get(path)
    assert '<html lang="hi">' in page.text
    assert f"इनवॉइस {renewal['number']} का भुगतान करें" in page.text
    done = client.post(path, data={"token": "pm_card_visa"})
    assert "भुगतान मिल गया। धन्यवाद!" in done.text
    assert billing.get(f"/v1/invoices/{renewal['id']}")["status"] == "paid"
    assert billing.subscription(sub["id"])["status"] == "active"
    tries = billing.get("/v1/payments", invoice_id=renewal["id"])["data"]
    paid = [p for p in tries if p["status"] == "succeeded"]
    assert [(p["off_session"], p["amount"]) for p in paid] == [(False, renewal["amount_due"])]


@pytest.fixture
def gateway_apis() -> Iterator[tuple[FakeStripe, FakeRazorpay]]:
    with serve(FakeStripe()) as stripe, serve(FakeRazorpay()) as razorpay:
        registry.configure(registry.ApiBases(stripe=stripe.url, razorpay=razorpay.url))
        try:
            yield stripe, razorpay
        finally:
            registry.configure(registry.ApiBases())


@pytest.mark.parametrize("gateway", ["stripe", "razorpay"])
def test_stripe_and_razorpay_tenants_are_sent_to_the_gateways_checkout(
    tenant: TenantHandle,
    run_jobs: Any,
    client: Any,
    gateway_apis: tuple[FakeStripe, FakeRazorpay],
    gateway: str,
) -> None:
    stripe, razorpay = gateway_apis
    credentials = (
        {"stripe": {"secret_key": stripe.api_key, "webhook_secret": STRIPE_SECRET}}
        if gateway == "stripe"
        else {
            "razorpay": {
                "key_id": razorpay.key_id,
                "key_secret": razorpay.key_secret,
                "webhook_secret": RAZORPAY_SECRET,
            }
        }
    )
    response = tenant.http.patch("/v1/tenant", json={"gateways": credentials})
    assert response.status_code == 200, response.text
    billing = Billing.invoiced(tenant, run_jobs)
    customer = billing.customer(None)
    sub = billing.subscribe(customer, billing.plan("pro", PRO))
    invoice_id = sub["latest_invoice_id"]
    path = pay_path(tenant, invoice_id)

    page = client.get(path)
    label = "Stripe" if gateway == "stripe" else "Razorpay"
    assert f"Pay ₹2,000.00 with {label}" in page.text
    assert 'name="token"' not in page.text, "no sandbox tokens for a real gateway"
    moved = client.post(path, follow_redirects=False)
    assert moved.status_code == 303, moved.text
    [waiting] = billing.get("/v1/payments", invoice_id=invoice_id)["data"]
    assert (waiting["status"], waiting["gateway"], waiting["off_session"]) == (
        "requires_action",
        gateway,
        False,
    )
    assert waiting["action_url"] == moved.headers["location"]
    if gateway == "stripe":
        [session] = stripe.checkout_sessions.values()
        assert moved.headers["location"] == session["url"]
        assert waiting["gateway_charge_id"] == session["id"]
        assert session["amount_total"] == PRO
        assert session["metadata"]["hisaab_invoice_id"] == invoice_id
        assert session["metadata"]["hisaab_payment_id"] == waiting["id"]
        assert back_to_page(session["success_url"]) == (tenant.id, invoice_id)
    else:
        [link] = razorpay.payment_links.values()
        assert moved.headers["location"] == link["short_url"]
        assert waiting["gateway_charge_id"] == link["id"]
        assert (link["amount"], link["currency"]) == (PRO, "INR")
        assert link["notes"]["hisaab_invoice_id"] == invoice_id
        assert back_to_page(link["callback_url"]) == (tenant.id, invoice_id)
    assert billing.get(f"/v1/invoices/{invoice_id}")["status"] == "open", "until the webhook"

    # The customer pays on the gateway's page; the gateway tells us by webhook.
    if gateway == "stripe":
        paid_session = {**session, "payment_status": "paid", "status": "complete"}
        answer = _stripe_post(
            client, tenant.id, _stripe_event("checkout.session.completed", paid_session)
        )
    else:
        paid_link = {**link, "status": "paid", "amount_paid": PRO}
        payload = _razorpay_event("payment_link.paid", payment_link=paid_link)
        answer = _razorpay_post(client, tenant.id, payload, "evt_link_paid_1")
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "applied"
    paid = billing.get(f"/v1/invoices/{invoice_id}")
    assert (paid["status"], paid["amount_paid"]) == ("paid", PRO)
    [done] = billing.get("/v1/payments", invoice_id=invoice_id)["data"]
    assert done["status"] == "succeeded"
