"""Reading a tenant's books in tests: trial balances as {code: balance}, entries, and `verify`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine

from hisaab.ledger import verify
from tests.e2e.billing import Billing

RECEIVABLE, CASH, CREDIT, DEFERRED = "1100", "1200", "2100", "2200"
CGST, SGST, IGST = "2310", "2320", "2340"
REVENUE, RETURNS, BAD_DEBT = "4000", "4900", "6100"


def trial_balance(
    billing: Billing, clock: str | None = None, currency: str = "INR"
) -> dict[str, int]:
    """Balance (on the account's normal side) of every account the book has touched."""
    params: dict[str, Any] = {"currency": currency}
    if clock is not None:
        params["test_clock_id"] = clock
    body = billing.get("/v1/ledger/trial_balance", **params)
    assert body["object"] == "trial_balance"
    assert body["total_debits"] == body["total_credits"], body
    assert body["total_debits"] == sum(a["debits"] for a in body["accounts"])
    return {a["code"]: a["balance"] for a in body["accounts"] if a["debits"] or a["credits"]}


def entries(billing: Billing, source_id: str) -> list[dict[str, Any]]:
    """The entries a document posted, oldest first."""
    found = billing.get("/v1/ledger/entries", source_id=source_id, limit=100)
    assert not found["has_more"]
    return sorted(found["data"], key=lambda e: (e["occurred_at"], e["posted_at"], e["id"]))


def kinds(billing: Billing, source_id: str) -> list[str]:
    return [e["kind"] for e in entries(billing, source_id)]


def lines(entry: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {line["account_code"]: (line["debit"], line["credit"]) for line in entry["lines"]}


def check(owner_url: Any, *tenant_ids: str) -> verify.Report:
    engine = create_engine(owner_url)
    try:
        with engine.connect() as connection:
            return verify.run(connection, list(tenant_ids))
    finally:
        engine.dispose()


def assert_verified(owner_url: Any, *tenant_ids: str) -> verify.Report:
    report = check(owner_url, *tenant_ids)
    assert report.ok, "\n".join(str(v) for v in report.violations)
    return report
