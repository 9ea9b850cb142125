"""Two schedulers over the same due subscriptions never bill a period twice (DESIGN rule 4).

The race is real: two threads, each with its own connection and transaction, run the due work
for the same clock at the same instant, released together by a barrier.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import hisaab.jobs.tasks  # noqa: F401  (registers the subscriptions' due work)
from hisaab.db import Database
from hisaab.subscriptions import service as subscriptions
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing

RENEWAL = datetime(2026, 3, 1, 0, 0, 1, tzinfo=UTC)


@pytest.fixture
def due(tenant: TenantHandle, run_jobs: Any) -> tuple[Billing, str, list[str]]:
    """Twenty subscriptions on one clock whose first period ended a second ago."""
    billing = Billing(tenant, run_jobs)
    clock = billing.clock("2026-02-01T00:00:00Z")
    plan = billing.plan("pro", 200_000)
    subs = [billing.subscribe(billing.customer(clock), plan)["id"] for _ in range(20)]
    return billing, clock, subs


def _invoices_per_period(database: Database, tenant_id: str) -> dict[tuple[str, Any], int]:
    with database.transaction(tenant_id) as session:
        rows = session.execute(
            text(
                "SELECT subscription_id, period_start, count(*) FROM invoices "
                "GROUP BY subscription_id, period_start"
            )
        ).all()
    return {(r[0], r[1]): r[2] for r in rows}


def _race(database: Database, tenant_id: str, clock_id: str, runner: Any) -> list[int]:
    barrier = threading.Barrier(2)
    done: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with database.transaction(tenant_id) as session:
                barrier.wait(timeout=10)
                done.append(runner(session, clock_id, RENEWAL))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return done


def test_two_schedulers_at_once_bill_each_period_once(
    database: Database, tenant: TenantHandle, due: tuple[Billing, str, list[str]]
) -> None:
    _, clock, subs = due
    done = _race(database, tenant.id, clock, subscriptions.DUE_WORK.run_due)
    assert sum(done) == len(subs), "between them they renewed every subscription once"
    counts = _invoices_per_period(database, tenant.id)
    assert len(counts) == 2 * len(subs), "the first period and the renewal of each"
    assert set(counts.values()) == {1}


def test_running_the_scheduler_again_does_nothing(
    database: Database, tenant: TenantHandle, due: tuple[Billing, str, list[str]]
) -> None:
    _, clock, subs = due
    for expected in (len(subs), 0, 0):
        with database.transaction(tenant.id) as session:
            assert subscriptions.DUE_WORK.run_due(session, clock, RENEWAL) == expected
    assert set(_invoices_per_period(database, tenant.id).values()) == {1}


def test_workers_that_do_not_skip_locked_rows_still_cannot_double_bill(
    database: Database, tenant: TenantHandle, due: tuple[Billing, str, list[str]]
) -> None:
    """Even two workers that both wait for the same rows (no SKIP LOCKED) bill once: the
    second sees the renewed row after the first commits and finds nothing due."""
    _, clock, subs = due

    def blocking_runner(session: Any, clock_id: str, now: datetime) -> int:
        rows = session.execute(
            text(
                "SELECT id FROM subscriptions WHERE test_clock_id = :clock "
                "AND next_action_at <= :now ORDER BY id FOR UPDATE"
            ),
            {"clock": clock_id, "now": now},
        ).scalars()
        done = 0
        for subscription_id in list(rows):
            subscription = subscriptions.get(session, tenant.id, subscription_id, for_update=True)
            done += len(subscriptions._catch_up(session, subscription, now))
        return done

    done = _race(database, tenant.id, clock, blocking_runner)
    assert sorted(done) == [0, len(subs)]
    assert set(_invoices_per_period(database, tenant.id).values()) == {1}


def test_the_database_refuses_a_second_invoice_for_a_period(
    database: Database, tenant: TenantHandle, due: tuple[Billing, str, list[str]]
) -> None:
    """The last line of defence does not depend on any of the code above."""
    billing, _, subs = due
    first = billing.get(f"/v1/invoices/{billing.subscription(subs[0])['latest_invoice_id']}")
    with (
        pytest.raises(IntegrityError, match="uq_invoices_subscription_period"),
        database.transaction(tenant.id) as session,
    ):
        session.execute(
            text(
                "INSERT INTO invoices SELECT tenant_id, 'in_duplicate', NULL, NULL, status, "
                "customer_id, subscription_id, test_clock_id, billing_reason, "
                "collection_method, currency, subtotal, discount, tax, total, credit_applied, "
                "amount_due, amount_paid, "
                "amount_remaining, period_start, period_end, issued_at, due_at, paid_at, "
                "paid_out_of_band, voided_at, marked_uncollectible_at, place_of_supply, "
                "reverse_charge, tax_lines, notes, customer_snapshot, created_at, updated_at "
                "FROM invoices WHERE id = :id"
            ),
            {"id": first["id"]},
        )


def test_the_system_scheduler_tick_renews_what_is_due_on_the_real_clock(
    database: Database, tenant: TenantHandle, run_jobs: Any
) -> None:
    """Customers without a test clock are renewed by the minute tick, caught up period by
    period if the scheduler was down (here: a period that ended two periods ago)."""
    from hisaab.jobs.tasks import bill_tenant, scheduler_tick

    billing = Billing(tenant, run_jobs)
    sub = billing.subscribe(billing.customer(None), billing.plan("daily", 1_000, interval="day"))
    with database.transaction(tenant.id) as session:
        session.execute(
            text(
                "UPDATE subscriptions SET billing_cycle_anchor = billing_cycle_anchor - "
                "interval '2 days', current_period_start = current_period_start - interval "
                "'2 days', current_period_end = current_period_end - interval '2 days', "
                "next_action_at = next_action_at - interval '2 days' WHERE id = :id"
            ),
            {"id": sub["id"]},
        )
        session.execute(
            text(
                "UPDATE invoices SET period_start = period_start - interval '2 days', "
                "period_end = period_end - interval '2 days' WHERE subscription_id = :id"
            ),
            {"id": sub["id"]},
        )
    scheduler_tick(timestamp=0)  # queues the tenant's billing jobs
    bill_tenant(tenant_id=tenant.id, shard=0)
    invoices = billing.invoices(sub["id"])
    assert len(invoices) == 3, "the two periods missed while the scheduler was down"
    renewed = billing.subscription(sub["id"])
    assert renewed["current_period_start"] == invoices[-1]["period_start"]
    assert renewed["current_period_end"] > invoices[-1]["issued_at"]


def test_numbers_stay_gapless_when_invoices_are_finalized_at_once(
    app: Any, tenant: TenantHandle, run_jobs: Any
) -> None:
    from fastapi.testclient import TestClient

    billing = Billing(tenant, run_jobs)
    plan = billing.plan("pro", 200_000)
    customers = [billing.customer(None) for _ in range(12)]
    barrier = threading.Barrier(len(customers))
    statuses: list[int] = []

    def subscribe(customer_id: str) -> None:
        with TestClient(app, headers={"Authorization": f"Bearer {tenant.secret}"}) as http:
            barrier.wait(timeout=10)
            response = http.post(
                "/v1/subscriptions", json={"customer_id": customer_id, "plan_id": plan}
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=subscribe, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [201] * len(customers)
    numbers = sorted(
        int(i["number"].rsplit("/", 1)[1]) for i in billing.get("/v1/invoices", limit=100)["data"]
    )
    assert numbers == list(range(1, len(customers) + 1))


def test_one_subscription_that_cannot_be_billed_does_not_hold_back_the_others(
    database: Database, tenant: TenantHandle, due: tuple[Billing, str, list[str]]
) -> None:
    billing, clock, subs = due
    with database.transaction(tenant.id) as session:
        session.execute(
            text("UPDATE subscriptions SET billing_cycle_anchor = NULL WHERE id = :id"),
            {"id": subs[0]},
        )
    with database.transaction(tenant.id) as session:
        assert subscriptions.DUE_WORK.run_due(session, clock, RENEWAL) == len(subs) - 1
    assert len(billing.invoices(subs[0])) == 1, "the broken one is not renewed"
    assert billing.subscription(subs[0])["current_period_end"] == "2026-03-01T00:00:00Z", (
        "it stays due, to be retried"
    )
    assert all(len(billing.invoices(s)) == 2 for s in subs[1:])
