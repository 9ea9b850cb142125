"""The billing run's claim reads due subscriptions in index order and stops at its batch size:
one that read and sorted every due subscription of the tenant made a run grow with the square of
its size (migration 0021). Checked on the statement the repository sends, as PostgreSQL plans it
for a tenant with more subscriptions due than a batch takes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from hisaab.db import Database
from hisaab.subscriptions import repository
from hisaab.subscriptions.service import DUE_BATCH
from tests import seeding
from tests.conftest import ADMIN_TOKEN, TestDatabase
from tests.databases import owner_connection


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _plan_nodes(child))]


@pytest.mark.parametrize("on_clock", [False, True])
def test_the_claim_reads_a_batch_in_index_order_without_sorting_every_due_subscription(
    app: Any, database: Database, test_db: TestDatabase, on_clock: bool
) -> None:
    (tenant,) = seeding.seed_tenants(app, ADMIN_TOKEN, 1)
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    clock_id = None
    if on_clock:
        clock_id = "clock_claimorder"
        with owner_connection(test_db.owner_url) as conn:
            conn.execute(
                text(
                    "INSERT INTO test_clocks (tenant_id, id, name, status, frozen_time, "
                    "reached_time, created_at) VALUES (:t, :c, 'claim', 'ready', :at, :at, :at)"
                ),
                {"t": tenant.id, "c": clock_id, "at": due - timedelta(days=1)},
            )
            conn.commit()
    seeding.seed_subscriptions(
        test_db.owner_url, tenant.id, 4 * DUE_BATCH, due_at=due, clock_id=clock_id
    )
    with owner_connection(test_db.owner_url) as conn:
        conn.execute(text("ANALYZE subscriptions"))
        conn.commit()

    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FOR UPDATE SKIP LOCKED" in statement:
            sent.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        with database.transaction(tenant.id) as session:
            claimed = repository.claim_due(session, clock_id, datetime.now(UTC), DUE_BATCH)
            [(statement, parameters)] = sent
            plan = (
                session.connection()
                .exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
                .scalar_one()
            )
    finally:
        event.remove(database.engine, "before_cursor_execute", record)

    assert len(claimed) == DUE_BATCH
    nodes = _plan_nodes(plan[0]["Plan"])
    assert not [n for n in nodes if n["Node Type"] in ("Sort", "Incremental Sort")], nodes
    index = "ix_subscriptions_due_on_clock" if on_clock else "ix_subscriptions_due"
    assert index in {n.get("Index Name") for n in nodes}, nodes
