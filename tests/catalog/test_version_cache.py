"""A plan version's terms, once read in a committed transaction, are not read again by the
process (versions never change), while the plan itself is: a new version, written by this
process or any other, is what the next subscription gets; a version read in a transaction that
rolled back is never kept; and a tenant never reaches another's plan through what is kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from hisaab.catalog import service as catalog
from hisaab.catalog.schemas import PlanUpdate
from hisaab.core.errors import HisaabError
from hisaab.db import Database
from tests.conftest import TenantHandle, sent_statements
from tests.databases import libpq
from tests.e2e.billing import Billing

NOW = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def version_reads(database: Database) -> Iterator[list[str]]:
    """The reads of plan versions and their prices the app's engine sends."""
    with sent_statements(database, "SELECT plan_versions", "SELECT plan_prices") as sent:
        yield sent


def _plan(tenant: TenantHandle, run_jobs: Any) -> str:
    return Billing(tenant, run_jobs).plan("pro", 200_000)


def _price(database: Database, tenant_id: str, plan_id: str) -> tuple[int, int]:
    with database.transaction(tenant_id) as session:
        terms = catalog.plan_terms(session, tenant_id, plan_id)
        return terms.version, terms.unit_amount("INR")


def _reprice(session: Any, tenant_id: str, plan_id: str, amount: int) -> None:
    catalog.update_plan(
        session,
        tenant_id,
        plan_id,
        PlanUpdate.model_validate({"prices": [{"currency": "INR", "unit_amount": amount}]}),
        NOW,
    )


def test_a_version_read_once_is_not_read_again_but_the_plan_is(
    database: Database,
    tenant: TenantHandle,
    version_reads: list[str],
    statements: list[str],
    run_jobs: Any,
) -> None:
    plan_id = _plan(tenant, run_jobs)
    assert _price(database, tenant.id, plan_id) == (1, 200_000)
    assert len(version_reads) == 2  # the version, its prices
    statements.clear()
    assert _price(database, tenant.id, plan_id) == (1, 200_000)
    assert len(version_reads) == 2
    assert any(s.startswith("SELECT plans") for s in statements)


def test_a_new_version_from_another_process_is_what_the_next_subscription_gets(
    database: Database, tenant: TenantHandle, run_jobs: Any, test_db: Any
) -> None:
    billing = Billing(tenant, run_jobs)
    plan_id = billing.plan("pro", 200_000)
    first = billing.subscribe(billing.customer(None, country="IN", state="MH"), plan_id)
    assert (first["plan_version"], first["unit_amount"]) == (1, 200_000)
    # Another process (here: plain SQL, as the table owner) writes version 2 and points the
    # plan at it; this process has version 1 kept.
    with psycopg.connect(libpq(test_db.owner_url), autocommit=True) as owner:
        owner.execute(
            "INSERT INTO plan_versions (tenant_id, plan_id, version, interval, interval_count, "
            "trial_days, tax_behavior, sac_code, features, charges, created_at) "
            "SELECT tenant_id, plan_id, 2, interval, interval_count, trial_days, tax_behavior, "
            "sac_code, features, charges, created_at FROM plan_versions "
            "WHERE plan_id = %s AND version = 1",
            (plan_id,),
        )
        owner.execute(
            "INSERT INTO plan_prices (tenant_id, plan_id, version, currency, unit_amount) "
            "SELECT tenant_id, plan_id, 2, currency, 300000 FROM plan_prices "
            "WHERE plan_id = %s AND version = 1",
            (plan_id,),
        )
        owner.execute("UPDATE plans SET current_version = 2 WHERE id = %s", (plan_id,))
    second = billing.subscribe(billing.customer(None, country="IN", state="MH"), plan_id)
    assert (second["plan_version"], second["unit_amount"]) == (2, 300_000)
    invoice = billing.get(f"/v1/invoices/{second['latest_invoice_id']}")
    assert invoice["subtotal"] == 300_000


@pytest.mark.parametrize("where", ["transaction", "savepoint"])
def test_a_version_read_in_a_transaction_that_rolled_back_is_not_kept(
    database: Database, tenant: TenantHandle, where: str, run_jobs: Any
) -> None:
    """Version 2 written and read, then rolled back (the whole transaction, or a savepoint
    released inside it): the version 2 committed later, with other terms, is the one read."""
    plan_id = _plan(tenant, run_jobs)
    with pytest.raises(RuntimeError), database.transaction(tenant.id) as session:
        if where == "savepoint":
            with session.begin_nested():
                _reprice(session, tenant.id, plan_id, 300_000)
                assert catalog.plan_terms(session, tenant.id, plan_id).unit_amount("INR") == 300_000
        else:
            _reprice(session, tenant.id, plan_id, 300_000)
            assert catalog.plan_terms(session, tenant.id, plan_id).unit_amount("INR") == 300_000
        raise RuntimeError("the request fails")
    with database.transaction(tenant.id) as session:
        _reprice(session, tenant.id, plan_id, 400_000)
    assert _price(database, tenant.id, plan_id) == (2, 400_000)


def test_another_tenant_never_reaches_a_kept_version(
    database: Database, tenant: TenantHandle, other_tenant: TenantHandle, run_jobs: Any
) -> None:
    plan_id = _plan(tenant, run_jobs)
    assert _price(database, tenant.id, plan_id) == (1, 200_000)  # kept now
    with database.transaction(other_tenant.id) as session:
        for tenant_id in (other_tenant.id, tenant.id):
            with pytest.raises(HisaabError) as raised:
                catalog.plan_terms(session, tenant_id, plan_id)
            assert raised.value.status == 404
    customer = Billing(other_tenant, run_jobs).customer(None, country="IN", state="MH")
    response = other_tenant.http.post(
        "/v1/subscriptions", json={"customer_id": customer, "plan_id": plan_id}
    )
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "resource_missing"
