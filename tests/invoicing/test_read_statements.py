"""`GET /v1/invoices/{id}`, the API's most frequent request: the invoice with what credit notes
took off it in one statement, its lines in another, and the same answer as the list gives."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import TenantHandle
from tests.e2e.billing import Billing


def _reads(sent: list[str]) -> list[str]:
    """The table each SELECT reads (its outermost FROM, after any subquery's), authentication's
    function aside."""
    return [
        tables[-1]
        for statement in sent
        if statement.startswith("SELECT ")
        and (tables := re.findall(r" FROM (\w+)", statement))
        and not tables[-1].startswith("hisaab_")
    ]


def test_an_invoice_with_credit_notes_is_read_in_two_statements(
    tenant: TenantHandle, run_jobs: Any, statements: list[str]
) -> None:
    billing = Billing(tenant, run_jobs)
    customer = billing.customer(None, country="IN", state="KA")
    sub = billing.subscribe(
        customer, billing.plan("pro", 200_000), collection_method="send_invoice"
    )
    invoice_id = sub["latest_invoice_id"]
    for amount in (10_000, 25_000):
        billing.post(
            "/v1/credit_notes",
            {"invoice_id": invoice_id, "amount": amount, "reason": "order_change"},
            201,
        )

    statements.clear()
    invoice = billing.get(f"/v1/invoices/{invoice_id}")

    assert _reads(statements) == ["invoices", "invoice_lines"]
    (invoice_read,) = [s for s in statements if _reads([s]) == ["invoices"]]
    assert " FROM credit_notes " in invoice_read  # what was credited, summed in the same read
    assert (invoice["amount_credited"], invoice["amount_remaining"]) == (35_000, 236_000 - 35_000)
    assert [line["amount"] for line in invoice["lines"]] == [200_000]
    listed = billing.get("/v1/invoices", customer_id=customer)["data"]
    assert listed == [invoice]


def test_an_invoice_without_credit_notes_has_none_credited(
    tenant: TenantHandle, run_jobs: Any
) -> None:
    billing = Billing(tenant, run_jobs)
    customer = billing.customer(None, country="IN", state="KA")
    sub = billing.subscribe(
        customer, billing.plan("pro", 200_000), collection_method="send_invoice"
    )

    invoice = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")

    assert (invoice["amount_credited"], invoice["amount_remaining"]) == (0, 236_000)
