"""Invoices after they are issued, and what feeds them: paying out of band, voiding, writing
off, invoicing now, pending prorations, customer credit, coupons, due dates, events."""

from __future__ import annotations

from typing import Any

import pytest

import hisaab.jobs.tasks  # noqa: F401  (registers the subscriptions' due work)
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing

BASIC, PRO = 100_000, 200_000


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing.invoiced(tenant, run_jobs)


def _refused(billing: Billing, path: str, code: str, body: Any = None) -> None:
    response = billing.tenant.http.post(path, json=body)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def _first_invoice(billing: Billing, **subscribe: Any) -> dict[str, Any]:
    clock = billing.clock("2026-04-01T00:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO), **subscribe)
    invoice: dict[str, Any] = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    return invoice


def test_paid_out_of_band_then_nothing_more_can_happen_to_it(billing: Billing) -> None:
    invoice = _first_invoice(billing)
    path = f"/v1/invoices/{invoice['id']}"
    _refused(billing, f"{path}/pay", "no_payment_method")
    assert billing.get(path)["status"] == "open", "a refused charge changes nothing"
    assert billing.get("/v1/payments", invoice_id=invoice["id"])["data"] == []
    paid = billing.post(f"{path}/pay", {"paid_out_of_band": True})
    assert paid["status"] == "paid"
    assert (paid["amount_paid"], paid["amount_remaining"]) == (PRO, 0)
    assert paid["paid_at"] == "2026-04-01T00:00:00Z", "the customer's clock, not the wall clock"
    assert paid["paid_out_of_band"] is True
    for action in ("pay", "void", "mark_uncollectible"):
        _refused(
            billing,
            f"{path}/{action}",
            "invalid_state",
            {"paid_out_of_band": True} if action == "pay" else None,
        )
    assert billing.events(invoice["id"]) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
    ]


def test_void_is_final(billing: Billing) -> None:
    invoice = _first_invoice(billing)
    path = f"/v1/invoices/{invoice['id']}"
    voided = billing.post(f"{path}/void")
    assert (voided["status"], voided["amount_remaining"]) == ("void", 0)
    _refused(billing, f"{path}/pay", "invalid_state", {"paid_out_of_band": True})
    _refused(billing, f"{path}/void", "invalid_state")
    assert billing.events(invoice["id"])[-1] == "invoice.voided"


def test_uncollectible_can_still_be_paid(billing: Billing) -> None:
    invoice = _first_invoice(billing)
    path = f"/v1/invoices/{invoice['id']}"
    assert billing.post(f"{path}/mark_uncollectible")["status"] == "uncollectible"
    _refused(billing, f"{path}/mark_uncollectible", "invalid_state")
    assert billing.post(f"{path}/pay", {"paid_out_of_band": True})["status"] == "paid"


def test_send_invoice_is_due_days_later_and_charge_automatically_at_once(
    billing: Billing,
) -> None:
    sent = _first_invoice(billing, collection_method="send_invoice", days_until_due=30)
    assert (sent["issued_at"], sent["due_at"]) == ("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z")
    assert sent["collection_method"] == "send_invoice"
    charged = _first_invoice(billing, collection_method="charge_automatically")
    assert charged["due_at"] == charged["issued_at"]


def test_days_until_due_only_with_send_invoice(billing: Billing) -> None:
    response = billing.tenant.http.post(
        "/v1/subscriptions",
        json={
            "customer_id": billing.customer(None),
            "plan_id": billing.plan("pro", PRO),
            "days_until_due": 10,
        },
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_create_prorations_wait_for_the_next_invoice_or_invoice_now(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("basic", BASIC))
    billing.advance(clock, "2026-04-16T00:00:00Z")
    changed = billing.post(f"/v1/subscriptions/{sub['id']}/change", {"quantity": 3})
    assert changed["quantity"] == 3
    assert len(billing.invoices(sub["id"])) == 1, "prorations wait for the next invoice"

    generated = billing.post("/v1/invoices/generate", {"subscription_id": sub["id"]}, 201)
    [invoice] = generated["data"]
    assert invoice["billing_reason"] == "manual"
    assert [line["amount"] for line in invoice["lines"]] == [-BASIC // 2, 3 * BASIC // 2]
    assert invoice["total"] == BASIC
    _refused(billing, "/v1/invoices/generate", "nothing_to_invoice", {"subscription_id": sub["id"]})

    billing.post(f"/v1/subscriptions/{sub['id']}/change", {"quantity": 2})
    billing.advance(clock, "2026-05-01T00:00:01Z")
    renewal = billing.invoices(sub["id"])[-1]
    assert renewal["billing_reason"] == "subscription_cycle"
    assert [(line["amount"], line["proration"]) for line in renewal["lines"]] == [
        (2 * BASIC, False),
        (-3 * BASIC // 2, True),
        (2 * BASIC // 2, True),
    ], "the renewal carries the pending prorations"


def test_generate_for_a_customer_bills_what_is_due_across_its_subscriptions(
    billing: Billing,
) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    customer = billing.customer(clock)
    plan = billing.plan("basic", BASIC)
    first = billing.subscribe(customer, plan)
    second = billing.subscribe(customer, plan)
    for sub in (first, second):
        billing.post(f"/v1/subscriptions/{sub['id']}/change", {"quantity": 2})
    generated = billing.post("/v1/invoices/generate", {"customer_id": customer}, 201)
    assert {i["subscription_id"] for i in generated["data"]} == {first["id"], second["id"]}
    _refused(billing, "/v1/invoices/generate", "nothing_to_invoice", {"customer_id": customer})


@pytest.mark.parametrize(
    "body",
    [{}, {"subscription_id": "sub_x", "customer_id": "cus_x"}, {"subscription_id": 5}],
)
def test_generate_needs_exactly_one_target(billing: Billing, body: dict[str, Any]) -> None:
    response = billing.tenant.http.post("/v1/invoices/generate", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_a_net_credit_becomes_customer_credit_used_by_the_next_invoice(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    customer = billing.customer(clock)
    basic, pro = billing.plan("basic", BASIC), billing.plan("pro", PRO)
    sub = billing.subscribe(customer, pro)
    billing.advance(clock, "2026-04-16T00:00:00Z")
    down = billing.post(
        f"/v1/subscriptions/{sub['id']}/change",
        {"plan_id": basic, "proration_behavior": "always_invoice"},
    )
    credit_note = billing.get(f"/v1/invoices/{down['latest_invoice_id']}")
    assert credit_note["total"] == -(PRO - BASIC) // 2
    assert (credit_note["amount_due"], credit_note["status"]) == (0, "paid")
    balance = billing.get(f"/v1/customers/{customer}/credit_balance")
    assert (balance["currency"], balance["balance"]) == ("INR", (PRO - BASIC) // 2)

    billing.advance(clock, "2026-05-01T00:00:01Z")
    renewal = billing.invoices(sub["id"])[-1]
    assert renewal["total"] == BASIC
    assert renewal["credit_applied"] == (PRO - BASIC) // 2
    assert renewal["amount_due"] == BASIC - (PRO - BASIC) // 2
    assert billing.get(f"/v1/customers/{customer}/credit_balance")["balance"] == 0

    billing.post(f"/v1/invoices/{renewal['id']}/void")
    assert billing.get(f"/v1/customers/{customer}/credit_balance")["balance"] == (
        (PRO - BASIC) // 2
    ), "voiding gives the credit back"


def test_percent_coupon_forever_discounts_every_line(billing: Billing) -> None:
    billing.post("/v1/coupons", {"code": "TWENTY", "percent_off": 20, "duration": "forever"}, 201)
    clock = billing.clock("2026-04-01T00:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO), coupon="TWENTY")
    billing.advance(clock, "2026-06-01T00:00:01Z")
    invoices = billing.invoices(sub["id"])
    assert len(invoices) == 3
    assert all(
        (i["subtotal"], i["discount"], i["total"]) == (PRO, PRO // 5, PRO - PRO // 5)
        for i in invoices
    )
    assert invoices[0]["lines"][0]["discount_amount"] == PRO // 5


def test_amount_coupon_repeating_two_periods(billing: Billing) -> None:
    billing.post(
        "/v1/coupons",
        {
            "code": "WELCOME",
            "amount_off": 50_000,
            "currency": "INR",
            "duration": "repeating",
            "duration_in_periods": 2,
        },
        201,
    )
    clock = billing.clock("2026-04-01T00:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO), coupon="WELCOME")
    billing.advance(clock, "2026-07-01T00:00:01Z")
    assert [i["total"] for i in billing.invoices(sub["id"])] == [
        PRO - 50_000,
        PRO - 50_000,
        PRO,
        PRO,
    ]


def test_once_coupon_with_a_trial_discounts_the_first_paid_period(billing: Billing) -> None:
    billing.post("/v1/coupons", {"code": "HALF", "percent_off": "50", "duration": "once"}, 201)
    clock = billing.clock("2026-04-01T00:00:00Z")
    sub = billing.subscribe(
        billing.customer(clock), billing.plan("pro", PRO), coupon="HALF", trial_days=7
    )
    billing.advance(clock, "2026-05-09T00:00:00Z")
    assert [i["total"] for i in billing.invoices(sub["id"])] == [PRO // 2, PRO]


@pytest.mark.parametrize(
    ("coupon", "code"),
    [
        (
            {"code": "USD5", "amount_off": 500, "currency": "USD", "duration": "once"},
            "coupon_currency_mismatch",
        ),
        (
            {
                "code": "GONE",
                "percent_off": 10,
                "duration": "once",
                "redeem_by": "2020-01-01T00:00:00Z",
            },
            "coupon_expired",
        ),
    ],
)
def test_coupons_that_cannot_be_redeemed(
    billing: Billing, coupon: dict[str, Any], code: str
) -> None:
    billing.post("/v1/coupons", coupon, 201)
    response = billing.tenant.http.post(
        "/v1/subscriptions",
        json={
            "customer_id": billing.customer(None),
            "plan_id": billing.plan("pro", PRO),
            "coupon": coupon["code"],
        },
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert billing.get("/v1/subscriptions")["data"] == [], "nothing was written"


def test_max_redemptions(billing: Billing) -> None:
    billing.post(
        "/v1/coupons",
        {"code": "ONLYONE", "percent_off": 10, "duration": "once", "max_redemptions": 1},
        201,
    )
    plan = billing.plan("pro", PRO)
    billing.subscribe(billing.customer(None), plan, coupon="ONLYONE")
    response = billing.tenant.http.post(
        "/v1/subscriptions",
        json={"customer_id": billing.customer(None), "plan_id": plan, "coupon": "ONLYONE"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "coupon_exhausted"


def test_invoice_carries_the_customer_as_issued(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    customer = billing.customer(clock)
    sub = billing.subscribe(customer, billing.plan("pro", PRO))
    response = billing.tenant.http.patch(f"/v1/customers/{customer}", json={"name": "Asha R."})
    assert response.status_code == 200, response.text
    invoice = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    assert invoice["customer"]["name"] == "Asha Rao", "a finalized invoice never changes"


def test_invoice_list_filters(billing: Billing) -> None:
    invoice = _first_invoice(billing)
    other = _first_invoice(billing)
    billing.post(f"/v1/invoices/{other['id']}/void")
    by_status = billing.get("/v1/invoices", status="void")["data"]
    assert [i["id"] for i in by_status] == [other["id"]]
    by_customer = billing.get("/v1/invoices", customer_id=invoice["customer_id"])["data"]
    assert [i["id"] for i in by_customer] == [invoice["id"]]
    bad = billing.tenant.http.get("/v1/invoices", params={"status": "lost"})
    assert bad.status_code == 422
