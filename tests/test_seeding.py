"""The bulk seeder (tests/seeding.py) writes rows the API reads and the billing run bills, so it
cannot silently drift from the schema the benchmarks and large tests rely on."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hisaab.core.ids import looks_like
from tests import seeding
from tests.conftest import TenantHandle, TestDatabase

DUE_AT = datetime(2026, 3, 31, 4, 30, tzinfo=UTC)  # 10:00 in Kolkata, after a short month


def _all(http: Any, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = http.get(path, params=params).json()
        items += page["data"]
        if not page["has_more"]:
            return items
        params["cursor"] = page["next_cursor"]


def test_seeded_subscriptions_read_like_api_ones_and_renew_when_due(
    tenant: TenantHandle, test_db: TestDatabase, run_jobs: Any
) -> None:
    seeding.seed_catalog(tenant.http)
    clock = seeding.create_test_clock(tenant.http, DUE_AT - timedelta(days=1))

    result = seeding.seed_subscriptions(
        test_db.owner_url, tenant.id, 50, due_at=DUE_AT, clock_id=clock
    )

    assert result.subscriptions == 50
    subscriptions = [
        s for s in _all(tenant.http, "/v1/subscriptions") if s["test_clock_id"] == clock
    ]
    assert len(subscriptions) == 50
    for sub in subscriptions:
        assert looks_like("sub", sub["id"])
        assert sub["status"] == "active"
        assert sub["collection_method"] == "charge_automatically"
        assert sub["current_period_end"] == "2026-03-31T04:30:00Z"
        # Anchored on the 31st: the period before ran from January 31 (Feb 28 in between).
        assert sub["billing_cycle_anchor"] == "2026-01-31T04:30:00Z"
        assert sub["current_period_start"] == "2026-02-28T04:30:00Z"
        customer = tenant.http.get(f"/v1/customers/{sub['customer_id']}")
        assert customer.status_code == 200
        body = customer.json()
        assert body["test_clock_id"] == clock
        assert body["currency"] == sub["currency"]
        methods = tenant.http.get(f"/v1/customers/{body['id']}/payment_methods").json()["data"]
        assert [(m["token"], m["default"]) for m in methods] == [("pm_card_visa", True)]
    assert sum(1 for s in subscriptions if s["coupon_id"]) > 0

    # A day past the renewal (and past the rupee pre-debit notice): every one is billed and paid.
    advance = tenant.http.post(
        f"/v1/test_clocks/{clock}/advance", json={"frozen_time": "2026-04-01T05:00:00Z"}
    )
    assert advance.status_code == 200, advance.text
    run_jobs()
    assert tenant.http.get(f"/v1/test_clocks/{clock}").json()["status"] == "ready"
    invoices = [
        i
        for i in _all(tenant.http, "/v1/invoices")
        if i["subscription_id"] in {s["id"] for s in subscriptions}
    ]
    assert Counter(i["status"] for i in invoices) == {"paid": 50}
    assert {i["period_start"] for i in invoices} == {"2026-03-31T04:30:00Z"}


def test_the_app_role_can_seed_within_its_tenant(make_tenant: Any, test_db: TestDatabase) -> None:
    """Row-level security holds: the rows land in the tenant's scope and nowhere else."""
    tenant, other = make_tenant(), make_tenant(name="Other Pvt Ltd")
    seeding.seed_catalog(tenant.http)

    seeding.seed_subscriptions(test_db.app_url, tenant.id, 5, due_at=DUE_AT, seed=1)

    assert len(_all(tenant.http, "/v1/customers")) == 5
    assert _all(other.http, "/v1/customers") == []
