"""Running an invoice's due tries: a try made while they run (what is owed changed) is due at
once and runs in the same call; without one, the invoice is not asked again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import event

from hisaab.db import Database
from hisaab.payments import service as payments
from tests.conftest import TenantHandle
from tests.databases import libpq
from tests.e2e.billing import Billing

START = "2026-03-01T00:00:00Z"
LATER = datetime(2026, 3, 20, tzinfo=UTC)


def _attempts(billing: Billing, invoice_id: str) -> list[tuple[int, str, int]]:
    found = billing.get("/v1/payments", invoice_id=invoice_id)["data"]
    return sorted((p["attempt_number"], p["status"], p["amount"]) for p in found)


def test_a_retry_for_more_than_is_owed_is_replaced_and_the_new_try_runs_at_once(
    tenant: TenantHandle, run_jobs: Any, database: Database, test_db: Any
) -> None:
    billing = Billing(tenant, run_jobs, payment_method="pm_card_chargeDeclined")
    customer = billing.customer(billing.clock(START))
    sub = billing.subscribe(customer, billing.plan("pro", 200_000))
    invoice_id = sub["latest_invoice_id"]
    (_, first, _), (_, retry, _) = _attempts(billing, invoice_id)
    assert (sub["status"], first, retry) == ("incomplete", "failed", "scheduled")
    # A credit note takes 50,000 off what is owed; the scheduled retry still asks for it all.
    billing.post(
        "/v1/credit_notes",
        {"invoice_id": invoice_id, "amount": 50_000, "reason": "order_change"},
        201,
    )
    with psycopg.connect(libpq(test_db.owner_url), autocommit=True) as owner:
        owner.execute(  # the card works now (as if the bank lifted its block)
            "UPDATE payment_methods SET token = 'pm_card_visa' WHERE customer_id = %s",
            (customer,),
        )
    reads: list[str] = []

    def record(*args: Any) -> None:
        # (the due tries are read together with those still ahead, in the order they run)
        statement = " ".join(args[2].split())
        if statement.startswith("SELECT payment_attempts") and statement.endswith(
            "ORDER BY payment_attempts.attempt_number FOR UPDATE"
        ):
            reads.append(args[2])

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        with database.transaction(tenant.id) as session:
            done = payments.run_invoice(session, tenant.id, invoice_id, LATER)
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    assert done == 2
    assert _attempts(billing, invoice_id) == [
        (1, "failed", 200_000),
        (2, "canceled", 200_000),
        (3, "succeeded", 150_000),
    ]
    invoice = billing.get(f"/v1/invoices/{invoice_id}")
    assert (invoice["status"], invoice["amount_remaining"]) == ("paid", 0)
    # Due tries read: the first round, the round of the new try, and no third time.
    assert len(reads) == 2
