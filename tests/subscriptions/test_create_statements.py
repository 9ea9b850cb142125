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

_PART = re.compile(r"(?:AS \(|\) )(INSERT INTO|UPDATE) (\w+)")


def _parts(statement: str) -> list[str]:
    """`INSERT events`, `SELECT invoices`, ...: the verb and the table it names; for a
    statement of several writes (`WITH w0 AS (INSERT …), … INSERT …`), each of them."""
    if statement.startswith("WITH "):
        return [f"{verb.split()[0]} {table}" for verb, table in _PART.findall(statement)]
    found = re.match(r"(INSERT INTO|UPDATE|SELECT .*? FROM|DELETE FROM) (\w+)", statement)
    return [f"{found[1].split()[0]} {found[2]}"] if found else []


def _kinds(sent: list[str]) -> Counter[str]:
    return Counter(part for statement in sent for part in _parts(statement))


def _together(sent: list[str]) -> list[set[str]]:
    """The writes that went as one statement, for each statement of several."""
    return [set(parts) for statement in sent if len(parts := _parts(statement)) > 1]


def _cut(sent: list[str]) -> int:
    """Where the request's commit is (the tenant context is set again after it)."""
    return next(i for i, s in enumerate(sent) if s.startswith("SELECT set_config('app.tenant_id'"))


def _halves(sent: list[str]) -> tuple[Counter[str], Counter[str]]:
    """Before and after the request's commit."""
    return _kinds(sent[: _cut(sent)]), _kinds(sent[_cut(sent) :])


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
    assert charged["SELECT payment_attempts"] == 1  # the due tries, with the later ones
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


def test_a_create_sends_each_half_in_as_few_statements_as_its_reads_allow(
    tenant: TenantHandle, run_jobs: Any, database: Database, statements: list[str]
) -> None:
    """The rows one half writes without reading them back go as one statement: the
    subscription with its invoice and lines, the payment try, the journal entry, its lines, the
    revenue schedule and the events; after the charge, its journal entry, lines and events with
    the request's audit entry. The plan's version, read by an earlier create, is not read
    again."""
    billing = Billing(tenant, run_jobs)
    plan = billing.plan("pro", 200_000)
    billing.subscribe(billing.customer(None, country="IN", state="MH"), plan)
    customer = billing.customer(None, country="IN", state="MH")
    statements.clear()
    sub = billing.subscribe(customer, plan)
    assert sub["status"] == "active"
    issued, charged = statements[: _cut(statements)], statements[_cut(statements) :]

    kinds = _kinds(statements)
    assert kinds["SELECT plans"] == 1
    assert not kinds["SELECT plan_versions"] and not kinds["SELECT plan_prices"]
    assert _together(issued) == [
        {
            "INSERT subscriptions",
            "INSERT invoices",
            "INSERT invoice_lines",
            "INSERT payment_attempts",
            "INSERT events",
            "INSERT journal_entries",
            "INSERT journal_lines",
            "INSERT revenue_schedule",
        },
    ]
    assert _together(charged) == [
        {"INSERT journal_entries", "INSERT journal_lines", "INSERT events", "INSERT audit_log"}
    ]
    # Key lookup, customer, plan, tenant, payment method, credit balance, invoice number, the
    # rows above, the job.
    assert len(issued) == 9, issued
    # Scope, invoice locked, its tries, gateway customer (read, made), invoice and try
    # updated, credit notes, dunning, the rows above with the request's audit entry.
    assert len(charged) == 10, charged
    with database.transaction(tenant.id) as session:
        audited = session.execute(
            text("SELECT status FROM audit_log WHERE path = '/v1/subscriptions'")
        ).all()
    assert [row.status for row in audited] == [201, 201]


def test_a_create_with_an_idempotency_key_replays_its_charged_answer(
    tenant: TenantHandle, run_jobs: Any
) -> None:
    """The key is marked at the mid-request commit and the answer stored by the request's end,
    after the charge's batch took the audit entry along: a replay gets the same answer and
    nothing is subscribed, invoiced or charged again."""
    billing = Billing(tenant, run_jobs)
    customer = billing.customer(None, country="IN", state="MH")
    body = {"customer_id": customer, "plan_id": billing.plan("pro", 200_000)}
    headers = {"Idempotency-Key": "create-sub-once"}
    first = tenant.http.post("/v1/subscriptions", json=body, headers=headers)
    again = tenant.http.post("/v1/subscriptions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json()
    assert first.json()["status"] == "active"
    subs = billing.get("/v1/subscriptions", customer_id=customer)["data"]
    assert [s["id"] for s in subs] == [first.json()["id"]]
    invoices = billing.invoices(first.json()["id"])
    assert [(i["status"], i["amount_paid"]) for i in invoices] == [("paid", 236_000)]
    payments = billing.get("/v1/payments", invoice_id=invoices[0]["id"])["data"]
    assert [p["status"] for p in payments] == ["succeeded"]


def test_the_invoice_number_is_taken_after_every_read_of_the_create(
    tenant: TenantHandle, run_jobs: Any, statements: list[str]
) -> None:
    """Taking the number locks the tenant's series until the commit, and every other create
    waits for it: only the half's writes and its job may go between the two (the tenant's
    first invoice in a currency also makes its ledger accounts)."""
    billing = Billing(tenant, run_jobs)
    customer = billing.customer(None, country="IN", state="MH")
    plan = billing.plan("pro", 200_000)
    statements.clear()
    billing.subscribe(customer, plan)
    issued = statements[: _cut(statements)]
    taken = next(i for i, s in enumerate(issued) if s.startswith("INSERT INTO document_sequences"))
    *written, job = issued[taken + 1 :]
    assert all(s.startswith(("INSERT", "WITH", "UPDATE")) for s in written), written
    assert "INSERT invoices" in _kinds(written)
    assert job.startswith("SELECT procrastinate_defer_jobs_v1")
