"""The billing run's due work (subscriptions to renew, payment tries to send, dunning final
actions, revenue to recognize) is read in index order, stopping at its batch size: a query that
read and sorted every due row of the tenant made a run grow with the square of its size
(migration 0021). Checked on the statements the repositories send, as PostgreSQL plans them for
a tenant with more due rows than a batch takes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, text

from hisaab.billing import service as billing
from hisaab.db import Database
from hisaab.jobs import tasks as _tasks  # noqa: F401 - registers the due work with the scheduler
from hisaab.ledger import repository as ledger
from hisaab.payments import repository as payments
from hisaab.subscriptions import repository as subscriptions
from hisaab.subscriptions.service import DUE_BATCH
from tests import seeding
from tests.conftest import ADMIN_TOKEN, TenantHandle, TestDatabase
from tests.databases import owner_connection

# Far fewer than are due, so that reading in index order is the plan whenever an index gives
# the order: a query that must sort every due row before its LIMIT shows a Sort.
FEW = 20
SORTS = ("Sort", "Incremental Sort")


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


@contextmanager
def _planned(
    database: Database, test_db: TestDatabase, tenant_id: str
) -> Iterator[Callable[..., list[dict[str, Any]]]]:
    """In the tenant's transaction: `plan(query, *args)` runs the repository's query and answers
    the plan of the one statement it sent (on fresh statistics)."""
    with owner_connection(test_db.owner_url) as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        with database.transaction(tenant_id) as session:

            def plan(query: Callable[..., Any], *args: Any) -> list[dict[str, Any]]:
                sent.clear()
                assert query(session, *args), "something is due"
                [(statement, parameters)] = sent
                explained = (
                    session.connection()
                    .exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
                    .scalar_one()
                )
                return _nodes(explained[0]["Plan"])

            yield plan
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _in_order(nodes: list[dict[str, Any]], index: str) -> None:
    assert not [n for n in nodes if n["Node Type"] in SORTS], nodes
    assert index in {n.get("Index Name") for n in nodes}, nodes


def test_the_run_reads_each_kind_of_due_work_in_index_order(
    app: Any, database: Database, test_db: TestDatabase
) -> None:
    """An Indian tenant's renewals, half of them declined: after a run, the next renewals,
    the tries (pre-debit debits, retries), the dunning final actions and the revenue are all
    due some weeks on."""
    (tenant,) = seeding.seed_tenants(app, ADMIN_TOKEN, 1)
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    seeding.seed_subscriptions(
        test_db.owner_url, tenant.id, 4 * DUE_BATCH, due_at=due, declined_share=0.5
    )
    assert billing.run_tenant(database, tenant.id, shard=1) == 4 * DUE_BATCH
    later = due + timedelta(days=60)
    with _planned(database, test_db, tenant.id) as plan:
        _in_order(plan(subscriptions.claim_due, None, later, FEW), "ix_subscriptions_due")
        _in_order(
            plan(payments.invoices_with_due_attempts, None, later, (), FEW),
            "ix_payment_attempts_due",
        )
        _in_order(plan(ledger.claim_due_slices, None, later, FEW), "ix_revenue_schedule_due")
    # A final action waits for the invoice's retries: with them called off, it is due.
    with owner_connection(test_db.owner_url) as conn:
        conn.execute(
            text(
                "UPDATE payment_attempts SET status = 'canceled' "
                "WHERE tenant_id = :t AND status = 'scheduled'"
            ),
            {"t": tenant.id},
        )
        conn.commit()
    with _planned(database, test_db, tenant.id) as plan:
        _in_order(plan(payments.dunning_due, None, later, FEW), "ix_invoice_dunning_final")


def test_a_test_clocks_renewals_are_read_in_index_order(
    make_tenant: Any, database: Database, test_db: TestDatabase
) -> None:
    tenant: TenantHandle = make_tenant()
    seeding.seed_catalog(tenant.http)
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    clock_id = seeding.create_test_clock(tenant.http, due - timedelta(days=1))
    seeding.seed_subscriptions(
        test_db.owner_url, tenant.id, 4 * DUE_BATCH, due_at=due, clock_id=clock_id
    )
    with _planned(database, test_db, tenant.id) as plan:
        _in_order(
            plan(subscriptions.claim_due, clock_id, due, FEW), "ix_subscriptions_due_on_clock"
        )
