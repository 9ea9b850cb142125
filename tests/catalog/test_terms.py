"""The catalog's terms as subscriptions read them: through the service, against the database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from hisaab.catalog import service
from hisaab.catalog.terms import PlanTerms
from hisaab.core.errors import HisaabError
from hisaab.db import Database
from tests.conftest import TenantHandle

PLAN = {
    "code": "pro",
    "name": "Pro",
    "interval": "month",
    "interval_count": 3,
    "trial_days": 14,
    "prices": [
        {"currency": "INR", "unit_amount": 200000},
        {"currency": "usd", "unit_amount": 2900},
    ],
    "tax_behavior": "inclusive",
    "sac_code": "998315",
    "features": {"seats": 10, "sso": True},
}


def _post(t: TenantHandle, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = t.http.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _plan_terms(database: Database, tenant_id: str, plan_id: str, **kw: Any) -> PlanTerms:
    with database.transaction(tenant_id) as session:
        return service.plan_terms(session, tenant_id, plan_id, **kw)


def test_plan_terms_of_the_current_and_an_older_version(
    tenant: TenantHandle, database: Database
) -> None:
    plan = _post(tenant, "/v1/plans", PLAN)
    terms = _plan_terms(database, tenant.id, plan["id"])
    assert terms == PlanTerms(
        plan_id=plan["id"],
        version=1,
        code="pro",
        name="Pro",
        archived=False,
        interval="month",
        interval_count=3,
        trial_days=14,
        tax_behavior="inclusive",
        sac_code="998315",
        features={"seats": 10, "sso": True},
        prices={"INR": 200000, "USD": 2900},
    )
    tenant.http.patch(
        f"/v1/plans/{plan['id']}", json={"prices": [{"currency": "EUR", "unit_amount": 2500}]}
    )
    tenant.http.post(f"/v1/plans/{plan['id']}/archive")
    current = _plan_terms(database, tenant.id, plan["id"])
    assert (current.version, dict(current.prices), current.archived) == (2, {"EUR": 2500}, True)
    old = _plan_terms(database, tenant.id, plan["id"], version=1)
    assert (old.version, dict(old.prices)) == (1, {"INR": 200000, "USD": 2900})


def test_unit_amount_in_any_case_and_price_unavailable(
    tenant: TenantHandle, database: Database
) -> None:
    plan = _post(tenant, "/v1/plans", PLAN)
    terms = _plan_terms(database, tenant.id, plan["id"])
    assert terms.unit_amount("INR") == 200000
    assert terms.unit_amount("usd") == 2900
    with pytest.raises(HisaabError) as raised:
        terms.unit_amount("EUR")
    error = raised.value
    assert (error.status, error.code) == (422, "price_unavailable")
    assert [e.loc for e in error.errors] == [("body", "plan_id")]
    assert "INR, USD" in error.detail


def test_plan_terms_is_404_for_unknown_malformed_and_foreign_ids(
    tenant: TenantHandle, other_tenant: TenantHandle, database: Database
) -> None:
    plan = _post(tenant, "/v1/plans", PLAN)
    for tenant_id, plan_id, version in [
        (other_tenant.id, plan["id"], None),
        (tenant.id, "plan_" + "0" * 26, None),
        (tenant.id, "pro", None),
        (tenant.id, "", None),
        (tenant.id, plan["id"], 2),
    ]:
        with pytest.raises(HisaabError) as raised:
            _plan_terms(database, tenant_id, plan_id, version=version)
        assert (raised.value.status, raised.value.code) == (404, "resource_missing")


def test_coupon_terms_by_id_and_by_code(tenant: TenantHandle, database: Database) -> None:
    coupon = _post(
        tenant,
        "/v1/coupons",
        {
            "code": "Launch",
            "amount_off": 50000,
            "currency": "inr",
            "duration": "repeating",
            "duration_in_periods": 3,
            "max_redemptions": 10,
            "redeem_by": "2026-12-31T00:00:00Z",
        },
    )
    with database.transaction(tenant.id) as session:
        by_id = service.coupon_terms(session, tenant.id, coupon["id"])
        by_code = service.coupon_terms(session, tenant.id, "launch")
        by_upper = service.coupon_terms(session, tenant.id, "LAUNCH")
    assert by_id == by_code == by_upper
    assert by_id.id == coupon["id"]
    assert by_id.code == "LAUNCH"
    assert (by_id.percent_off, by_id.amount_off, by_id.currency) == (None, 50000, "INR")
    assert (by_id.duration, by_id.duration_in_periods) == ("repeating", 3)
    assert by_id.max_redemptions == 10
    assert by_id.redeem_by == datetime(2026, 12, 31, tzinfo=UTC)
    assert by_id.archived is False


def test_percent_coupon_terms_are_exact_decimals(tenant: TenantHandle, database: Database) -> None:
    coupon = _post(
        tenant, "/v1/coupons", {"code": "THIRD", "percent_off": 33.33, "duration": "forever"}
    )
    tenant.http.post(f"/v1/coupons/{coupon['id']}/archive")
    with database.transaction(tenant.id) as session:
        terms = service.coupon_terms(session, tenant.id, coupon["id"])
    assert terms.percent_off == Decimal("33.33")
    assert (terms.amount_off, terms.currency, terms.duration) == (None, None, "forever")
    assert terms.archived is True


@pytest.mark.parametrize("coupon", ["NOPE", "coupon_" + "0" * 26, "", "a b", "x\x00y", "THIRD"])
def test_coupon_terms_is_404_if_unknown(
    tenant: TenantHandle, other_tenant: TenantHandle, database: Database, coupon: str
) -> None:
    _post(other_tenant, "/v1/coupons", {"code": "THIRD", "percent_off": 5, "duration": "once"})
    with database.transaction(tenant.id) as session, pytest.raises(HisaabError) as raised:
        service.coupon_terms(session, tenant.id, coupon)
    assert (raised.value.status, raised.value.code) == (404, "resource_missing")
