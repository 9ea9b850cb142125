"""A test clock with 5,000 customers, advanced one month through the API, reaches `ready` with
5,000 paid renewal invoices (billing-run issue, "Done when").

The customers are bulk-seeded (tests/seeding.py) on a US tenant: they pay in dollars, so every
renewal is charged as it falls due (an Indian customer's rupee renewal would wait 24 h for the
RBI pre-debit notice). The advance runs as it does in production: the API queues the clock's
job, and the job (here run in the test process by `run_jobs`) replays the month in time order.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from tests import seeding
from tests.billing import invariants
from tests.conftest import TenantHandle, TestDatabase
from tests.databases import owner_connection

CUSTOMERS = 5_000
US_TENANT = {**seeding.TENANT_PROFILES[3], "gstin": None, "lut": False}
FROZEN = datetime(2026, 3, 1, tzinfo=UTC)
# Every seeded subscription's period ends here (09:00 in Los Angeles, the tenant's zone) ...
DUE_AT = datetime(2026, 3, 5, 17, tzinfo=UTC)
# ... and the clock moves one month: past that renewal, short of the next (5 April).
TARGET = datetime(2026, 4, 1, tzinfo=UTC)


def test_clock_with_5000_customers_advanced_a_month_is_ready_with_5000_paid_invoices(
    make_tenant: Any, run_jobs: Any, test_db: TestDatabase
) -> None:
    tenant: TenantHandle = make_tenant(**US_TENANT)
    seeding.seed_catalog(tenant.http)
    clock_id = seeding.create_test_clock(tenant.http, FROZEN)
    seeded = seeding.seed_subscriptions(
        test_db.owner_url, tenant.id, CUSTOMERS, due_at=DUE_AT, clock_id=clock_id
    )
    assert set(seeded.by_segment) <= {"domestic", "foreign"}, "all of them pay in dollars"

    started = time.perf_counter()
    advanced = tenant.http.post(
        f"/v1/test_clocks/{clock_id}/advance", json={"frozen_time": TARGET.isoformat()}
    )
    assert advanced.status_code == 200, advanced.text
    assert advanced.json()["status"] == "advancing"
    run_jobs()
    seconds = time.perf_counter() - started

    clock = tenant.http.get(f"/v1/test_clocks/{clock_id}").json()
    assert clock["status"] == "ready", clock
    assert clock["frozen_time"] == TARGET.isoformat().replace("+00:00", "Z")

    with owner_connection(test_db.owner_url) as conn:
        outcome = invariants.renewals(conn, [tenant.id], DUE_AT, TARGET)
        problems = [
            *outcome.problems,
            *invariants.numbering(conn, [tenant.id]),
            *invariants.events(conn, [tenant.id]),
            *invariants.numbers_told(conn, [tenant.id]),
            *invariants.ledger(conn, [tenant.id]),
        ]
        statuses = dict(
            conn.execute(
                text(
                    "SELECT status, count(*) FROM invoices WHERE tenant_id = :t "
                    "AND test_clock_id = :c AND billing_reason = 'subscription_cycle' "
                    "GROUP BY status"
                ),
                {"t": tenant.id, "c": clock_id},
            ).all()
        )
        payments = dict(
            conn.execute(
                text(
                    "SELECT status, count(*) FROM payment_attempts "
                    "WHERE tenant_id = :t AND test_clock_id = :c GROUP BY status"
                ),
                {"t": tenant.id, "c": clock_id},
            ).all()
        )
    print(
        f"test clock: {CUSTOMERS:,} customers advanced a month in {seconds:.1f} s; "
        f"invoices {statuses}, payments {payments}"
    )
    assert problems == [], problems[:20]
    assert outcome.subscriptions == CUSTOMERS
    assert statuses == {"paid": CUSTOMERS}
    assert payments == {"succeeded": CUSTOMERS}
    assert outcome.paid == CUSTOMERS
    assert outcome.pre_debit_scheduled == 0
