"""Tenants and API keys through HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import INDIAN_TENANT, TenantHandle


def test_operator_creates_tenant_with_a_working_key(operator: TestClient, app: Any) -> None:
    response = operator.post("/v1/tenants", json=INDIAN_TENANT)
    assert response.status_code == 201
    body = response.json()
    assert body["tenant"]["id"].startswith("ten_")
    assert body["tenant"]["state"] == "KA"
    assert body["tenant"]["tax_registrations"] == [
        {"scheme": "in_gst", "number": "29AAACA1234A1ZG"}
    ]
    assert body["api_key"]["secret"].startswith("sk_")
    with TestClient(app, headers={"Authorization": f"Bearer {body['api_key']['secret']}"}) as http:
        own = http.get("/v1/tenant")
    assert own.status_code == 200
    assert own.json()["id"] == body["tenant"]["id"]


def test_secret_is_stored_only_as_a_hash(tenant: TenantHandle, database: Any) -> None:
    from sqlalchemy import text

    with database.transaction(tenant.id) as session:
        stored = session.execute(text("SELECT secret_hash, last4 FROM api_keys")).all()
    assert stored, "the tenant's key is visible in its own scope"
    assert all(tenant.secret not in row.secret_hash for row in stored)
    assert any(row.last4 == tenant.secret[-4:] for row in stored)


def test_gstin_state_code_must_agree_with_state(operator: TestClient) -> None:
    response = operator.post("/v1/tenants", json={**INDIAN_TENANT, "state": "MH"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "gstin_state_mismatch"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"gstin": "29AAACA1234A1ZH"}, "invalid_gstin"),
        ({"country": "XX"}, "invalid_country"),
        ({"base_currency": "ABC"}, "invalid_currency"),
        ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
        ({"gstin": None, "state": None}, "state_required"),
        ({"gstin": None, "lut": True}, "lut_requires_gstin"),
        ({"invoice_prefix": "TOOLONGX"}, "invalid_invoice_prefix"),
        ({"invoice_prefix": "1ACME"}, "invalid_invoice_prefix"),
        (
            {
                "country": "DE",
                "state": None,
                "gstin": None,
                "lut": False,
                "base_currency": "EUR",
                "tax_registrations": [{"scheme": "eu_vat", "number": "DE136695978"}],
            },
            "invalid_vat_id",
        ),
        (
            {
                "country": "DE",
                "state": None,
                "gstin": None,
                "lut": False,
                "base_currency": "EUR",
                "tax_registrations": [{"scheme": "eu_vat", "number": "IE6388047V"}],
            },
            "vat_country_mismatch",
        ),
        (
            {
                "country": "DE",
                "state": None,
                "gstin": None,
                "lut": False,
                "base_currency": "EUR",
                "tax_registrations": [{"scheme": "eu_oss", "number": "EU372000041"}],
            },
            "oss_scheme_mismatch",
        ),
    ],
)
def test_bad_tenant_input_is_422_and_creates_nothing(
    operator: TestClient, overrides: dict[str, Any], code: str
) -> None:
    before = len(operator.get("/v1/tenants", params={"limit": 100}).json()["data"])
    response = operator.post("/v1/tenants", json={**INDIAN_TENANT, **overrides})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    after = len(operator.get("/v1/tenants", params={"limit": 100}).json()["data"])
    assert before in (after, 100)


def test_eu_and_non_union_oss_tenants(operator: TestClient) -> None:
    german = operator.post(
        "/v1/tenants",
        json={
            "name": "Beispiel GmbH",
            "country": "DE",
            "base_currency": "eur",
            "timezone": "Europe/Berlin",
            "tax_registrations": [{"scheme": "eu_vat", "number": "DE 136 695 976"}],
        },
    )
    assert german.status_code == 201, german.text
    assert german.json()["tenant"]["tax_registrations"] == [
        {"scheme": "eu_vat", "number": "DE136695976"}
    ]
    assert german.json()["tenant"]["base_currency"] == "EUR"
    american = operator.post(
        "/v1/tenants",
        json={
            "name": "Example Inc",
            "country": "US",
            "state": "CA",
            "base_currency": "USD",
            "tax_registrations": [{"scheme": "eu_oss", "number": "EU372000041"}],
        },
    )
    assert american.status_code == 201, american.text


def test_tenant_key_cannot_manage_tenants_and_operator_cannot_act_as_tenant(
    tenant: TenantHandle, operator: TestClient
) -> None:
    assert tenant.http.post("/v1/tenants", json=INDIAN_TENANT).status_code == 403
    assert tenant.http.get(f"/v1/tenants/{tenant.id}").status_code == 403
    assert operator.get("/v1/tenant").status_code == 403
    assert operator.post("/v1/api_keys").status_code == 403


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer sk_nope",
        "Basic abc",
        "Bearer op_wrong",
        "Bearer sk_\u00e9".encode("latin-1"),
    ],
)
def test_missing_or_invalid_credentials_are_401(
    client: TestClient, authorization: str | bytes | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/v1/tenant", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_key_fails_on_the_next_request(tenant: TenantHandle, app: Any) -> None:
    created = tenant.http.post("/v1/api_keys")
    assert created.status_code == 201
    second = created.json()
    with TestClient(app, headers={"Authorization": f"Bearer {second['secret']}"}) as http:
        assert http.get("/v1/tenant").status_code == 200
        revoked = tenant.http.delete(f"/v1/api_keys/{second['id']}")
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert http.get("/v1/tenant").status_code == 401
    assert tenant.http.get("/v1/tenant").status_code == 200
    listed = {k["id"]: k for k in tenant.http.get("/v1/api_keys").json()["data"]}
    assert listed[second["id"]]["revoked_at"] is not None
    assert "secret" not in listed[second["id"]]


def test_patch_own_tenant_settings(tenant: TenantHandle) -> None:
    response = tenant.http.patch(
        "/v1/tenant",
        json={"name": "Acme Learning", "dunning": {"retry_days": [2, 4], "final_action": "unpaid"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["dunning"] == {"retry_days": [2, 4], "final_action": "unpaid"}
    assert tenant.http.get("/v1/tenant").json()["name"] == "Acme Learning"
    bad = tenant.http.patch("/v1/tenant", json={"dunning": {"retry_days": [3, 1]}})
    assert bad.status_code == 422
    assert tenant.http.get("/v1/tenant").json()["dunning"]["retry_days"] == [2, 4]


def test_lists_paginate_with_cursor(operator: TestClient, make_tenant: Any) -> None:
    made = {make_tenant(name=f"Paged {i}").id for i in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = operator.get("/v1/tenants", params=params).json()
        seen.extend(t["id"] for t in page["data"])
        assert len(page["data"]) <= 2
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert made <= set(seen)
    assert len(seen) == len(set(seen)), "no object twice"
    assert seen == sorted(seen, reverse=True), "newest first"
    assert operator.get("/v1/tenants", params={"cursor": "%%%"}).status_code == 422
    assert operator.get("/v1/tenants", params={"limit": 101}).status_code == 422
