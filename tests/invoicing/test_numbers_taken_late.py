"""A batch numbers its invoices as it ends (`invoicing.service._number`): what that must not
change. A series that has run out still refuses the invoice, with its problem and nothing
written, though the refusal now comes from the batch's closing flush."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.conftest import TenantHandle, TestDatabase
from tests.databases import owner_connection
from tests.e2e.billing import Billing


def _count(test_db: TestDatabase, tenant_id: str, table: str) -> int:
    with owner_connection(test_db.owner_url) as conn:
        return int(
            conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"),
                {"t": tenant_id},
            ).scalar_one()
        )


def test_a_series_that_ran_out_refuses_the_subscriptions_first_invoice(
    tenant: TenantHandle, run_jobs: Any, test_db: TestDatabase
) -> None:
    billing = Billing(tenant, run_jobs)
    plan = billing.plan("pro", 200_000)
    first = billing.subscribe(billing.customer(None, country="IN", state="MH"), plan)
    number = billing.get(f"/v1/invoices/{first['latest_invoice_id']}")["number"]
    head = number.rsplit("/", 1)[0] + "/"  # PREFIX/FY/: the sequence may fill up to 16
    last = 10 ** (16 - len(head)) - 1
    with owner_connection(test_db.owner_url) as conn:
        conn.execute(
            text(
                "UPDATE document_sequences SET last_number = :last "
                "WHERE tenant_id = :t AND series LIKE 'invoice:%'"
            ),
            {"last": last, "t": tenant.id},
        )
        conn.commit()
    customer = billing.customer(None, country="IN", state="MH")
    before = {t: _count(test_db, tenant.id, t) for t in ("subscriptions", "invoices", "events")}

    response = tenant.http.post(
        "/v1/subscriptions", json={"customer_id": customer, "plan_id": plan}
    )

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "invoice_numbers_exhausted"
    assert {t: _count(test_db, tenant.id, t) for t in before} == before
    with owner_connection(test_db.owner_url) as conn:
        kept = conn.execute(
            text("SELECT last_number FROM document_sequences WHERE tenant_id = :t"),
            {"t": tenant.id},
        ).scalar_one()
    assert kept == last
