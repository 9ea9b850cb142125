"""The rest of the subscription lifecycle through HTTP: future starts, pause and resume, changes
of every kind and the state machine's refusals."""

from __future__ import annotations

from typing import Any

import pytest

import hisaab.jobs.tasks  # noqa: F401  (registers the subscriptions' due work)
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing

BASIC, PRO = 100_000, 200_000


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing(tenant, run_jobs)


def _refused(billing: Billing, path: str, body: Any, status: int, code: str) -> None:
    response = billing.tenant.http.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_future_start_waits_then_bills(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    sub = billing.subscribe(
        billing.customer(clock), billing.plan("pro", PRO), start_at="2026-04-10T06:00:00Z"
    )
    assert (sub["status"], sub["latest_invoice_id"]) == ("not_started", None)
    billing.advance(clock, "2026-04-10T05:59:59Z")
    assert billing.invoices(sub["id"]) == []
    billing.advance(clock, "2026-04-10T06:00:00Z")
    started = billing.subscription(sub["id"])
    assert started["status"] == "active"
    assert (started["current_period_start"], started["current_period_end"]) == (
        "2026-04-10T06:00:00Z",
        "2026-05-10T06:00:00Z",
    )
    assert len(billing.invoices(sub["id"])) == 1


def test_start_in_the_past_is_refused(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    body = {
        "customer_id": billing.customer(clock),
        "plan_id": billing.plan("pro", PRO),
        "start_at": "2026-03-31T23:59:59Z",
    }
    _refused(billing, "/v1/subscriptions", body, 422, "start_in_past")


def test_pause_stops_renewals_and_resume_after_the_period_starts_a_new_cycle(
    billing: Billing,
) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO))
    billing.advance(clock, "2026-04-20T00:00:00Z")
    paused = billing.post(f"/v1/subscriptions/{sub['id']}/pause")
    assert (paused["status"], paused["paused_at"]) == ("paused", "2026-04-20T00:00:00Z")
    _refused(billing, f"/v1/subscriptions/{sub['id']}/pause", None, 409, "invalid_state")
    billing.advance(clock, "2026-06-15T12:00:00Z")
    assert len(billing.invoices(sub["id"])) == 1, "no renewal while paused"

    resumed = billing.post(f"/v1/subscriptions/{sub['id']}/resume")
    assert resumed["status"] == "active"
    assert (resumed["current_period_start"], resumed["current_period_end"]) == (
        "2026-06-15T12:00:00Z",
        "2026-07-15T12:00:00Z",
    )
    invoices = billing.invoices(sub["id"])
    assert [i["period_start"] for i in invoices] == [
        "2026-04-01T00:00:00Z",
        "2026-06-15T12:00:00Z",
    ]
    assert billing.events(sub["id"])[-2:] == ["subscription.paused", "subscription.resumed"]


def test_resume_inside_the_paid_period_continues_it(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO))
    billing.post(f"/v1/subscriptions/{sub['id']}/pause")
    billing.advance(clock, "2026-04-05T00:00:00Z")
    resumed = billing.post(f"/v1/subscriptions/{sub['id']}/resume")
    assert resumed["current_period_end"] == "2026-05-01T00:00:00Z"
    assert len(billing.invoices(sub["id"])) == 1
    _refused(billing, f"/v1/subscriptions/{sub['id']}/resume", None, 409, "invalid_state")
    billing.advance(clock, "2026-05-01T00:00:00Z")
    assert len(billing.invoices(sub["id"])) == 2


def test_a_canceled_subscription_refuses_everything(billing: Billing) -> None:
    sub = billing.subscribe(billing.customer(None), billing.plan("pro", PRO))
    billing.post(f"/v1/subscriptions/{sub['id']}/cancel", {})
    base = f"/v1/subscriptions/{sub['id']}"
    for action, body in [
        ("change", {"quantity": 2}),
        ("cancel", {"at_period_end": True}),
        ("pause", None),
        ("resume", None),
    ]:
        _refused(billing, f"{base}/{action}", body, 409, "invalid_state")
    _refused(
        billing, f"{base}/remove_scheduled_cancellation", None, 409, "no_scheduled_cancellation"
    )


def test_changes_during_a_trial_switch_without_proration(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    basic, pro = billing.plan("basic", BASIC), billing.plan("pro", PRO)
    sub = billing.subscribe(billing.customer(clock), basic, trial_days=10)
    changed = billing.post(
        f"/v1/subscriptions/{sub['id']}/change",
        {"plan_id": pro, "proration_behavior": "always_invoice"},
    )
    assert (changed["plan_id"], changed["status"]) == (pro, "trialing")
    assert billing.invoices(sub["id"]) == []
    billing.advance(clock, "2026-04-11T00:00:00Z")
    assert [i["total"] for i in billing.invoices(sub["id"])] == [PRO]


def test_proration_none_switches_without_lines(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("basic", BASIC))
    billing.advance(clock, "2026-04-16T00:00:00Z")
    billing.post(
        f"/v1/subscriptions/{sub['id']}/change", {"quantity": 5, "proration_behavior": "none"}
    )
    _refused(
        billing, "/v1/invoices/generate", {"subscription_id": sub["id"]}, 409, "nothing_to_invoice"
    )
    billing.advance(clock, "2026-05-01T00:00:00Z")
    assert [i["total"] for i in billing.invoices(sub["id"])] == [BASIC, 5 * BASIC]


def test_a_change_of_interval_starts_a_new_cycle_now(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    monthly = billing.plan("basic", BASIC)
    yearly = billing.plan("annual", 1_000_000, interval="year")
    sub = billing.subscribe(billing.customer(clock), monthly)
    billing.advance(clock, "2026-04-16T00:00:00Z")
    changed = billing.post(f"/v1/subscriptions/{sub['id']}/change", {"plan_id": yearly})
    assert (changed["current_period_start"], changed["current_period_end"]) == (
        "2026-04-16T00:00:00Z",
        "2027-04-16T00:00:00Z",
    )
    invoice = billing.get(f"/v1/invoices/{changed['latest_invoice_id']}")
    assert [line["amount"] for line in invoice["lines"]] == [1_000_000, -BASIC // 2]
    assert invoice["total"] == 1_000_000 - BASIC // 2


def test_change_refusals(billing: Billing) -> None:
    sub = billing.subscribe(billing.customer(None), billing.plan("pro", PRO))
    base = f"/v1/subscriptions/{sub['id']}/change"
    _refused(billing, base, {"quantity": 1}, 422, "no_change")
    _refused(billing, base, {}, 422, "validation_error")
    _refused(billing, base, {"quantity": 0}, 422, "validation_error")
    _refused(billing, base, {"quantity": 2, "effective_at": "tomorrow"}, 422, "validation_error")
    usd_only = billing.post(
        "/v1/plans",
        {
            "code": "usd-only",
            "name": "USD",
            "interval": "month",
            "prices": [{"currency": "USD", "unit_amount": 900}],
        },
        201,
    )["id"]
    _refused(billing, base, {"plan_id": usd_only}, 422, "price_unavailable")
    archived = billing.plan("old", BASIC)
    billing.post(f"/v1/plans/{archived}/archive")
    _refused(billing, base, {"plan_id": archived}, 422, "plan_archived")
    _refused(billing, base, {"plan_id": "plan_nope"}, 404, "resource_missing")
    assert billing.subscription(sub["id"])["quantity"] == 1, "nothing changed"


def test_create_refusals(billing: Billing) -> None:
    customer, plan = billing.customer(None), billing.plan("pro", PRO)
    archived = billing.plan("old", BASIC)
    billing.post(f"/v1/plans/{archived}/archive")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"customer_id": customer, "plan_id": archived}, 422, "plan_archived"),
        ({"customer_id": "cus_missing", "plan_id": plan}, 404, "resource_missing"),
        ({"customer_id": customer, "plan_id": plan, "quantity": 0}, 422, "validation_error"),
        ({"customer_id": customer, "plan_id": plan, "coupon": "NOPE"}, 404, "resource_missing"),
        ({"customer_id": customer, "plan_id": plan, "trial_days": -1}, 422, "validation_error"),
        ({"customer_id": customer, "plan_id": plan, "color": "red"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        _refused(billing, "/v1/subscriptions", body, status, code)
    assert billing.get("/v1/subscriptions")["data"] == []
    assert billing.get("/v1/invoices")["data"] == []


def test_subscription_events_tell_the_story(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO), trial_days=5)
    billing.advance(clock, "2026-05-07T00:00:00Z")
    billing.post(f"/v1/subscriptions/{sub['id']}/cancel", {})
    assert billing.events(sub["id"]) == [
        "subscription.created",  # already trialing
        "subscription.trial_will_end",
        "subscription.updated",  # active, first period invoiced
        "subscription.updated",  # renewed
        "subscription.canceled",
    ]
    created = billing.get("/v1/events", object_id=sub["id"], type="subscription.created")
    assert created["data"][0]["data"]["object"]["status"] == "trialing"
    event = billing.get("/v1/events", object_id=sub["id"], type="subscription.canceled")["data"][0]
    assert event["data"]["object"]["status"] == "canceled"


def test_list_filters(billing: Billing) -> None:
    customer = billing.customer(None)
    plan = billing.plan("pro", PRO)
    kept = billing.subscribe(customer, plan)
    gone = billing.subscribe(customer, plan)
    billing.post(f"/v1/subscriptions/{gone['id']}/cancel", {})
    active = billing.get("/v1/subscriptions", status="active", customer_id=customer)["data"]
    assert [s["id"] for s in active] == [kept["id"]]
    bad = billing.tenant.http.get("/v1/subscriptions", params={"status": "sleeping"})
    assert bad.status_code == 422


def test_deleting_the_clock_deletes_its_customers_billing(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    customer = billing.customer(clock)
    sub = billing.subscribe(customer, billing.plan("pro", PRO))
    billing.advance(clock, "2026-06-01T00:00:00Z")
    invoice_id = billing.invoices(sub["id"])[0]["id"]
    assert billing.tenant.http.delete(f"/v1/test_clocks/{clock}").status_code == 200
    for path in (
        f"/v1/customers/{customer}",
        f"/v1/subscriptions/{sub['id']}",
        f"/v1/invoices/{invoice_id}",
    ):
        assert billing.tenant.http.get(path).status_code == 404, path
