"""Coupons through HTTP: the discount kinds, durations, every invalid combination, archive."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import TenantHandle


def _create(t: TenantHandle, **body: Any) -> dict[str, Any]:
    response = t.http.post("/v1/coupons", json={"code": "SAVE", "duration": "once", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_percent_coupon(tenant: TenantHandle) -> None:
    coupon = _create(tenant, code="summer25", name="Summer", percent_off=25, duration="forever")
    assert coupon["id"].startswith("coupon_")
    assert coupon["object"] == "coupon"
    assert coupon["code"] == "SUMMER25"
    assert coupon["percent_off"] == "25.00"
    assert coupon["amount_off"] is None
    assert coupon["currency"] is None
    assert coupon["duration"] == "forever"
    assert coupon["duration_in_periods"] is None
    assert coupon["max_redemptions"] is None
    assert coupon["redeem_by"] is None
    assert coupon["status"] == "active"
    assert tenant.http.get(f"/v1/coupons/{coupon['id']}").json() == coupon


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (25, "25.00"),
        (12.5, "12.50"),
        ("33.33", "33.33"),
        ("0.01", "0.01"),
        (100, "100.00"),
        ("1e2", "100.00"),
        ("7.10", "7.10"),
    ],
)
def test_percent_off_as_number_or_decimal_string(
    tenant: TenantHandle, given: Any, shown: str
) -> None:
    assert _create(tenant, percent_off=given)["percent_off"] == shown


def test_amount_coupon_repeating(tenant: TenantHandle) -> None:
    coupon = _create(
        tenant,
        code="LAUNCH",
        amount_off=50000,
        currency="inr",
        duration="repeating",
        duration_in_periods=3,
        max_redemptions=100,
        redeem_by="2026-12-31T23:59:59+05:30",
    )
    assert coupon["percent_off"] is None
    assert coupon["amount_off"] == 50000
    assert coupon["currency"] == "INR"
    assert coupon["duration"] == "repeating"
    assert coupon["duration_in_periods"] == 3
    assert coupon["max_redemptions"] == 100
    assert coupon["redeem_by"] == "2026-12-31T18:29:59Z"


@pytest.mark.parametrize(
    ("body", "code", "loc"),
    [
        (
            {"percent_off": 10, "amount_off": 100, "currency": "INR"},
            "discount_ambiguous",
            "amount_off",
        ),
        ({}, "discount_required", "percent_off"),
        ({"amount_off": 100}, "currency_required", "currency"),
        ({"percent_off": 10, "currency": "INR"}, "currency_without_amount", "currency"),
        ({"currency": "INR"}, "discount_required", "percent_off"),
        ({"amount_off": 100, "currency": "ABC"}, "invalid_currency", "currency"),
        ({"amount_off": 100, "currency": "XTS"}, "invalid_currency", "currency"),
        ({"amount_off": 100, "currency": "RUPEE"}, "validation_error", "currency"),
        ({"amount_off": 0, "currency": "INR"}, "validation_error", "amount_off"),
        ({"amount_off": -5, "currency": "INR"}, "validation_error", "amount_off"),
        ({"amount_off": 10**12 + 1, "currency": "INR"}, "validation_error", "amount_off"),
        ({"amount_off": 1.5, "currency": "INR"}, "validation_error", "amount_off"),
        ({"percent_off": 0}, "validation_error", "percent_off"),
        ({"percent_off": -1}, "validation_error", "percent_off"),
        ({"percent_off": 100.01}, "validation_error", "percent_off"),
        ({"percent_off": "101"}, "validation_error", "percent_off"),
        ({"percent_off": "12.345"}, "validation_error", "percent_off"),
        ({"percent_off": "NaN"}, "validation_error", "percent_off"),
        ({"percent_off": "Infinity"}, "validation_error", "percent_off"),
        ({"percent_off": "ten"}, "validation_error", "percent_off"),
        ({"percent_off": True}, "validation_error", "percent_off"),
        ({"percent_off": "1e1000000"}, "validation_error", "percent_off"),
        (
            {"percent_off": 10, "duration": "repeating"},
            "duration_in_periods_required",
            "duration_in_periods",
        ),
        (
            {"percent_off": 10, "duration": "once", "duration_in_periods": 2},
            "duration_in_periods_not_allowed",
            "duration_in_periods",
        ),
        (
            {"percent_off": 10, "duration": "forever", "duration_in_periods": 2},
            "duration_in_periods_not_allowed",
            "duration_in_periods",
        ),
        (
            {"percent_off": 10, "duration": "repeating", "duration_in_periods": 0},
            "validation_error",
            "duration_in_periods",
        ),
        (
            {"percent_off": 10, "duration": "repeating", "duration_in_periods": 121},
            "validation_error",
            "duration_in_periods",
        ),
        ({"percent_off": 10, "duration": "weekly"}, "validation_error", "duration"),
        ({"percent_off": 10, "max_redemptions": 0}, "validation_error", "max_redemptions"),
        ({"percent_off": 10, "max_redemptions": 2**31}, "validation_error", "max_redemptions"),
        ({"percent_off": 10, "redeem_by": "2026-12-31"}, "validation_error", "redeem_by"),
        ({"percent_off": 10, "redeem_by": "2026-12-31T00:00:00"}, "validation_error", "redeem_by"),
        ({"percent_off": 10, "redeem_by": 1767225600}, "validation_error", "redeem_by"),
        ({"percent_off": 10, "code": "no spaces"}, "validation_error", "code"),
        ({"percent_off": 10, "code": "_LEADING"}, "validation_error", "code"),
        ({"percent_off": 10, "code": "X" * 65}, "validation_error", "code"),
        ({"percent_off": 10, "name": "n" * 201}, "validation_error", "name"),
        ({"percent_off": 10, "metadata": {}}, "validation_error", "metadata"),
    ],
)
def test_invalid_coupons_are_422_and_create_nothing(
    tenant: TenantHandle, body: dict[str, Any], code: str, loc: str
) -> None:
    response = tenant.http.post("/v1/coupons", json={"code": "BAD", "duration": "once", **body})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code, problem
    assert ["body", loc] in [e["loc"][:2] for e in problem["errors"]], problem["errors"]
    assert tenant.http.get("/v1/coupons").json()["data"] == []
    assert tenant.http.get("/v1/events", params={"type": "coupon.created"}).json()["data"] == []


@pytest.mark.parametrize("duration", ["once", "forever"])
def test_durations_without_periods(tenant: TenantHandle, duration: str) -> None:
    coupon = _create(tenant, percent_off=5, duration=duration)
    assert (coupon["duration"], coupon["duration_in_periods"]) == (duration, None)


def test_code_taken_is_409_whatever_the_case(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    _create(tenant, code="WELCOME", percent_off=10)
    again = tenant.http.post(
        "/v1/coupons", json={"code": "welcome", "percent_off": 20, "duration": "once"}
    )
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "coupon_code_taken"
    assert _create(other_tenant, code="welcome", percent_off=10)["code"] == "WELCOME"


def test_list_filters_and_archive(tenant: TenantHandle) -> None:
    first = _create(tenant, code="ONE", percent_off=10)
    second = _create(tenant, code="TWO", amount_off=100, currency="USD")
    listed = tenant.http.get("/v1/coupons").json()
    assert [c["id"] for c in listed["data"]] == [second["id"], first["id"]]
    archived = tenant.http.post(f"/v1/coupons/{first['id']}/archive")
    assert archived.status_code == 200, archived.text
    assert archived.json()["status"] == "archived"
    assert tenant.http.post(f"/v1/coupons/{first['id']}/archive").json() == archived.json()
    assert tenant.http.get(f"/v1/coupons/{first['id']}").json()["status"] == "archived"
    active = tenant.http.get("/v1/coupons", params={"status": "active"}).json()["data"]
    assert [c["id"] for c in active] == [second["id"]]
    archived_list = tenant.http.get("/v1/coupons", params={"status": "archived"}).json()["data"]
    assert [c["id"] for c in archived_list] == [first["id"]]
    by_code = tenant.http.get("/v1/coupons", params={"code": "two"}).json()["data"]
    assert [c["id"] for c in by_code] == [second["id"]]
    bad = tenant.http.get("/v1/coupons", params={"code": "a b"})
    assert bad.status_code == 422


@pytest.mark.parametrize("coupon_id", ["nope", "coupon_", "coupon_" + "0" * 26, "SAVE", "%00"])
def test_unknown_or_malformed_ids_are_404(tenant: TenantHandle, coupon_id: str) -> None:
    _create(tenant, percent_off=10)
    for method, suffix in [("GET", ""), ("POST", "/archive")]:
        response = tenant.http.request(method, f"/v1/coupons/{coupon_id}{suffix}")
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "resource_missing"


def test_coupon_created_event(tenant: TenantHandle) -> None:
    coupon = _create(tenant, percent_off="12.5")
    events = tenant.http.get("/v1/events", params={"type": "coupon.created"}).json()["data"]
    assert [e["data"]["object"] for e in events] == [coupon]
    assert events[0]["data"]["object"]["percent_off"] == "12.50"


def test_idempotency_key_replay_creates_one_coupon(tenant: TenantHandle) -> None:
    body = {"code": "ONCE", "percent_off": 10, "duration": "once"}
    headers = {"Idempotency-Key": "coupon-once"}
    first = tenant.http.post("/v1/coupons", json=body, headers=headers)
    second = tenant.http.post("/v1/coupons", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len(tenant.http.get("/v1/coupons").json()["data"]) == 1
