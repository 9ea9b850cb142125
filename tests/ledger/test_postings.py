"""What each invoice event posts, seen through the API: the trial balance to the paisa, the
entries of a document, and `verify` agreeing with the documents after each flow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

import hisaab.jobs.tasks  # noqa: F401  (registers the due work: renewals, revenue recognition)
from tests.conftest import TenantHandle
from tests.databases import libpq
from tests.e2e.billing import Billing
from tests.ledger.books import (
    BAD_DEBT,
    CASH,
    CGST,
    CREDIT,
    DEFERRED,
    IGST,
    RECEIVABLE,
    REVENUE,
    SGST,
    assert_verified,
    entries,
    kinds,
    lines,
    trial_balance,
)

BASIC, PRO = 100_000, 200_000
# Midnight in Bengaluru on April 1st: the tenant's month starts here.
APRIL_1 = "2026-03-31T18:30:00Z"
MAY_1 = "2026-04-30T18:30:00Z"
JUNE_1 = "2026-05-31T18:30:00Z"


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing.invoiced(tenant, run_jobs)


def _subscribe(billing: Billing, clock: str | None, plan: str, **customer: Any) -> dict[str, Any]:
    sub = billing.subscribe(billing.customer(clock, **customer), plan)
    invoice: dict[str, Any] = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    return invoice


def test_finalize_posts_receivable_deferred_revenue_and_each_tax(
    billing: Billing, test_db: Any
) -> None:
    """A Karnataka customer of the Karnataka tenant: CGST and SGST, each its own payable."""
    invoice = _subscribe(billing, None, billing.plan("pro", PRO), country="IN", state="KA")
    assert trial_balance(billing) == {
        RECEIVABLE: 236_000,
        DEFERRED: PRO,
        CGST: 18_000,
        SGST: 18_000,
    }
    [entry] = entries(billing, invoice["id"])
    assert (entry["kind"], entry["source_type"], entry["currency"]) == (
        "invoice_finalized",
        "invoice",
        "INR",
    )
    assert entry["test_clock_id"] is None
    assert lines(entry) == {
        RECEIVABLE: (236_000, 0),
        DEFERRED: (0, PRO),
        CGST: (0, 18_000),
        SGST: (0, 18_000),
    }
    assert {(line["customer_id"], line["invoice_id"]) for line in entry["lines"]} == {
        (invoice["customer_id"], invoice["id"])
    }
    assert entry["lines"][0]["account_name"] == "Accounts receivable"
    assert_verified(test_db.owner_url, billing.tenant.id)


def test_out_of_band_payment_moves_the_receivable_to_cash(billing: Billing, test_db: Any) -> None:
    clock = billing.clock(APRIL_1)
    invoice = _subscribe(billing, clock, billing.plan("pro", PRO), country="IN", state="KA")
    assert trial_balance(billing) == {}, "a test clock's books are not the real books"
    billing.post(f"/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})
    assert trial_balance(billing, clock) == {
        RECEIVABLE: 0,
        CASH: 236_000,
        DEFERRED: PRO,
        CGST: 18_000,
        SGST: 18_000,
    }
    paid = entries(billing, invoice["id"])[-1]
    assert paid["kind"] == "invoice_paid"
    assert paid["test_clock_id"] == clock
    assert paid["occurred_at"] == "2026-03-31T18:30:00Z", "the customer's clock"
    assert lines(paid) == {CASH: (236_000, 0), RECEIVABLE: (0, 236_000)}
    assert_verified(test_db.owner_url, billing.tenant.id)


def test_written_off_then_paid_is_a_recovery(billing: Billing, test_db: Any) -> None:
    clock = billing.clock(APRIL_1)
    invoice = _subscribe(billing, clock, billing.plan("pro", PRO))
    path = f"/v1/invoices/{invoice['id']}"
    billing.post(f"{path}/mark_uncollectible")
    assert trial_balance(billing, clock) == {RECEIVABLE: 0, BAD_DEBT: PRO, DEFERRED: PRO}
    assert_verified(test_db.owner_url, billing.tenant.id)
    billing.post(f"{path}/pay", {"paid_out_of_band": True})
    assert trial_balance(billing, clock) == {
        RECEIVABLE: 0,
        BAD_DEBT: 0,
        CASH: PRO,
        DEFERRED: PRO,
    }
    assert kinds(billing, invoice["id"]) == [
        "invoice_finalized",
        "invoice_written_off",
        "invoice_paid",
    ]
    assert lines(entries(billing, invoice["id"])[-1]) == {CASH: (PRO, 0), BAD_DEBT: (0, PRO)}
    assert_verified(test_db.owner_url, billing.tenant.id)


def test_void_of_a_written_off_invoice_reverses_the_write_off(
    billing: Billing, test_db: Any
) -> None:
    clock = billing.clock(APRIL_1)
    invoice = _subscribe(billing, clock, billing.plan("pro", PRO), country="IN", state="KA")
    billing.post(f"/v1/invoices/{invoice['id']}/mark_uncollectible")
    billing.post(f"/v1/invoices/{invoice['id']}/void")
    assert set(trial_balance(billing, clock).values()) == {0}
    voided = entries(billing, invoice["id"])[-1]
    assert lines(voided) == {
        BAD_DEBT: (0, 236_000),
        DEFERRED: (PRO, 0),
        CGST: (18_000, 0),
        SGST: (18_000, 0),
    }
    assert_verified(test_db.owner_url, billing.tenant.id)


def test_net_credit_credit_applied_and_void_returning_it(billing: Billing, test_db: Any) -> None:
    clock = billing.clock(APRIL_1)
    customer = billing.customer(clock)
    basic, pro = billing.plan("basic", BASIC), billing.plan("pro", PRO)
    sub = billing.subscribe(customer, pro)
    billing.advance(clock, "2026-04-15T18:30:00Z")
    down = billing.post(
        f"/v1/subscriptions/{sub['id']}/change",
        {"plan_id": basic, "proration_behavior": "always_invoice"},
    )
    credit_invoice = billing.get(f"/v1/invoices/{down['latest_invoice_id']}")
    assert credit_invoice["total"] == -(PRO - BASIC) // 2
    [granted] = entries(billing, credit_invoice["id"])
    # The export is zero-rated (IGST 0 under LUT): no tax moves.
    assert lines(granted) == {CREDIT: (0, 50_000), DEFERRED: (50_000, 0)}
    assert trial_balance(billing, clock)[CREDIT] == 50_000

    billing.advance(clock, "2026-04-30T18:30:01Z")
    renewal = billing.invoices(sub["id"])[-1]
    assert (renewal["total"], renewal["credit_applied"]) == (BASIC, 50_000)
    [finalized] = entries(billing, renewal["id"])
    assert lines(finalized) == {RECEIVABLE: (50_000, 0), CREDIT: (50_000, 0), DEFERRED: (0, BASIC)}
    books = trial_balance(billing, clock)
    assert (books[CREDIT], books[RECEIVABLE]) == (0, PRO + 50_000)
    # April is over: the first invoice (+200,000) and the proration (-50,000) are all revenue.
    assert (books[REVENUE], books[DEFERRED]) == (PRO - 50_000, BASIC)
    assert_verified(test_db.owner_url, billing.tenant.id)

    billing.post(f"/v1/invoices/{renewal['id']}/void")
    assert lines(entries(billing, renewal["id"])[-1]) == {
        RECEIVABLE: (0, 50_000),
        CREDIT: (0, 50_000),
        DEFERRED: (BASIC, 0),
    }
    books = trial_balance(billing, clock)
    assert (books[CREDIT], books[RECEIVABLE], books[DEFERRED]) == (50_000, PRO, 0)
    assert_verified(test_db.owner_url, billing.tenant.id)


def test_revenue_is_recognised_month_by_month_as_the_clock_advances(
    billing: Billing, test_db: Any
) -> None:
    clock = billing.clock(APRIL_1)
    invoice = _subscribe(billing, clock, billing.plan("annual", 1_200_000, interval="year"))
    assert trial_balance(billing, clock) == {RECEIVABLE: 1_200_000, DEFERRED: 1_200_000}
    billing.advance(clock, "2026-04-20T00:00:00Z")
    assert REVENUE not in trial_balance(billing, clock), "nothing is earned before April ends"
    billing.advance(clock, MAY_1)
    # April is 30 of the year's 365 days: 98,630.14 rounded once.
    assert trial_balance(billing, clock) == {
        RECEIVABLE: 1_200_000,
        DEFERRED: 1_200_000 - 98_630,
        REVENUE: 98_630,
    }
    billing.advance(clock, "2026-06-15T00:00:00Z")
    # Through May: 61 of 365 days is 200,547.95, so 200,548 in all.
    assert trial_balance(billing, clock)[REVENUE] == 200_548
    recognitions = [e for e in entries(billing, invoice["id"]) if e["kind"] == "revenue_recognized"]
    assert [(e["occurred_at"], lines(e)) for e in recognitions] == [
        (MAY_1, {DEFERRED: (98_630, 0), REVENUE: (0, 98_630)}),
        (JUNE_1, {DEFERRED: (101_918, 0), REVENUE: (0, 101_918)}),
    ]
    assert_verified(test_db.owner_url, billing.tenant.id)

    billing.post(f"/v1/invoices/{invoice['id']}/void")
    assert lines(entries(billing, invoice["id"])[-1]) == {
        RECEIVABLE: (0, 1_200_000),
        DEFERRED: (1_200_000 - 200_548, 0),
        REVENUE: (200_548, 0),
    }
    billing.advance(clock, "2026-08-01T00:00:00Z")
    books = trial_balance(billing, clock)
    assert (books[REVENUE], books[DEFERRED]) == (0, 0), "a void cancels the rest of the schedule"
    assert_verified(test_db.owner_url, billing.tenant.id)


def test_monthly_renewals_defer_the_next_month_and_recognise_the_last(
    billing: Billing, test_db: Any
) -> None:
    clock = billing.clock(APRIL_1)
    sub = billing.subscribe(
        billing.customer(clock, country="IN", gstin="27AAACA1234A1ZK"), billing.plan("pro", PRO)
    )
    billing.advance(clock, "2026-05-31T18:30:01Z")
    assert len(billing.invoices(sub["id"])) == 3
    assert trial_balance(billing, clock) == {
        RECEIVABLE: 3 * 236_000,
        DEFERRED: PRO,
        REVENUE: 2 * PRO,
        IGST: 3 * 36_000,
    }
    assert_verified(test_db.owner_url, billing.tenant.id)


def test_books_are_per_currency(billing: Billing) -> None:
    _subscribe(billing, None, billing.plan("pro", PRO))
    assert trial_balance(billing, currency="inr")[RECEIVABLE] == PRO
    body = billing.get("/v1/ledger/trial_balance", currency="USD")
    assert (body["accounts"], body["total_debits"], body["currency"]) == ([], 0, "USD")


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 422, "validation_error"),
        ({"currency": "XYZ"}, 422, "invalid_currency"),
        ({"currency": "RUPEES"}, 422, "validation_error"),
        ({"currency": "INR", "test_clock_id": "clock_nope"}, 404, "resource_missing"),
    ],
)
def test_trial_balance_refuses_bad_input(
    billing: Billing, params: dict[str, str], status: int, code: str
) -> None:
    response = billing.tenant.http.get("/v1/ledger/trial_balance", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_entries_list_pages_and_filters(billing: Billing) -> None:
    first = _subscribe(billing, None, billing.plan("pro", PRO))
    second = _subscribe(billing, None, billing.plan("basic", BASIC))
    page = billing.get("/v1/ledger/entries", limit=1)
    assert page["has_more"] is True
    rest = billing.get("/v1/ledger/entries", limit=10, cursor=page["next_cursor"])
    assert rest["has_more"] is False
    assert {e["source_id"] for e in page["data"] + rest["data"]} == {first["id"], second["id"]}
    assert kinds(billing, second["id"]) == ["invoice_finalized"]
    assert billing.get("/v1/ledger/entries", source_id="in_unknown")["data"] == []


def test_another_tenants_books_are_invisible(
    billing: Billing, other_tenant: TenantHandle, run_jobs: Any
) -> None:
    clock = billing.clock(APRIL_1)
    invoice = _subscribe(billing, clock, billing.plan("pro", PRO))
    intruder = Billing.invoiced(other_tenant, run_jobs)
    assert intruder.get("/v1/ledger/entries", source_id=invoice["id"])["data"] == []
    assert intruder.get("/v1/ledger/entries")["data"] == []
    assert intruder.get("/v1/ledger/trial_balance", currency="INR")["accounts"] == []
    response = other_tenant.http.get(
        "/v1/ledger/trial_balance", params={"currency": "INR", "test_clock_id": clock}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "resource_missing"


def test_deleting_a_test_clock_deletes_its_books(billing: Billing) -> None:
    clock = billing.clock(APRIL_1)
    invoice = _subscribe(billing, clock, billing.plan("pro", PRO))
    billing.advance(clock, "2026-05-01T00:00:00Z")
    assert entries(billing, invoice["id"])
    response = billing.tenant.http.delete(f"/v1/test_clocks/{clock}")
    assert response.status_code == 200, response.text
    assert billing.get("/v1/ledger/entries")["data"] == []


def test_credit_notes_post_to_sales_returns_and_where_the_money_went(
    billing: Billing, test_db: Any
) -> None:
    clock = billing.clock(APRIL_1)
    invoice = _subscribe(billing, clock, billing.plan("pro", PRO), country="IN", state="KA")
    note = billing.post(
        "/v1/credit_notes",
        {"invoice_id": invoice["id"], "reason": "order_change", "amount": 118_000},
        201,
    )
    assert (note["subtotal"], note["tax"], note["credited_to_invoice"]) == (
        100_000,
        18_000,
        118_000,
    )
    [entry] = entries(billing, note["id"])
    assert (entry["kind"], entry["source_type"], entry["test_clock_id"]) == (
        "credit_note",
        "credit_note",
        clock,
    )
    assert lines(entry) == {
        "4900": (100_000, 0),
        CGST: (9_000, 0),
        SGST: (9_000, 0),
        RECEIVABLE: (0, 118_000),
    }
    assert {line["invoice_id"] for line in entry["lines"]} == {invoice["id"]}
    billing.post(f"/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})
    refund = billing.post(
        "/v1/credit_notes",
        {"invoice_id": invoice["id"], "reason": "duplicate", "refund": True},
        201,
    )
    assert lines(entries(billing, refund["id"])[0])[CASH] == (0, 118_000)
    assert trial_balance(billing, clock) == {
        RECEIVABLE: 0,
        CASH: 0,
        DEFERRED: PRO,
        "4900": PRO,
        CGST: 0,
        SGST: 0,
    }
    assert_verified(test_db.owner_url, billing.tenant.id)


def test_a_period_already_over_when_invoiced_is_recognised_with_the_invoice(
    billing: Billing, test_db: Any
) -> None:
    """A request that catches a subscription up (no scheduler ran) invoices February on March
    5th: February is earned already, so its revenue is posted with the invoice, while March's
    waits for its month to end (and January's for the recognition work, which did not run)."""
    clock = billing.clock(APRIL_1)
    sub = billing.subscribe(billing.customer(clock), billing.plan("pro", PRO))
    with psycopg.connect(libpq(test_db.owner_url), autocommit=True) as owner:
        # The clock has reached June 5th, and no scheduler has done its due work yet.
        owner.execute(
            "UPDATE test_clocks SET frozen_time = %(t)s, reached_time = %(t)s WHERE id = %(id)s",
            {"t": datetime(2026, 6, 5, tzinfo=UTC), "id": clock},
        )
    invoiced = billing.post("/v1/invoices/generate", {"subscription_id": sub["id"]}, 201)["data"]
    assert [i["period_start"] for i in invoiced] == [MAY_1, JUNE_1]
    may, june = (i["id"] for i in invoiced)
    assert [e["kind"] for e in entries(billing, may)] == ["invoice_finalized", "revenue_recognized"]
    assert [e["kind"] for e in entries(billing, june)] == ["invoice_finalized"]
    assert trial_balance(billing, clock)[REVENUE] == PRO
    assert_verified(test_db.owner_url, billing.tenant.id)
