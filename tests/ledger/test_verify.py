"""`hisaab ledger verify` after many flows (as a module and as the real CLI), the ways it fails
on books tampered with by hand, credit notes, and the journal being append-only for the app."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, ProgrammingError

import hisaab.jobs.tasks  # noqa: F401  (registers the due work: renewals, revenue recognition)
from hisaab.db import Database
from hisaab.ledger import service as ledger
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing
from tests.ledger.books import (
    CASH,
    CGST,
    RECEIVABLE,
    RETURNS,
    SGST,
    assert_verified,
    check,
    entries,
    kinds,
    lines,
    trial_balance,
)

BASIC, PRO = 100_000, 200_000
APRIL_1 = "2026-03-31T18:30:00Z"


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing.invoiced(tenant, run_jobs)


def _invoice(billing: Billing, clock: str | None, plan: str, **extra: Any) -> dict[str, Any]:
    customer = extra.pop("customer", None) or billing.customer(clock, **extra)
    sub = billing.subscribe(customer, plan)
    invoice: dict[str, Any] = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    return invoice


def _credit_note(billing: Billing, invoice: dict[str, Any], **body: Any) -> dict[str, Any]:
    """A credit note through the API; it posts its one entry in the same transaction."""
    note: dict[str, Any] = billing.post(
        "/v1/credit_notes", {"invoice_id": invoice["id"], **body}, 201
    )
    assert kinds(billing, note["id"]) == ["credit_note"]
    return note


def _mixed_flows(billing: Billing) -> None:
    """Most of what can happen to invoices, in one tenant, on the real books and two clocks."""
    pro, basic = billing.plan("pro", PRO), billing.plan("basic", BASIC)
    annual = billing.plan("annual", 1_200_000, interval="year")
    # Real books: taxed, paid; taxed, partly credited then voided; written off then paid.
    paid = _invoice(billing, None, pro, country="IN", state="KA")
    billing.post(f"/v1/invoices/{paid['id']}/pay", {"paid_out_of_band": True})
    _credit_note(billing, paid, reason="order_change", amount=23_600, refund=True)
    credited = _invoice(billing, None, pro, country="IN", state="KA")
    _credit_note(billing, credited, reason="order_change", amount=100_000)
    billing.post(f"/v1/invoices/{credited['id']}/void")
    lost = _invoice(billing, None, basic)
    billing.post(f"/v1/invoices/{lost['id']}/mark_uncollectible")
    billing.post(f"/v1/invoices/{lost['id']}/pay", {"paid_out_of_band": True})
    # A clock: a downgrade's net credit used by the renewal, which is then voided.
    clock = billing.clock(APRIL_1)
    customer = billing.customer(clock)
    sub = billing.subscribe(customer, pro)
    _invoice(billing, clock, annual, country="IN", gstin="27AAACA1234A1ZK")
    billing.advance(clock, "2026-04-15T18:30:00Z")
    billing.post(
        f"/v1/subscriptions/{sub['id']}/change",
        {"plan_id": basic, "proration_behavior": "always_invoice"},
    )
    billing.advance(clock, "2026-04-30T18:30:01Z")
    billing.post(f"/v1/invoices/{billing.invoices(sub['id'])[-1]['id']}/void")
    billing.advance(clock, "2026-07-01T00:00:00Z")
    # Another clock: fully credited to the customer's balance after being paid.
    other = billing.clock(APRIL_1)
    settled = _invoice(billing, other, pro, country="IN", state="KA")
    billing.post(f"/v1/invoices/{settled['id']}/pay", {"paid_out_of_band": True})
    _credit_note(billing, settled, reason="duplicate")
    billing.advance(other, "2026-06-01T00:00:00Z")


def _cli(owner_url: URL, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `hisaab` command, pointed at the test database as its owner."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HISAAB_")}
    env["HISAAB_DATABASE_URL"] = owner_url.render_as_string(hide_password=False)
    env["HISAAB_DATA_DIR"] = str(tmp_path)
    script = Path(sys.executable).parent / "hisaab"
    return subprocess.run(
        [str(script), "ledger", "verify", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_mixed_flows_verify_clean_in_process_and_through_the_cli(
    billing: Billing, test_db: Any, tmp_path: Path
) -> None:
    _mixed_flows(billing)
    report = assert_verified(test_db.owner_url, billing.tenant.id)
    assert (report.tenants, report.books) == (1, 3)
    assert report.entries > 15
    result = _cli(test_db.owner_url, tmp_path, "--tenant", billing.tenant.id)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == report.summary()
    assert "no violations" in result.stdout


@pytest.fixture
def owner(test_db: Any) -> Iterator[Any]:
    engine = create_engine(test_db.owner_url)
    yield engine
    engine.dispose()


def _hand_entry(
    owner: Any, tenant_id: str, entry_id: str, rows: list[tuple[str, int, int, str | None]]
) -> None:
    """Write an entry straight into the tables, as the owner, bypassing every rule but SQL's."""
    with owner.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ledger_accounts VALUES (:t, 'INR', '1200', 'Cash and gateway "
                "clearing', 'asset', 'debit', now()) ON CONFLICT DO NOTHING"
            ),
            {"t": tenant_id},
        )
        connection.execute(
            text(
                "INSERT INTO journal_entries (tenant_id, id, test_clock_id, currency, kind, "
                "source_type, source_id, occurred_at, posted_at) VALUES (:t, :id, NULL, 'INR', "
                "'manual', 'manual', 'by-hand', now(), now())"
            ),
            {"t": tenant_id, "id": entry_id},
        )
        for number, (code, debit, credit, invoice_id) in enumerate(rows, start=1):
            connection.execute(
                text(
                    "INSERT INTO journal_lines (tenant_id, entry_id, line_no, currency, "
                    "account_code, debit, credit, customer_id, invoice_id) "
                    "VALUES (:t, :e, :n, 'INR', :code, :debit, :credit, NULL, :invoice)"
                ),
                {
                    "t": tenant_id,
                    "e": entry_id,
                    "n": number,
                    "code": code,
                    "debit": debit,
                    "credit": credit,
                    "invoice": invoice_id,
                },
            )


def _remove(owner: Any, entry_id: str) -> None:
    """The owner may delete (the app may not): keep the shared test database verifiable."""
    with owner.begin() as connection:
        connection.execute(text("DELETE FROM journal_entries WHERE id = :id"), {"id": entry_id})


def test_an_unbalanced_entry_inserted_by_hand_fails_verify(
    billing: Billing, test_db: Any, owner: Any, tmp_path: Path
) -> None:
    _invoice(billing, None, billing.plan("pro", PRO))
    assert_verified(test_db.owner_url, billing.tenant.id)
    bad = "je_01kzzzzzzzzzzzzzzzzzzzzzzz"
    _hand_entry(owner, billing.tenant.id, bad, [(CASH, 100, 0, None)])
    try:
        report = check(test_db.owner_url, billing.tenant.id)
        assert {v.check for v in report.violations} == {"entry_unbalanced", "book_unbalanced"}
        result = _cli(test_db.owner_url, tmp_path, "--tenant", billing.tenant.id)
        assert result.returncode == 1, result.stdout + result.stderr
        output = result.stdout.strip().splitlines()
        assert output[-1].endswith("2 violations")
        [unbalanced] = [line for line in output if line.startswith("entry_unbalanced")]
        assert bad in unbalanced
        assert billing.tenant.id in unbalanced
        assert "debits 100 != credits 0" in unbalanced
    finally:
        _remove(owner, bad)
    assert_verified(test_db.owner_url, billing.tenant.id)


def test_a_balanced_entry_that_contradicts_the_invoice_fails_verify(
    billing: Billing, test_db: Any, owner: Any
) -> None:
    invoice = _invoice(billing, None, billing.plan("pro", PRO))
    forged = "je_01kzzzzzzzzzzzzzzzzzzzzzzy"
    # "Paid" in the books while the invoice is still open.
    _hand_entry(
        owner,
        billing.tenant.id,
        forged,
        [(CASH, PRO, 0, invoice["id"]), (RECEIVABLE, 0, PRO, invoice["id"])],
    )
    try:
        found = {
            (v.check, v.detail) for v in check(test_db.owner_url, billing.tenant.id).violations
        }
    finally:
        _remove(owner, forged)
    assert {c for c, _ in found} == {"invoice_balance", "line_invoice"}
    details = "\n".join(d for _, d in found)
    assert f"invoice {invoice['id']} (open) account 1100: balance 0, expected {PRO}" in details
    assert f"invoice {invoice['id']} (open) account 1200: balance {PRO}, expected 0" in details


def test_record_credit_note_posts_once_and_refuses_amounts_that_do_not_add_up(
    billing: Billing, database: Database
) -> None:
    clock = billing.clock(APRIL_1)
    invoice = _invoice(billing, clock, billing.plan("pro", PRO), country="IN", state="KA")
    note = {
        "credit_note_id": "cn_01kzzzzzzzzzzzzzzzzzzzzzzz",
        "invoice_id": invoice["id"],
        "customer_id": invoice["customer_id"],
        "test_clock_id": clock,
        "currency": "inr",
        "occurred_at": datetime.fromisoformat("2026-04-02T00:00:00+00:00"),
        "net_amount": 50_000,
        "taxes": {"CGST": 4_500, "SGST": 4_500},
        "to_receivable": 40_000,
        "to_customer_credit": 15_000,
        "refunded": 4_000,
    }
    with database.transaction(billing.tenant.id) as session:
        with pytest.raises(ValueError, match="allocates"):
            ledger.record_credit_note(session, billing.tenant.id, **{**note, "refunded": 3_999})
        ledger.record_credit_note(session, billing.tenant.id, **note)
    [entry] = entries(billing, "cn_01kzzzzzzzzzzzzzzzzzzzzzzz")
    assert (entry["kind"], entry["source_type"], entry["test_clock_id"]) == (
        "credit_note",
        "credit_note",
        clock,
    )
    assert lines(entry) == {
        RETURNS: (50_000, 0),
        CGST: (4_500, 0),
        SGST: (4_500, 0),
        RECEIVABLE: (0, 40_000),
        "2100": (0, 15_000),
        CASH: (0, 4_000),
    }
    assert {line["invoice_id"] for line in entry["lines"]} == {invoice["id"]}
    books = trial_balance(billing, clock)
    assert (books[RECEIVABLE], books[RETURNS], books[CGST]) == (236_000 - 40_000, 50_000, 13_500)
    with (
        pytest.raises(IntegrityError, match="uq_journal_entries_once"),
        database.transaction(billing.tenant.id) as session,
    ):
        ledger.record_credit_note(session, billing.tenant.id, **note)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE journal_lines SET debit = debit + 1",
        "UPDATE journal_entries SET kind = 'edited'",
        "DELETE FROM journal_lines",
        "DELETE FROM journal_entries",
        "UPDATE ledger_accounts SET name = 'renamed'",
        "DELETE FROM ledger_accounts",
    ],
)
def test_the_app_role_cannot_change_or_delete_the_journal(
    billing: Billing, database: Database, statement: str
) -> None:
    _invoice(billing, None, billing.plan("pro", PRO))
    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        database.transaction(billing.tenant.id) as session,
    ):
        session.execute(text(statement))
    assert trial_balance(billing)[RECEIVABLE] == PRO
