"""The recognition due work outside test-clock advances: the minute tick on the real clock, and
two workers at once recognising each slice exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

import hisaab.jobs.tasks  # noqa: F401  (registers the due work)
from hisaab.db import Database
from hisaab.ledger import service as ledger
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing
from tests.ledger.books import DEFERRED, REVENUE, assert_verified, kinds, trial_balance

PRO = 200_000


def test_the_minute_tick_recognises_what_is_due_on_the_real_clock(
    database: Database, tenant: TenantHandle, run_jobs: Any, test_db: Any
) -> None:
    from hisaab.jobs.tasks import bill_tenant, scheduler_tick

    billing = Billing.invoiced(tenant, run_jobs)
    sub = billing.subscribe(billing.customer(None), billing.plan("pro", PRO))
    assert trial_balance(billing)[DEFERRED] == PRO
    # As if the scheduler had been down since the period's slices came due.
    with database.transaction(tenant.id) as session:
        session.execute(
            text("UPDATE revenue_schedule SET recognize_at = recognize_at - interval '62 days'")
        )
    scheduler_tick(timestamp=0)  # queues the tenant's billing jobs
    bill_tenant(tenant_id=tenant.id, shard=0)
    assert trial_balance(billing) == {"1100": PRO, DEFERRED: 0, REVENUE: PRO}
    assert set(kinds(billing, sub["latest_invoice_id"])) == {
        "invoice_finalized",
        "revenue_recognized",
    }
    assert_verified(test_db.owner_url, tenant.id)


def test_two_workers_at_once_recognise_each_slice_once(
    database: Database, tenant: TenantHandle, run_jobs: Any, test_db: Any
) -> None:
    billing = Billing.invoiced(tenant, run_jobs)
    clock = billing.clock("2026-03-31T18:30:00Z")
    plan = billing.plan("pro", PRO)
    for _ in range(10):
        billing.subscribe(billing.customer(clock), plan)
    barrier = threading.Barrier(2)
    done: list[int] = []
    errors: list[BaseException] = []
    end_of_april = datetime(2026, 4, 30, 18, 30, tzinfo=UTC)

    def work() -> None:
        try:
            with database.transaction(tenant.id) as session:
                barrier.wait(timeout=10)
                done.append(ledger.DUE_WORK.run_due(session, clock, end_of_april))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(done) == 10
    assert trial_balance(billing, clock)[REVENUE] == 10 * PRO
    assert_verified(test_db.owner_url, tenant.id)
