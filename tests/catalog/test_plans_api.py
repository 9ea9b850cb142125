"""Plans through HTTP: versions, prices per currency, archive, validation, events."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import TenantHandle

PRO: dict[str, Any] = {
    "code": "pro",
    "name": "Pro",
    "interval": "month",
    "interval_count": 1,
    "trial_days": 0,
    "prices": [
        {"currency": "INR", "unit_amount": 200000},
        {"currency": "USD", "unit_amount": 2900},
    ],
    "tax_behavior": "exclusive",
    "sac_code": "998314",
    "features": {"seats": 10, "sso": True},
}


def _create(t: TenantHandle, **overrides: Any) -> dict[str, Any]:
    response = t.http.post("/v1/plans", json={**PRO, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def test_create_with_several_currencies(tenant: TenantHandle) -> None:
    plan = _create(
        tenant,
        description="For growing teams",
        prices=[
            {"currency": "USD", "unit_amount": 2900},
            {"currency": "eur", "unit_amount": 2700},
            {"currency": "INR", "unit_amount": 200000},
            {"currency": "jpy", "unit_amount": 3000},
        ],
    )
    assert plan["id"].startswith("plan_")
    assert plan["object"] == "plan"
    assert plan["version"] == 1
    assert plan["status"] == "active"
    assert plan["description"] == "For growing teams"
    assert plan["prices"] == [
        {"currency": "EUR", "unit_amount": 2700},
        {"currency": "INR", "unit_amount": 200000},
        {"currency": "JPY", "unit_amount": 3000},
        {"currency": "USD", "unit_amount": 2900},
    ]
    assert plan["features"] == {"seats": 10, "sso": True}
    assert plan["archived_at"] is None
    assert tenant.http.get(f"/v1/plans/{plan['id']}").json() == plan


def test_defaults(tenant: TenantHandle) -> None:
    minimal = tenant.http.post(
        "/v1/plans",
        json={
            "code": "minimal",
            "name": "Minimal",
            "interval": "year",
            "prices": [{"currency": "inr", "unit_amount": 0}],
        },
    )
    assert minimal.status_code == 201, minimal.text
    body = minimal.json()
    assert body["interval_count"] == 1
    assert body["trial_days"] == 0
    assert body["tax_behavior"] == "exclusive"
    assert body["sac_code"] == "998314"
    assert body["features"] == {}
    assert body["description"] is None
    assert body["prices"] == [{"currency": "INR", "unit_amount": 0}]


def test_list_filters_by_status_and_code(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    a = _create(tenant, code="a")
    b = _create(tenant, code="b")
    _create(other_tenant, code="a")
    tenant.http.post(f"/v1/plans/{b['id']}/archive")
    listed = tenant.http.get("/v1/plans").json()
    assert [p["id"] for p in listed["data"]] == [b["id"], a["id"]]
    assert listed["has_more"] is False
    active = tenant.http.get("/v1/plans", params={"status": "active"}).json()["data"]
    assert [p["id"] for p in active] == [a["id"]]
    archived = tenant.http.get("/v1/plans", params={"status": "archived"}).json()["data"]
    assert [p["id"] for p in archived] == [b["id"]]
    by_code = tenant.http.get("/v1/plans", params={"code": "a"}).json()["data"]
    assert [p["id"] for p in by_code] == [a["id"]]
    assert tenant.http.get("/v1/plans", params={"code": "zzz"}).json()["data"] == []
    _problem(tenant.http.get("/v1/plans", params={"status": "deleted"}), 422, "validation_error")
    _problem(tenant.http.get("/v1/plans", params={"code": "Bad Code"}), 422, "validation_error")


def test_list_paginates(tenant: TenantHandle) -> None:
    made = [_create(tenant, code=f"p{i}")["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = tenant.http.get("/v1/plans", params=params).json()
        seen.extend(p["id"] for p in page["data"])
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == list(reversed(made))


def test_patch_terms_makes_a_new_version_and_keeps_the_old(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    response = tenant.http.patch(
        f"/v1/plans/{plan['id']}",
        json={
            "prices": [{"currency": "inr", "unit_amount": 250000}],
            "features": {"seats": 20},
            "trial_days": 14,
        },
    )
    assert response.status_code == 200, response.text
    v2 = response.json()
    assert v2["version"] == 2
    assert v2["prices"] == [{"currency": "INR", "unit_amount": 250000}]
    assert v2["features"] == {"seats": 20}
    assert v2["trial_days"] == 14
    assert v2["interval"] == "month"
    assert v2["name"] == "Pro"
    assert v2["updated_at"] >= plan["updated_at"]
    assert tenant.http.get(f"/v1/plans/{plan['id']}").json() == v2
    v1 = tenant.http.get(f"/v1/plans/{plan['id']}", params={"version": 1})
    assert v1.status_code == 200
    assert v1.json()["version"] == 1
    assert v1.json()["prices"] == plan["prices"]
    assert v1.json()["features"] == plan["features"]
    assert v1.json()["trial_days"] == 0
    versions = tenant.http.get(f"/v1/plans/{plan['id']}/versions").json()
    assert [(v["version"], v["current"]) for v in versions["data"]] == [(2, True), (1, False)]
    assert versions["data"][1]["prices"] == plan["prices"]
    assert versions["data"][0]["object"] == "plan_version"
    assert versions["has_more"] is False
    _problem(
        tenant.http.get(f"/v1/plans/{plan['id']}", params={"version": 3}), 404, "resource_missing"
    )
    _problem(
        tenant.http.get(f"/v1/plans/{plan['id']}", params={"version": 0}), 422, "validation_error"
    )


def test_name_only_patch_keeps_the_version(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    response = tenant.http.patch(
        f"/v1/plans/{plan['id']}", json={"name": "Pro (2026)", "description": "Best"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1
    assert response.json()["name"] == "Pro (2026)"
    assert response.json()["description"] == "Best"
    cleared = tenant.http.patch(f"/v1/plans/{plan['id']}", json={"description": None})
    assert cleared.json()["description"] is None
    assert cleared.json()["version"] == 1
    versions = tenant.http.get(f"/v1/plans/{plan['id']}/versions").json()["data"]
    assert [v["version"] for v in versions] == [1]


def test_patch_that_changes_nothing_makes_no_version(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    same = tenant.http.patch(
        f"/v1/plans/{plan['id']}",
        json={"prices": list(reversed(PRO["prices"])), "interval": "month", "name": "Pro"},
    )
    assert same.status_code == 200, same.text
    assert same.json() == plan
    empty = tenant.http.patch(f"/v1/plans/{plan['id']}", json={})
    assert empty.json() == plan
    # `1` and `true` are different feature values even though Python says 1 == True.
    retyped = tenant.http.patch(
        f"/v1/plans/{plan['id']}", json={"features": {"seats": 10, "sso": 1}}
    )
    assert retyped.json()["version"] == 2
    assert retyped.json()["features"] == {"seats": 10, "sso": 1}


def test_each_patch_of_terms_is_one_more_version(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    changes: list[dict[str, Any]] = [
        {"interval": "year"},
        {"interval_count": 2},
        {"tax_behavior": "inclusive"},
        {"sac_code": "998315"},
        {"trial_days": 30},
    ]
    for number, change in enumerate(changes, start=2):
        response = tenant.http.patch(f"/v1/plans/{plan['id']}", json=change)
        assert response.status_code == 200, response.text
        assert response.json()["version"] == number
        for key, value in change.items():
            assert response.json()[key] == value
    page = tenant.http.get(f"/v1/plans/{plan['id']}/versions", params={"limit": 4}).json()
    assert [v["version"] for v in page["data"]] == [6, 5, 4, 3]
    assert page["has_more"] is True
    rest = tenant.http.get(
        f"/v1/plans/{plan['id']}/versions", params={"limit": 4, "cursor": page["next_cursor"]}
    ).json()
    assert [v["version"] for v in rest["data"]] == [2, 1]
    assert rest["has_more"] is False
    assert rest["next_cursor"] is None
    _problem(
        tenant.http.get(f"/v1/plans/{plan['id']}/versions", params={"cursor": "cGxhbl94"}),
        422,
        "invalid_cursor",
    )


def test_patch_validates_the_combined_terms(tenant: TenantHandle) -> None:
    plan = _create(tenant, interval_count=12)
    body = _problem(
        tenant.http.patch(f"/v1/plans/{plan['id']}", json={"interval": "year"}),
        422,
        "interval_count_out_of_range",
    )
    assert body["errors"][0]["loc"] == ["body", "interval_count"]
    ok = tenant.http.patch(
        f"/v1/plans/{plan['id']}", json={"interval": "year", "interval_count": 1}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2


@pytest.mark.parametrize(
    "field", ["name", "interval", "interval_count", "trial_days", "prices", "features"]
)
def test_patch_refuses_null_for_fields_that_cannot_be_empty(
    tenant: TenantHandle, field: str
) -> None:
    plan = _create(tenant)
    body = _problem(
        tenant.http.patch(f"/v1/plans/{plan['id']}", json={field: None}), 422, "validation_error"
    )
    assert body["errors"][0]["loc"] == ["body", field]
    assert tenant.http.get(f"/v1/plans/{plan['id']}").json() == plan


def test_archive_and_unarchive(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    archived = tenant.http.post(f"/v1/plans/{plan['id']}/archive")
    assert archived.status_code == 200, archived.text
    assert archived.json()["status"] == "archived"
    assert archived.json()["archived_at"] is not None
    again = tenant.http.post(f"/v1/plans/{plan['id']}/archive")
    assert again.status_code == 200
    assert again.json() == archived.json()
    blocked = tenant.http.patch(f"/v1/plans/{plan['id']}", json={"name": "New"})
    _problem(blocked, 409, "invalid_state")
    restored = tenant.http.post(f"/v1/plans/{plan['id']}/unarchive")
    assert restored.status_code == 200
    assert restored.json()["status"] == "active"
    assert restored.json()["archived_at"] is None
    assert tenant.http.post(f"/v1/plans/{plan['id']}/unarchive").json() == restored.json()
    assert tenant.http.patch(f"/v1/plans/{plan['id']}", json={"name": "New"}).status_code == 200


def test_code_taken_is_409_and_per_tenant(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    _create(tenant)
    _problem(tenant.http.post("/v1/plans", json={**PRO, "name": "Again"}), 409, "plan_code_taken")
    _create(other_tenant)
    assert len(tenant.http.get("/v1/plans", params={"code": "pro"}).json()["data"]) == 1


@pytest.mark.parametrize(
    ("interval", "limit"), [("day", 365), ("week", 156), ("month", 36), ("year", 3)]
)
def test_interval_counts_and_their_bounds(tenant: TenantHandle, interval: str, limit: int) -> None:
    for count in (1, limit):
        plan = _create(tenant, code=f"{interval}-{count}", interval=interval, interval_count=count)
        assert (plan["interval"], plan["interval_count"]) == (interval, count)
    body = _problem(
        tenant.http.post(
            "/v1/plans",
            json={
                **PRO,
                "code": f"{interval}-over",
                "interval": interval,
                "interval_count": limit + 1,
            },
        ),
        422,
        "interval_count_out_of_range" if limit + 1 <= 365 else "validation_error",
    )
    assert body["errors"][0]["loc"] == ["body", "interval_count"]
    body = _problem(
        tenant.http.post(
            "/v1/plans",
            json={**PRO, "code": f"{interval}-zero", "interval": interval, "interval_count": 0},
        ),
        422,
        "validation_error",
    )
    assert body["errors"][0]["loc"] == ["body", "interval_count"]


@pytest.mark.parametrize(
    ("overrides", "code", "loc"),
    [
        ({"code": "Pro"}, "validation_error", ["body", "code"]),
        ({"code": "-pro"}, "validation_error", ["body", "code"]),
        ({"code": "p" * 65}, "validation_error", ["body", "code"]),
        ({"code": ""}, "validation_error", ["body", "code"]),
        ({"name": ""}, "validation_error", ["body", "name"]),
        ({"interval": "quarter"}, "validation_error", ["body", "interval"]),
        ({"interval_count": 1.5}, "validation_error", ["body", "interval_count"]),
        ({"trial_days": -1}, "validation_error", ["body", "trial_days"]),
        ({"trial_days": 731}, "validation_error", ["body", "trial_days"]),
        ({"tax_behavior": "gross"}, "validation_error", ["body", "tax_behavior"]),
        ({"sac_code": "998"}, "validation_error", ["body", "sac_code"]),
        ({"sac_code": "123456"}, "validation_error", ["body", "sac_code"]),
        ({"sac_code": "99831X"}, "validation_error", ["body", "sac_code"]),
        ({"sac_code": "99\u0663\u0661\u0664\u0665"}, "validation_error", ["body", "sac_code"]),
        ({"prices": []}, "validation_error", ["body", "prices"]),
        (
            {"prices": [{"currency": "INR", "unit_amount": -1}]},
            "validation_error",
            ["body", "prices", 0, "unit_amount"],
        ),
        (
            {"prices": [{"currency": "INR", "unit_amount": 10**12 + 1}]},
            "validation_error",
            ["body", "prices", 0, "unit_amount"],
        ),
        (
            {"prices": [{"currency": "INR", "unit_amount": 10.5}]},
            "validation_error",
            ["body", "prices", 0, "unit_amount"],
        ),
        (
            {"prices": [{"currency": "INR"}]},
            "validation_error",
            ["body", "prices", 0, "unit_amount"],
        ),
        (
            {"prices": [{"currency": "ABC", "unit_amount": 1}]},
            "invalid_currency",
            ["body", "prices", 0, "currency"],
        ),
        (
            {"prices": [{"currency": "XAU", "unit_amount": 1}]},
            "invalid_currency",
            ["body", "prices", 0, "currency"],
        ),
        (
            {
                "prices": [
                    {"currency": "INR", "unit_amount": 1},
                    {"currency": "USD", "unit_amount": 1},
                    {"currency": "inr", "unit_amount": 2},
                ]
            },
            "duplicate_currency",
            ["body", "prices", 2, "currency"],
        ),
        ({"features": {"k" * 41: True}}, "validation_error", ["body", "features"]),
        ({"features": {"": True}}, "validation_error", ["body", "features"]),
        ({"features": {"note": "x" * 501}}, "validation_error", ["body", "features", "note"]),
        ({"features": {"ratio": 1.5}}, "validation_error", ["body", "features", "ratio"]),
        ({"features": {"nested": {"a": 1}}}, "validation_error", ["body", "features", "nested"]),
        ({"features": {"list": [1]}}, "validation_error", ["body", "features", "list"]),
        ({"features": {"big": 2**53}}, "validation_error", ["body", "features", "big"]),
        (
            {"features": {f"f{i}": i for i in range(51)}},
            "validation_error",
            ["body", "features"],
        ),
        ({"description": "d" * 2001}, "validation_error", ["body", "description"]),
        ({"name": "bad\u0000name"}, "validation_error", ["body", "name"]),
        ({"extra": 1}, "validation_error", ["body", "extra"]),
    ],
)
def test_bad_plan_input_is_422_and_creates_nothing(
    tenant: TenantHandle, overrides: dict[str, Any], code: str, loc: list[Any]
) -> None:
    response = tenant.http.post("/v1/plans", json={**PRO, **overrides})
    body = _problem(response, 422, code)
    assert any(error["loc"][: len(loc)] == loc for error in body["errors"]), body["errors"]
    assert tenant.http.get("/v1/plans").json()["data"] == []


@pytest.mark.parametrize("missing", ["code", "name", "interval", "prices"])
def test_required_fields(tenant: TenantHandle, missing: str) -> None:
    body = {k: v for k, v in PRO.items() if k != missing}
    problem = _problem(tenant.http.post("/v1/plans", json=body), 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", missing]


def test_features_hold_every_allowed_kind(tenant: TenantHandle) -> None:
    features = {"sso": False, "seats": 0, "tier": "gold", "limit": None, "max": 2**53 - 1}
    plan = _create(tenant, features=features)
    assert plan["features"] == features
    assert tenant.http.get(f"/v1/plans/{plan['id']}").json()["features"] == features


@pytest.mark.parametrize("body", [b"{", b"[]", b"null", b'"plan"', b"\xff"])
def test_malformed_bodies_are_client_errors(tenant: TenantHandle, body: bytes) -> None:
    response = tenant.http.post(
        "/v1/plans", content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "plan_id", ["nope", "plan_", "plan_01jd3k" + "0" * 20, "plan_\u00e9", "ten_x", "%00"]
)
def test_unknown_or_malformed_ids_are_404(tenant: TenantHandle, plan_id: str) -> None:
    for method, suffix, body in [
        ("GET", "", None),
        ("GET", "/versions", None),
        ("PATCH", "", {"name": "x"}),
        ("POST", "/archive", None),
        ("POST", "/unarchive", None),
    ]:
        response = tenant.http.request(method, f"/v1/plans/{plan_id}{suffix}", json=body)
        _problem(response, 404, "resource_missing")


def test_events_are_emitted(tenant: TenantHandle) -> None:
    plan = _create(tenant)
    tenant.http.patch(f"/v1/plans/{plan['id']}", json={"trial_days": 7})
    tenant.http.post(f"/v1/plans/{plan['id']}/archive")
    tenant.http.post(f"/v1/plans/{plan['id']}/archive")
    created = tenant.http.get("/v1/events", params={"type": "plan.created"}).json()["data"]
    assert [e["data"]["object"] for e in created] == [plan]
    updated = tenant.http.get("/v1/events", params={"type": "plan.updated"}).json()["data"]
    assert [e["data"]["object"]["version"] for e in updated] == [2]
    assert updated[0]["data"]["object"]["trial_days"] == 7
    archived = tenant.http.get("/v1/events", params={"type": "plan.archived"}).json()["data"]
    assert len(archived) == 1, "archiving twice announces it once"
    assert archived[0]["data"]["object"]["status"] == "archived"


def test_failed_requests_emit_nothing(tenant: TenantHandle) -> None:
    _create(tenant)
    tenant.http.post("/v1/plans", json=PRO)
    tenant.http.post("/v1/plans", json={**PRO, "code": "x", "interval_count": 400})
    events = tenant.http.get("/v1/events", params={"type": "plan.created"}).json()["data"]
    assert len(events) == 1


def test_idempotency_key_replay_creates_one_plan(tenant: TenantHandle) -> None:
    headers = {"Idempotency-Key": "create-pro-once"}
    first = tenant.http.post("/v1/plans", json=PRO, headers=headers)
    second = tenant.http.post("/v1/plans", json=PRO, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert len(tenant.http.get("/v1/plans").json()["data"]) == 1
    reused = tenant.http.post("/v1/plans", json={**PRO, "code": "other"}, headers=headers)
    _problem(reused, 422, "idempotency_key_reused")
