"""The billing run: everything due on the system clock (renewals, trial ends, scheduled changes
and cancellations, usage in arrears, payment retries and final actions), in batches, across any
number of workers.

The scheduler's tick hands each tenant one `bill_tenant` job (the operator scope cannot see
which tenants have work due: row-level security). A job that finds work adds PARALLEL_JOBS - 1
more for its tenant, so a tenant with a run to do is billed by that many workers while idle
tenants cost one short job a minute. Each job takes batch after batch until nothing is due.
A batch is two transactions:

1. The due work (`jobs.scheduler.run_due`): subscriptions are claimed with SKIP LOCKED, so
   workers never wait for or repeat each other's rows; their invoices, lines, tax, numbers,
   ledger entries, payment tries and events are written with bulk statements (`core.bulk`).
   A crash before its commit leaves nothing; after it, everything, and the subscriptions have
   moved on: exactly once.
2. Charging what the first transaction scheduled for now (`payments.charge_many`), after its
   commit, so no gateway is ever asked for an invoice that could still roll back. A crash here
   leaves the tries `scheduled`; the scheduler's sweep sends them (with the same idempotency
   keys) two minutes later. The batch's record (`billing_batches`) commits with the payments.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter

import structlog
from sqlalchemy.orm import Session

from hisaab.billing import repository
from hisaab.billing.models import BillingBatch
from hisaab.core import tally
from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.core.ids import new_id
from hisaab.db import Database
from hisaab.jobs import queue, scheduler
from hisaab.observability import (
    BILLING_BATCHES,
    BILLING_LAG,
    BILLING_RUNS,
    INVOICES_ISSUED,
    PAYMENTS,
)
from hisaab.payments import service as payments
from hisaab.tenants import service as tenants

QUEUE = "billing"
TASK = "bill_tenant"
# Jobs per tenant and tick: how many workers may bill one tenant at once.
PARALLEL_JOBS = 4
# A bound, not a throttle: a job stops after this many batches and the next tick goes on.
MAX_BATCHES_PER_JOB = 100_000
log = structlog.get_logger("hisaab.billing")
WORKER = f"{socket.gethostname()}:{os.getpid()}"


def fan_out(session: Session) -> int:
    """Queue every tenant's first billing job (operator scope); how many were added (a tenant
    whose job is still waiting gets no second one)."""
    return sum(_enqueue(session, tenant_id, 0) for tenant_id in tenants.all_tenant_ids(session))


def _enqueue(session: Session, tenant_id: str, shard: int) -> bool:
    job = queue.enqueue(
        session,
        TASK,
        {"tenant_id": tenant_id, "shard": shard},
        queue=QUEUE,
        queueing_lock=f"bill:{tenant_id}:{shard}",
    )
    return job is not None


def run_tenant(database: Database, tenant_id: str, shard: int) -> int:
    """Batches until the tenant has nothing due; how many items were done. The first job of
    a tenant that finds work calls in the others."""
    done = 0
    started = time.perf_counter()
    for _ in range(MAX_BATCHES_PER_JOB):
        batch = run_batch(database, tenant_id)
        if batch == 0:
            break
        if done == 0 and shard == 0:
            with database.transaction(tenant_id) as session:
                for other in range(1, PARALLEL_JOBS):
                    _enqueue(session, tenant_id, other)
        done += batch
    if done:
        BILLING_RUNS.observe(time.perf_counter() - started)
    return done


def run_batch(database: Database, tenant_id: str) -> int:
    """One batch of the tenant's due work on the system clock, then its payments; how many
    items were done."""
    started_at = SYSTEM_CLOCK.now()
    started = time.perf_counter()
    with database.transaction(tenant_id) as session:
        deferred = payments.charges_after_commit(session)
        done = scheduler.run_due(session, None, started_at)
        counts = tally.take(session)
        to_charge = list(deferred)
    if done == 0:
        return 0
    with database.transaction(tenant_id) as session:
        # The sweep's charges ran in the first transaction; the batch's own in this one.
        outcomes = Counter(
            {
                key.removeprefix(payments.TALLY_PREFIX): count
                for key, count in counts.items()
                if key.startswith(payments.TALLY_PREFIX)
            }
        )
        if to_charge:
            outcomes += payments.charge_many(session, tenant_id, to_charge, SYSTEM_CLOCK.now())
        seconds = time.perf_counter() - started
        repository.add(
            session,
            BillingBatch(
                tenant_id=tenant_id,
                id=new_id("bb"),
                worker=WORKER,
                started_at=started_at,
                finished_at=SYSTEM_CLOCK.now(),
                subscriptions=counts["subscriptions"],
                invoices=counts["invoices"],
                payments_succeeded=outcomes["succeeded"],
                payments_failed=outcomes["failed"] + outcomes["requires_action"],
                payments_pending=outcomes["scheduled"] + outcomes["processing"],
                max_lag_ms=counts["lag_ms"],
            ),
        )
    BILLING_BATCHES.observe(seconds)
    BILLING_LAG.observe(counts["lag_ms"] / 1000)
    INVOICES_ISSUED.inc(counts["invoices"])
    for outcome, count in outcomes.items():
        PAYMENTS.labels(outcome).inc(count)
    log.info(
        "billing_batch",
        tenant_id=tenant_id,
        done=done,
        subscriptions=counts["subscriptions"],
        invoices=counts["invoices"],
        payments=dict(outcomes),
        lag_ms=counts["lag_ms"],
        duration_ms=round(seconds * 1000, 1),
    )
    return done
