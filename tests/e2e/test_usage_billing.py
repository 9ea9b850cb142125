"""Usage billed in arrears, end to end on a test clock: events across a period (duplicates, one
arriving out of order, one after the period) give the exact quantity and amount on the renewal
invoice, tier by tier."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import TenantHandle
from tests.e2e.billing import Billing

BASE = 100000  # ₹1,000.00 a month
TIERS = [
    {"up_to": 1000, "unit_amount": 0},
    {"up_to": 5000, "unit_amount": 50},
    {"up_to": None, "unit_amount": 20, "flat_amount": 10000},
]


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing(tenant, run_jobs)


def metered_plan(billing: Billing, **charge: Any) -> str:
    billing.post("/v1/meters", {"code": "api_calls", "aggregation": "sum", "field": "calls"}, 201)
    return billing.plan(
        "api",
        BASE,
        charges=[{"meter": "api_calls", "currency": "INR", **charge}],
    )


def send(billing: Billing, customer: str, events: list[tuple[str, str, int]]) -> dict[str, Any]:
    body = {
        "events": [
            {
                "id": event_id,
                "customer_id": customer,
                "meter": "api_calls",
                "timestamp": at,
                "properties": {"calls": calls},
            }
            for event_id, at, calls in events
        ]
    }
    response = billing.tenant.http.post("/v1/events", json=body)
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


def test_graduated_usage_on_the_renewal_invoice(billing: Billing) -> None:
    plan = metered_plan(billing, model="graduated", tiers=TIERS)
    clock = billing.clock("2026-03-01T00:00:00Z")
    customer = billing.customer(clock)
    sub = billing.subscribe(customer, plan)
    first = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    assert [line["kind"] for line in first["lines"]] == ["subscription"], "nothing used yet"

    billing.advance(clock, "2026-03-25T00:00:00Z")
    assert send(
        billing,
        customer,
        [
            ("e1", "2026-03-03T10:00:00Z", 2500),
            ("e2", "2026-03-10T10:00:00Z", 3000),
            ("e2", "2026-03-10T10:00:00Z", 3000),  # the same event twice in a batch
            ("e3", "2026-03-20T10:00:00Z", 400),
        ],
    ) == {
        "object": "usage_event_batch",
        "accepted": 3,
        "duplicates": 1,
        "rejected": 0,
        "errors": [],
    }
    again = send(billing, customer, [("e1", "2026-03-03T10:00:00Z", 2500)])
    assert (again["accepted"], again["duplicates"]) == (0, 1), "resent by a retrying client"
    late = send(billing, customer, [("e4", "2026-03-05T08:00:00Z", 100)])  # out of order
    assert late["accepted"] == 1
    usage = billing.get(f"/v1/customers/{customer}/usage", meter="api_calls")
    assert usage["meters"][0]["value"] == "6000"

    billing.advance(clock, "2026-04-02T00:00:00Z")
    assert send(billing, customer, [("e5", "2026-04-01T12:00:00Z", 999)])["accepted"] == 1

    renewal = billing.invoices(sub["id"])[1]
    assert renewal["period_start"] == "2026-04-01T00:00:00Z"
    plan_line, usage_line = renewal["lines"]
    assert plan_line["kind"] == "subscription"
    assert usage_line["kind"] == "usage"
    assert (usage_line["period_start"], usage_line["period_end"]) == (
        "2026-03-01T00:00:00Z",
        "2026-04-01T00:00:00Z",
    ), "billed in arrears for the period that ended"
    # 6,000 calls: 1,000 free, 4,000 at 50 paise, 1,000 at 20 paise + a ₹100 flat fee.
    assert usage_line["quantity"] == 6000
    assert usage_line["amount"] == 4000 * 50 + 1000 * 20 + 10000
    assert usage_line["usage"]["quantity"] == "6000"
    assert [(t["quantity"], t["amount"]) for t in usage_line["usage"]["tiers"]] == [
        ("1000", 0),
        ("4000", 200000),
        ("1000", 30000),
    ]
    assert renewal["subtotal"] == BASE + usage_line["amount"]
    assert renewal["status"] == "paid"


@pytest.mark.parametrize(
    ("charge", "amount"),
    [
        ({"model": "per_unit", "unit_amount": 3}, 6000 * 3),
        ({"model": "package", "unit_amount": 5000, "package_size": 1000}, 6 * 5000),
        (
            {
                "model": "volume",
                "tiers": [{"up_to": 5000, "unit_amount": 10}, {"up_to": None, "unit_amount": 4}],
            },
            6000 * 4,
        ),
    ],
)
def test_every_pricing_model_bills_its_amount(
    billing: Billing, charge: dict[str, Any], amount: int
) -> None:
    plan = metered_plan(billing, **charge)
    clock = billing.clock("2026-03-01T00:00:00Z")
    customer = billing.customer(clock)
    sub = billing.subscribe(customer, plan)
    billing.advance(clock, "2026-03-20T00:00:00Z")
    send(billing, customer, [("a", "2026-03-02T00:00:00Z", 5999), ("b", "2026-03-19T00:00:00Z", 1)])
    billing.advance(clock, "2026-04-01T00:00:00Z")
    usage_line = billing.invoices(sub["id"])[1]["lines"][1]
    assert (usage_line["quantity"], usage_line["amount"]) == (6000, amount)


def test_canceling_bills_the_last_periods_usage_on_a_final_invoice(billing: Billing) -> None:
    plan = metered_plan(billing, model="per_unit", unit_amount=2)
    clock = billing.clock("2026-03-01T00:00:00Z")
    customer = billing.customer(clock)
    sub = billing.subscribe(customer, plan)
    billing.post(f"/v1/subscriptions/{sub['id']}/cancel", {"at_period_end": True})
    billing.advance(clock, "2026-03-15T00:00:00Z")
    send(billing, customer, [("x", "2026-03-10T00:00:00Z", 700)])
    billing.advance(clock, "2026-04-05T00:00:00Z")
    assert billing.subscription(sub["id"])["status"] == "canceled"
    final = billing.invoices(sub["id"])[-1]
    assert final["billing_reason"] == "subscription_update"
    [line] = final["lines"]
    assert (line["kind"], line["quantity"], line["amount"]) == ("usage", 700, 1400)


def test_the_upcoming_invoice_is_what_the_renewal_then_says(billing: Billing) -> None:
    plan = metered_plan(billing, model="graduated", tiers=TIERS)
    clock = billing.clock("2026-03-01T00:00:00Z")
    customer = billing.customer(clock)
    sub = billing.subscribe(customer, plan)
    billing.advance(clock, "2026-03-20T00:00:00Z")
    send(billing, customer, [("u1", "2026-03-02T00:00:00Z", 1200)])
    upcoming = billing.get(f"/v1/customers/{customer}/upcoming_invoice")
    assert (upcoming["id"], upcoming["status"], upcoming["number"]) == ("upcoming", "draft", None)
    assert (upcoming["period_start"], upcoming["period_end"]) == (
        "2026-04-01T00:00:00Z",
        "2026-05-01T00:00:00Z",
    )
    assert [line["kind"] for line in upcoming["lines"]] == ["subscription", "usage"]
    assert upcoming["lines"][1]["amount"] == 200 * 50
    assert billing.invoices(sub["id"])[-1]["period_start"] == "2026-03-01T00:00:00Z", "unwritten"

    billing.advance(clock, "2026-04-01T00:00:00Z")
    renewal = billing.invoices(sub["id"])[-1]
    for field in ("subtotal", "tax", "total", "period_start", "period_end", "currency"):
        assert upcoming[field] == renewal[field], field
    assert [(x["kind"], x["amount"]) for x in upcoming["lines"]] == [
        (x["kind"], x["amount"]) for x in renewal["lines"]
    ]


def test_entitlements_show_features_and_quotas_with_usage(billing: Billing) -> None:
    billing.post("/v1/meters", {"code": "api_calls", "aggregation": "count"}, 201)
    plan = billing.plan("team", BASE, features={"api_calls": 3, "sso": True, "seats": 10})
    clock = billing.clock("2026-03-01T00:00:00Z")
    customer = billing.customer(clock)
    sub = billing.subscribe(customer, plan)
    billing.advance(clock, "2026-03-05T00:00:00Z")
    send(billing, customer, [("c1", "2026-03-02T00:00:00Z", 0), ("c2", "2026-03-03T00:00:00Z", 0)])
    seen = billing.get(f"/v1/customers/{customer}/entitlements")
    assert seen["subscription_id"] == sub["id"]
    assert {f["key"]: f["value"] for f in seen["features"]} == {
        "api_calls": 3,
        "sso": True,
        "seats": 10,
    }
    assert seen["quotas"] == [
        {"meter": "api_calls", "limit": "3", "usage": "2", "remaining": "1", "exceeded": False}
    ]
    send(billing, customer, [("c3", "2026-03-04T00:00:00Z", 0)])
    [quota] = billing.get(f"/v1/customers/{customer}/entitlements")["quotas"]
    assert (quota["usage"], quota["remaining"], quota["exceeded"]) == ("3", "0", True)

    def reached() -> list[dict[str, Any]]:
        found = billing.get("/v1/events", type="usage.threshold_reached")["data"]
        return [event["data"]["object"] for event in found]

    billing.run_jobs()
    [announced] = reached()
    assert (announced["subscription_id"], announced["meter"], announced["usage"]) == (
        sub["id"],
        "api_calls",
        "3",
    )
    assert announced["period_start"] == "2026-03-01T00:00:00Z"
    send(billing, customer, [("c4", "2026-03-04T01:00:00Z", 0)])
    billing.run_jobs()
    assert len(reached()) == 1, "once per period"
    billing.advance(clock, "2026-04-02T00:00:00Z")
    send(billing, customer, [(f"d{n}", "2026-04-01T12:00:00Z", 0) for n in range(3)])
    billing.run_jobs()
    assert [e["period_start"] for e in reached()] == [
        "2026-04-01T00:00:00Z",
        "2026-03-01T00:00:00Z",
    ], "and again in the next period"


def test_no_subscription_means_no_entitlements_and_no_upcoming_invoice(billing: Billing) -> None:
    customer = billing.customer(None)
    for path in ("entitlements", "upcoming_invoice"):
        response = billing.tenant.http.get(f"/v1/customers/{customer}/{path}")
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "no_active_subscription"
