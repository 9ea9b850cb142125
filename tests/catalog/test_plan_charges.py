"""Metered charges on plans through HTTP: stored on the version, shown, versioned, validated."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from hisaab.catalog import service
from hisaab.db import Database
from hisaab.usage.pricing import Charge, Tier, price
from tests.conftest import TenantHandle

PER_CALL = {"meter": "api_calls", "model": "per_unit", "currency": "INR", "unit_amount": 50}
TOKENS = {
    "meter": "tokens",
    "model": "graduated",
    "currency": "INR",
    "tiers": [
        {"up_to": 1_000_000, "unit_amount": 0, "flat_amount": 20000},
        {"up_to": None, "unit_amount": "0.025"},
    ],
}
STORAGE = {
    "meter": "storage_gb",
    "model": "volume",
    "currency": "USD",
    "tiers": [{"up_to": 100, "unit_amount": 25}, {"up_to": None, "unit_amount": 20}],
}
EXPORTS = {
    "meter": "exports",
    "model": "package",
    "currency": "USD",
    "unit_amount": 500,
    "package_size": 1000,
}

PLAN: dict[str, Any] = {
    "code": "scale",
    "name": "Scale",
    "interval": "month",
    "prices": [
        {"currency": "INR", "unit_amount": 200000},
        {"currency": "USD", "unit_amount": 2900},
    ],
    "charges": [TOKENS, EXPORTS, PER_CALL, STORAGE],
}

# As the API shows them: sorted by (meter, currency), every field present, amounts canonical.
SHOWN = [
    {**PER_CALL, "tiers": None, "package_size": None},
    {**EXPORTS, "tiers": None},
    {
        **STORAGE,
        "unit_amount": None,
        "package_size": None,
        "tiers": [
            {"up_to": 100, "unit_amount": 25, "flat_amount": 0},
            {"up_to": None, "unit_amount": 20, "flat_amount": 0},
        ],
    },
    {
        **TOKENS,
        "unit_amount": None,
        "package_size": None,
        "tiers": [
            {"up_to": 1_000_000, "unit_amount": 0, "flat_amount": 20000},
            {"up_to": None, "unit_amount": "0.025", "flat_amount": 0},
        ],
    },
]


METERS = [
    {"code": "api_calls", "aggregation": "count"},
    {"code": "tokens", "aggregation": "sum", "field": "tokens"},
    {"code": "storage_gb", "aggregation": "max", "field": "gb"},
    {"code": "exports", "aggregation": "count"},
]


def _meters(t: TenantHandle) -> None:
    for meter in METERS:
        response = t.http.post("/v1/meters", json=meter)
        assert response.status_code == 201, response.text


@pytest.fixture(autouse=True)
def _tenant_meters(tenant: TenantHandle) -> None:
    _meters(tenant)


def _create(t: TenantHandle, **overrides: Any) -> dict[str, Any]:
    response = t.http.post("/v1/plans", json={**PLAN, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _patch(t: TenantHandle, plan_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = t.http.patch(f"/v1/plans/{plan_id}", json=body)
    assert response.status_code == 200, response.text
    patched: dict[str, Any] = response.json()
    return patched


def _problem(response: Any, code: str, loc: list[Any] | None = None) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    if loc is not None:
        assert body["errors"][0]["loc"] == loc, body["errors"]
    return body


def test_create_shows_charges_everywhere(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    assert plan["charges"] == SHOWN
    assert tenant.http.get(f"/v1/plans/{plan['id']}").json()["charges"] == SHOWN
    assert tenant.http.get("/v1/plans").json()["data"][0]["charges"] == SHOWN
    (version,) = tenant.http.get(f"/v1/plans/{plan['id']}/versions").json()["data"]
    assert version["charges"] == SHOWN
    created = tenant.http.get("/v1/events", params={"type": "plan.created"}).json()["data"]
    assert created[0]["data"]["object"]["charges"] == SHOWN


def test_a_plan_without_charges_has_an_empty_list(tenant: TenantHandle) -> None:
    plan = _create(tenant, charges=[])
    assert plan["charges"] == []
    plain = {k: v for k, v in PLAN.items() if k != "charges"}
    assert tenant.http.post("/v1/plans", json={**plain, "code": "plain"}).json()["charges"] == []


def test_amounts_are_shown_in_one_spelling(tenant: TenantHandle) -> None:
    plan = _create(
        tenant,
        charges=[
            {**PER_CALL, "unit_amount": "50.000"},
            {**PER_CALL, "currency": "usd", "unit_amount": "0.50"},
        ],
    )
    assert [(c["currency"], c["unit_amount"]) for c in plan["charges"]] == [
        ("INR", 50),
        ("USD", "0.5"),
    ]


def test_patch_charges_makes_a_new_version_and_keeps_the_old(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    cheaper = {**PER_CALL, "unit_amount": 40}
    v2 = _patch(tenant, plan["id"], {"charges": [cheaper]})
    assert v2["version"] == 2
    assert v2["charges"] == [{**cheaper, "tiers": None, "package_size": None}]
    assert v2["prices"] == plan["prices"]
    v1 = tenant.http.get(f"/v1/plans/{plan['id']}", params={"version": 1}).json()
    assert v1["charges"] == SHOWN
    versions = tenant.http.get(f"/v1/plans/{plan['id']}/versions").json()["data"]
    assert [(v["version"], len(v["charges"])) for v in versions] == [(2, 1), (1, 4)]
    v3 = _patch(tenant, plan["id"], {"charges": []})
    assert (v3["version"], v3["charges"]) == (3, [])


def test_patch_of_other_terms_keeps_the_charges(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    v2 = _patch(tenant, plan["id"], {"trial_days": 7})
    assert v2["version"] == 2
    assert v2["charges"] == SHOWN


def test_same_charges_in_another_order_or_spelling_make_no_version(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    respelled = [
        {**STORAGE, "currency": "usd"},
        {**PER_CALL, "unit_amount": "50.0"},
        {
            **TOKENS,
            "tiers": [
                {"up_to": 1_000_000, "unit_amount": "0", "flat_amount": 20000},
                {"up_to": None, "unit_amount": "0.0250", "flat_amount": 0},
            ],
        },
        EXPORTS,
    ]
    same = _patch(tenant, plan["id"], {"charges": respelled})
    assert same == plan
    assert len(tenant.http.get(f"/v1/plans/{plan['id']}/versions").json()["data"]) == 1
    updated = tenant.http.get("/v1/events", params={"type": "plan.updated"}).json()["data"]
    assert updated == []


def test_dropping_a_price_that_a_charge_is_in_is_refused(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    response = tenant.http.patch(
        f"/v1/plans/{plan['id']}", json={"prices": [{"currency": "INR", "unit_amount": 1}]}
    )
    # The plan's charges, in their stored order (api_calls, exports, …): exports is in USD.
    _problem(response, "charge_currency_not_in_prices", ["body", "charges", 1, "currency"])
    assert tenant.http.get(f"/v1/plans/{plan['id']}").json()["version"] == 1
    both = _patch(
        tenant,
        plan["id"],
        {"prices": [{"currency": "INR", "unit_amount": 1}], "charges": [PER_CALL]},
    )
    assert both["version"] == 2


@pytest.mark.parametrize(
    ("charge", "code", "loc"),
    [
        ({**PER_CALL, "currency": "EUR"}, "charge_currency_not_in_prices", ["currency"]),
        ({**PER_CALL, "currency": "XYZ"}, "invalid_currency", ["currency"]),
        ({**PER_CALL, "unit_amount": None}, "unit_amount_required", ["unit_amount"]),
        ({**PER_CALL, "package_size": 10}, "package_size_not_allowed", ["package_size"]),
        ({**PER_CALL, "tiers": TOKENS["tiers"]}, "tiers_not_allowed", ["tiers"]),
        ({**EXPORTS, "package_size": None}, "package_size_required", ["package_size"]),
        ({**TOKENS, "tiers": None}, "tiers_required", ["tiers"]),
        ({**TOKENS, "unit_amount": 5}, "unit_amount_not_allowed", ["unit_amount"]),
        (
            {**STORAGE, "tiers": [{"up_to": 100, "unit_amount": 1}]},
            "last_tier_bounded",
            ["tiers", 0, "up_to"],
        ),
        (
            {
                **STORAGE,
                "tiers": [
                    {"up_to": 100, "unit_amount": 1},
                    {"up_to": 100, "unit_amount": 1},
                    {"up_to": None, "unit_amount": 1},
                ],
            },
            "tiers_not_increasing",
            ["tiers", 1, "up_to"],
        ),
        (
            {
                **STORAGE,
                "tiers": [{"up_to": None, "unit_amount": 1}, {"up_to": None, "unit_amount": 1}],
            },
            "tier_unbounded_not_last",
            ["tiers", 0, "up_to"],
        ),
        ({**PER_CALL, "unit_amount": "0.0000000000001"}, "validation_error", ["unit_amount"]),
        ({**PER_CALL, "unit_amount": 0.5}, "validation_error", ["unit_amount"]),
        ({**PER_CALL, "unit_amount": -1}, "validation_error", ["unit_amount"]),
        ({**PER_CALL, "unit_amount": "-1"}, "validation_error", ["unit_amount"]),
        ({**PER_CALL, "unit_amount": "1e3"}, "validation_error", ["unit_amount"]),
        ({**PER_CALL, "model": "tiered"}, "validation_error", ["model"]),
        ({**PER_CALL, "meter": ""}, "validation_error", ["meter"]),
        ({**PER_CALL, "meter": "API calls"}, "validation_error", ["meter"]),
        ({**PER_CALL, "extra": 1}, "validation_error", ["extra"]),
        ({**STORAGE, "tiers": []}, "validation_error", ["tiers"]),
        (
            {
                **STORAGE,
                "tiers": [{"up_to": 0, "unit_amount": 1}, {"up_to": None, "unit_amount": 1}],
            },
            "validation_error",
            ["tiers", 0, "up_to"],
        ),
        ({**STORAGE, "tiers": [{"unit_amount": 1}]}, "validation_error", ["tiers", 0, "up_to"]),
        (
            {**STORAGE, "tiers": [{"up_to": None, "unit_amount": 1, "flat_amount": -5}]},
            "validation_error",
            ["tiers", 0, "flat_amount"],
        ),
        ({**EXPORTS, "package_size": 0}, "validation_error", ["package_size"]),
    ],
)
def test_invalid_charges_are_422_and_create_nothing(
    tenant: TenantHandle, charge: dict[str, Any], code: str, loc: list[Any]
) -> None:
    response = tenant.http.post("/v1/plans", json={**PLAN, "charges": [PER_CALL, charge]})
    body = _problem(response, code)
    prefix = ["body", "charges", 1, *loc]
    assert any(e["loc"][: len(prefix)] == prefix for e in body["errors"]), body["errors"]
    assert tenant.http.get("/v1/plans").json()["data"] == []


def test_invalid_charges_in_a_patch_change_nothing(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    response = tenant.http.patch(
        f"/v1/plans/{plan['id']}",
        json={"charges": [{**TOKENS, "tiers": [{"up_to": 5, "unit_amount": 1}]}], "name": "X"},
    )
    _problem(response, "last_tier_bounded", ["body", "charges", 0, "tiers", 0, "up_to"])
    assert tenant.http.get(f"/v1/plans/{plan['id']}").json() == plan


def test_two_charges_for_one_meter_and_currency_are_refused(tenant: TenantHandle) -> None:
    response = tenant.http.post(
        "/v1/plans", json={**PLAN, "charges": [PER_CALL, {**PER_CALL, "unit_amount": 1}]}
    )
    _problem(response, "duplicate_charge", ["body", "charges", 1, "meter"])
    # One meter in two currencies is how a plan sold in two currencies charges for it.
    plan = _create(tenant, charges=[PER_CALL, {**PER_CALL, "currency": "USD", "unit_amount": 1}])
    assert [c["currency"] for c in plan["charges"]] == ["INR", "USD"]


def test_a_charge_needs_a_meter_of_the_tenant(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    unknown = {**PER_CALL, "meter": "sms"}
    response = tenant.http.post("/v1/plans", json={**PLAN, "charges": [TOKENS, unknown]})
    _problem(response, "unknown_meter", ["body", "charges", 1, "meter"])
    assert tenant.http.get("/v1/plans").json()["data"] == []
    # Another tenant's meters are not this tenant's, whatever their codes.
    _problem(other_tenant.http.post("/v1/plans", json=PLAN), "unknown_meter")
    _meters(other_tenant)
    assert other_tenant.http.post("/v1/plans", json=PLAN).status_code == 201
    plan = _create(tenant)
    patch = tenant.http.patch(f"/v1/plans/{plan['id']}", json={"charges": [unknown]})
    _problem(patch, "unknown_meter", ["body", "charges", 0, "meter"])
    assert tenant.http.get(f"/v1/plans/{plan['id']}").json() == plan


def test_charges_may_not_be_null_in_a_patch(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    response = tenant.http.patch(f"/v1/plans/{plan['id']}", json={"charges": None})
    _problem(response, "validation_error", ["body", "charges"])


def test_too_many_charges(tenant: TenantHandle) -> None:
    charges = [{**PER_CALL, "meter": f"m{i}"} for i in range(51)]
    response = tenant.http.post("/v1/plans", json={**PLAN, "charges": charges})
    _problem(response, "validation_error", ["body", "charges"])


def test_plan_terms_carry_charges_for_billing(tenant: TenantHandle, database: Database) -> None:
    plan = _create(tenant)
    with database.transaction(tenant.id) as session:
        terms = service.plan_terms(session, tenant.id, plan["id"])
    assert [c.meter for c in terms.charges] == ["api_calls", "exports", "storage_gb", "tokens"]
    assert terms.charges[3] == Charge(
        meter="tokens",
        model="graduated",
        currency="INR",
        tiers=(
            Tier(up_to=1_000_000, unit_amount=Decimal(0), flat_amount=20000),
            Tier(up_to=None, unit_amount=Decimal("0.025")),
        ),
    )
    assert [c.meter for c in terms.charges_in("inr")] == ["api_calls", "tokens"]
    assert [c.meter for c in terms.charges_in("USD")] == ["exports", "storage_gb"]
    assert terms.charges_in("EUR") == ()
    # 2,000,000 tokens: the first million inside the 200.00 flat fee, the rest at 0.025 paise.
    assert price(terms.charges[3], Decimal(2_000_000)).amount == 20000 + 25000
