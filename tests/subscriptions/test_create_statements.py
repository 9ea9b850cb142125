"""What `POST /v1/subscriptions` asks of PostgreSQL: each row written once, with its final
state, and nothing read twice, in both halves of the request (the first invoice issued, then
charged after the mid-request commit). The response, the documents and the events are those of
any creation (tests/e2e); here, the statements that carry them, counted.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import text

from hisaab.db import Database
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing


def _kinds(sent: list[str]) -> Counter[str]:
    """`INSERT events`, `SELECT invoices`, ...: the verb and the first table named."""
    kinds: Counter[str] = Counter()
    for statement in sent:
        found = re.match(r"(INSERT INTO|UPDATE|SELECT .*? FROM|DELETE FROM) (\w+)", statement)
        if found:
            kinds[f"{found[1].split()[0]} {found[2]}"] += 1
    return kinds


def _halves(sent: list[str]) -> tuple[Counter[str], Counter[str]]:
    """Before and after the request's commit (the tenant context is set again after it)."""
    cut = next(i for i, s in enumerate(sent) if s.startswith("SELECT set_config('app.tenant_id'"))
    return _kinds(sent[:cut]), _kinds(sent[cut:])


def test_the_first_invoice_is_issued_and_charged_writing_each_row_once(
    tenant: TenantHandle, run_jobs: Any, database: Database, statements: list[str]
) -> None:
    billing = Billing(tenant, run_jobs)
    customer = billing.customer(None, country="IN", state="MH")
    plan = billing.plan("pro", 200_000)
    statements.clear()
    sub = billing.subscribe(customer, plan)
    issued, charged = _halves(statements)

    assert sub["status"] == "active"
    invoice = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    assert (invoice["status"], invoice["amount_remaining"], invoice["total"]) == (
        "paid",
        0,
        236_000,
    )
    assert billing.events(sub["id"]) == ["subscription.created"]
    # (ids minted within one millisecond need not sort in the order they were minted)
    assert sorted(billing.events(invoice["id"])) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
    ]

    # Inserted as they end up (no UPDATE after), all events in one statement per half.
    assert issued["INSERT subscriptions"] == 1
    assert issued["INSERT invoices"] == issued["INSERT invoice_lines"] == 1
    assert not issued["UPDATE subscriptions"] and not issued["UPDATE invoices"]
    assert issued["INSERT events"] == charged["INSERT events"] == 1
    # A new subscription has no pending items; its first period is earned later, not now.
    assert not issued["SELECT pending_invoice_items"]
    assert not issued["SELECT revenue_schedule"]
    # After the commit: the invoice is locked once, its due tries read once; the customer,
    # its payment method and the tenant's endpoints are not read again.
    assert charged["SELECT invoices"] == 1
    assert charged["SELECT payment_attempts"] == 2  # the due tries, the later ones
    assert not charged["SELECT customers"] and not charged["SELECT payment_methods"]
    assert not charged["SELECT webhook_endpoints"] and not charged["SELECT refunds"]
    assert not charged["UPDATE subscriptions"]
    assert not charged["SELECT invoice_lines"], "the lines just issued are not read back"
    assert charged["UPDATE invoices"] == charged["UPDATE payment_attempts"] == 1

    # ...and what the events say is what the invoice, read afresh, says.
    found = billing.get("/v1/events", object_id=invoice["id"])["data"]
    paid = next(e for e in found if e["type"] == "invoice.paid")["data"]["object"]
    assert paid == invoice
    finalized = next(e for e in found if e["type"] == "invoice.finalized")["data"]["object"]
    assert finalized["lines"] == invoice["lines"] and finalized["number"] == invoice["number"]

    with database.transaction(tenant.id) as session:
        row = session.execute(
            text(
                "SELECT status, latest_invoice_id, next_action_at, current_period_end "
                "FROM subscriptions WHERE id = :id"
            ),
            {"id": sub["id"]},
        ).one()
    assert row.status == "active" and row.latest_invoice_id == invoice["id"]
    assert row.next_action_at == row.current_period_end is not None


def test_a_trial_is_inserted_once_and_announced_once(
    tenant: TenantHandle, run_jobs: Any, statements: list[str]
) -> None:
    billing = Billing(tenant, run_jobs)
    customer = billing.customer(None, country="IN", state="MH")
    plan = billing.plan("pro", 200_000)
    statements.clear()
    sub = billing.subscribe(customer, plan, trial_days=14)
    kinds = _kinds(statements)
    assert (sub["status"], sub["latest_invoice_id"]) == ("trialing", None)
    assert kinds["INSERT subscriptions"] == kinds["INSERT events"] == 1
    assert not kinds["UPDATE subscriptions"] and not kinds["INSERT invoices"]
    assert billing.events(sub["id"]) == ["subscription.created"]


def test_a_declined_first_charge_still_leaves_the_subscription_incomplete(
    tenant: TenantHandle, run_jobs: Any, statements: list[str]
) -> None:
    billing = Billing(tenant, run_jobs, payment_method="pm_card_chargeDeclined")
    customer = billing.customer(None, country="IN", state="MH")
    statements.clear()
    sub = billing.subscribe(customer, billing.plan("pro", 200_000))
    _, charged = _halves(statements)
    assert sub["status"] == "incomplete"
    invoice = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    assert invoice["status"] == "open"
    payments = billing.get("/v1/payments", invoice_id=invoice["id"])["data"]
    first = next(p for p in payments if p["attempt_number"] == 1)
    assert (first["status"], first["failure_code"]) == ("failed", "generic_decline")
    assert charged["INSERT events"] == 1
    assert set(billing.events(invoice["id"])) >= {"invoice.payment_failed", "invoice.finalized"}
