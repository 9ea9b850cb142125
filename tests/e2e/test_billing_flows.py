"""Whole billing flows through HTTP, moved through time with test clocks (issue 3, Done when).

The tenant is the Indian GST tenant of conftest (timezone Asia/Kolkata, prefix ACME), so periods
are anchored in IST and invoice numbers run per Indian financial year.
"""

from __future__ import annotations

from typing import Any

import pytest

import hisaab.jobs.tasks  # noqa: F401  (registers the subscriptions' due work)
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing

BASIC, PRO = 100_000, 200_000  # ₹1,000 and ₹2,000 a month


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing(tenant, run_jobs)


def starts(invoices: list[dict[str, Any]]) -> list[str]:
    return [i["period_start"] for i in invoices]


def test_month_end_anchor_renews_on_the_last_day_of_shorter_months(billing: Billing) -> None:
    clock = billing.clock("2026-01-31T10:00:00Z")
    plan = billing.plan("pro", PRO)
    sub = billing.subscribe(billing.customer(clock), plan)
    assert sub["status"] == "active"
    assert (sub["current_period_start"], sub["current_period_end"]) == (
        "2026-01-31T10:00:00Z",
        "2026-02-28T10:00:00Z",
    )
    first = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    assert first["status"] == "paid", "charged to the card on file when subscribing"
    assert first["billing_reason"] == "subscription_create"
    assert first["total"] == PRO
    assert first["number"] == "ACME/2526/1"

    billing.advance(clock, "2026-05-01T00:00:00Z")

    invoices = billing.invoices(sub["id"])
    assert starts(invoices) == [
        "2026-01-31T10:00:00Z",
        "2026-02-28T10:00:00Z",
        "2026-03-31T10:00:00Z",
        "2026-04-30T10:00:00Z",
    ]
    assert [i["period_end"] for i in invoices][-1] == "2026-05-31T10:00:00Z"
    # Jan-Mar 2026 is FY 2025-26; April 30 starts the 2026-27 series at 1 again.
    assert [i["number"] for i in invoices] == [
        "ACME/2526/1",
        "ACME/2526/2",
        "ACME/2526/3",
        "ACME/2627/1",
    ]
    assert all(i["billing_reason"] == "subscription_cycle" for i in invoices[1:])
    assert all(i["total"] == PRO and len(i["lines"]) == 1 for i in invoices)
    now = billing.subscription(sub["id"])
    assert (now["current_period_start"], now["current_period_end"]) == (
        "2026-04-30T10:00:00Z",
        "2026-05-31T10:00:00Z",
    )


def test_fourteen_day_trial_invoices_nothing_until_it_ends(billing: Billing) -> None:
    clock = billing.clock("2026-03-01T00:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO), trial_days=14)
    assert sub["status"] == "trialing"
    assert sub["trial_end"] == "2026-03-15T00:00:00Z"
    assert sub["latest_invoice_id"] is None

    billing.advance(clock, "2026-03-14T23:59:59Z")
    assert billing.invoices(sub["id"]) == []
    assert billing.subscription(sub["id"])["status"] == "trialing"
    reminders = billing.get("/v1/events", type="subscription.trial_will_end", object_id=sub["id"])
    assert len(reminders["data"]) == 1
    assert reminders["data"][0]["created_at"] == "2026-03-12T00:00:00Z", "three days before"

    billing.advance(clock, "2026-03-15T00:00:01Z")
    invoices = billing.invoices(sub["id"])
    assert len(invoices) == 1
    assert (invoices[0]["period_start"], invoices[0]["period_end"]) == (
        "2026-03-15T00:00:00Z",
        "2026-04-15T00:00:00Z",
    )
    assert billing.subscription(sub["id"])["status"] == "active"


def test_upgrade_half_way_with_always_invoice_bills_exactly_the_difference(
    billing: Billing,
) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    basic, pro = billing.plan("basic", BASIC), billing.plan("pro", PRO)
    sub = billing.subscribe(billing.customer(clock), basic)
    billing.advance(clock, "2026-04-16T00:00:00Z")  # 15 of April's 30 days left: f = 1/2

    changed = billing.post(
        f"/v1/subscriptions/{sub['id']}/change",
        {"plan_id": pro, "proration_behavior": "always_invoice"},
    )
    assert changed["plan_id"] == pro
    assert changed["unit_amount"] == PRO
    invoice = billing.get(f"/v1/invoices/{changed['latest_invoice_id']}")
    assert invoice["billing_reason"] == "subscription_update"
    assert [(line["amount"], line["proration"]) for line in invoice["lines"]] == [
        (-BASIC // 2, True),
        (PRO // 2, True),
    ]
    assert invoice["total"] == invoice["amount_due"] == (PRO - BASIC) // 2
    assert all(
        line["period_start"] == "2026-04-16T00:00:00Z"
        and line["period_end"] == "2026-05-01T00:00:00Z"
        for line in invoice["lines"]
    )

    billing.advance(clock, "2026-05-01T00:00:01Z")
    renewal = billing.invoices(sub["id"])[-1]
    assert renewal["total"] == PRO, "the next period is billed at the new price, nothing else"


def test_downgrade_at_period_end_takes_effect_at_renewal(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    basic, pro = billing.plan("basic", BASIC), billing.plan("pro", PRO)
    sub = billing.subscribe(billing.customer(clock), pro)
    billing.advance(clock, "2026-04-10T00:00:00Z")

    scheduled = billing.post(
        f"/v1/subscriptions/{sub['id']}/change", {"plan_id": basic, "effective_at": "period_end"}
    )
    assert scheduled["plan_id"] == pro, "nothing changes before the period ends"
    assert scheduled["scheduled_change"] == {
        "plan_id": basic,
        "plan_version": 1,
        "quantity": 1,
        "effective_at": "2026-05-01T00:00:00Z",
    }
    assert len(billing.invoices(sub["id"])) == 1, "no proration for a change at period end"

    billing.advance(clock, "2026-05-01T00:00:01Z")
    after = billing.subscription(sub["id"])
    assert (after["plan_id"], after["scheduled_change"]) == (basic, None)
    invoices = billing.invoices(sub["id"])
    assert [i["total"] for i in invoices] == [PRO, BASIC]
    assert invoices[-1]["lines"][0]["plan_id"] == basic


def test_a_scheduled_change_can_be_withdrawn(billing: Billing) -> None:
    clock = billing.clock("2026-04-01T00:00:00Z")
    basic, pro = billing.plan("basic", BASIC), billing.plan("pro", PRO)
    sub = billing.subscribe(billing.customer(clock), pro)
    billing.post(
        f"/v1/subscriptions/{sub['id']}/change", {"plan_id": basic, "effective_at": "period_end"}
    )
    kept = billing.post(f"/v1/subscriptions/{sub['id']}/remove_scheduled_change")
    assert kept["scheduled_change"] is None
    again = billing.tenant.http.post(f"/v1/subscriptions/{sub['id']}/remove_scheduled_change")
    assert again.status_code == 409
    assert again.json()["code"] == "no_scheduled_change"
    billing.advance(clock, "2026-05-01T00:00:01Z")
    assert [i["total"] for i in billing.invoices(sub["id"])] == [PRO, PRO]


def test_cancel_at_period_end_bills_nothing_more_and_ends_canceled(billing: Billing) -> None:
    clock = billing.clock("2026-01-31T10:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO))
    billing.advance(clock, "2026-02-10T00:00:00Z")
    pending = billing.post(f"/v1/subscriptions/{sub['id']}/cancel", {"at_period_end": True})
    assert pending["status"] == "active"
    assert pending["cancel_at_period_end"] is True

    billing.advance(clock, "2026-04-30T00:00:00Z")
    ended = billing.subscription(sub["id"])
    assert ended["status"] == "canceled"
    assert ended["ended_at"] == "2026-02-28T10:00:00Z"
    assert len(billing.invoices(sub["id"])) == 1
    assert billing.events(sub["id"])[-1] == "subscription.canceled"


def test_a_scheduled_cancellation_can_be_undone_before_the_period_ends(billing: Billing) -> None:
    clock = billing.clock("2026-01-31T10:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO))
    billing.post(f"/v1/subscriptions/{sub['id']}/cancel", {"at_period_end": True})
    undone = billing.post(f"/v1/subscriptions/{sub['id']}/remove_scheduled_cancellation")
    assert (undone["cancel_at_period_end"], undone["canceled_at"]) == (False, None)
    billing.advance(clock, "2026-03-01T00:00:00Z")
    assert billing.subscription(sub["id"])["status"] == "active"
    assert len(billing.invoices(sub["id"])) == 2


def test_cancel_now_ends_at_once(billing: Billing) -> None:
    clock = billing.clock("2026-01-31T10:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO))
    billing.advance(clock, "2026-02-10T00:00:00Z")
    ended = billing.post(f"/v1/subscriptions/{sub['id']}/cancel", {})
    assert (ended["status"], ended["ended_at"]) == ("canceled", "2026-02-10T00:00:00Z")
    again = billing.tenant.http.post(f"/v1/subscriptions/{sub['id']}/cancel", json={})
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_state"
    billing.advance(clock, "2026-06-01T00:00:00Z")
    assert len(billing.invoices(sub["id"])) == 1


def test_advancing_twelve_months_at_once_makes_twelve_invoices_in_order(
    billing: Billing,
) -> None:
    clock = billing.clock("2026-01-31T10:00:00Z")
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO))
    billing.advance(clock, "2027-01-31T09:00:00Z")  # just before the 13th period starts
    renewals = billing.invoices(sub["id"])[1:]
    assert len(renewals) == 11
    billing.advance(clock, "2027-01-31T10:00:00Z")
    renewals = billing.invoices(sub["id"])[1:]
    assert len(renewals) == 12
    assert starts(renewals) == sorted(starts(renewals))
    assert [s[:10] for s in starts(renewals)] == [
        "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31",
        "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31", "2027-01-31",
    ]  # fmt: skip
    issued = [i["issued_at"] for i in renewals]
    assert issued == starts(renewals), "each issued when its period began, in clock time"
    numbers = [i["number"] for i in billing.invoices(sub["id"])]
    assert numbers[:3] == ["ACME/2526/1", "ACME/2526/2", "ACME/2526/3"]
    assert numbers[3:] == [f"ACME/2627/{n}" for n in range(1, 11)]
