"""Webhook endpoints through HTTP: the secret shown once and stored sealed, validation, changes."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import text

from hisaab.core import secrets
from hisaab.db import Database
from hisaab.webhooks.service import EVENT_TYPES
from tests.conftest import TenantHandle
from tests.webhooks.conftest import create_endpoint

URL = "https://hooks.example.test/hisaab"


def _stored_secret(database: Database, tenant_id: str, endpoint_id: str) -> str:
    with database.transaction(tenant_id) as session:
        sealed: str = session.execute(
            text("SELECT secret_sealed FROM webhook_endpoints WHERE id = :id"), {"id": endpoint_id}
        ).scalar_one()
    return sealed


def test_create_shows_the_secret_once_and_stores_it_sealed(
    tenant: TenantHandle, database: Database
) -> None:
    response = tenant.http.post(
        "/v1/webhook_endpoints",
        json={"url": URL, "events": ["invoice.paid"], "description": "ERP"},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].startswith("we_")
    assert created["object"] == "webhook_endpoint"
    assert (created["url"], created["events"], created["description"]) == (
        URL,
        ["invoice.paid"],
        "ERP",
    )
    assert (created["status"], created["disabled_at"], created["disabled_reason"]) == (
        "enabled",
        None,
        None,
    )
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24

    shown = tenant.http.get(f"/v1/webhook_endpoints/{created['id']}").json()
    listed = tenant.http.get("/v1/webhook_endpoints").json()["data"]
    assert "secret" not in shown
    assert [e["id"] for e in listed] == [created["id"]]
    assert all("secret" not in e for e in listed)
    assert secret not in str(shown) + str(listed)

    sealed = _stored_secret(database, tenant.id, created["id"])
    assert secret not in sealed
    assert secrets.unseal(sealed) == secret


def test_rotating_gives_a_new_secret_once(tenant: TenantHandle, database: Database) -> None:
    endpoint = create_endpoint(tenant, URL)
    response = tenant.http.post(f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret")
    assert response.status_code == 200, response.text
    rotated = response.json()["secret"]
    assert rotated.startswith("whsec_")
    assert rotated != endpoint["secret"]
    assert secrets.unseal(_stored_secret(database, tenant.id, endpoint["id"])) == rotated
    assert "secret" not in tenant.http.get(f"/v1/webhook_endpoints/{endpoint['id']}").json()


@pytest.mark.parametrize(
    ("body", "code", "loc"),
    [
        ({"url": "ftp://example.test/", "events": ["*"]}, "invalid_url", ["body", "url"]),
        ({"url": "https://", "events": ["*"]}, "invalid_url", ["body", "url"]),
        ({"url": "/relative", "events": ["*"]}, "invalid_url", ["body", "url"]),
        (
            {"url": URL, "events": ["invoice.paid", "invoice.payed"]},
            "unknown_event_type",
            ["body", "events", 1],
        ),
        ({"url": URL, "events": []}, "validation_error", ["body", "events"]),
        ({"url": URL}, "validation_error", ["body", "events"]),
        ({"url": URL, "events": ["*"], "secret": "mine"}, "validation_error", ["body", "secret"]),
        ({"url": "x" * 3000, "events": ["*"]}, "validation_error", ["body", "url"]),
    ],
)
def test_bad_input_is_422_with_a_stable_code_and_creates_nothing(
    tenant: TenantHandle, body: dict[str, Any], code: str, loc: list[Any]
) -> None:
    response = tenant.http.post("/v1/webhook_endpoints", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == code
    assert problem["errors"][0]["loc"] == loc
    assert tenant.http.get("/v1/webhook_endpoints").json()["data"] == []


def test_patch_changes_what_is_sent_and_disables(tenant: TenantHandle) -> None:
    endpoint = create_endpoint(tenant, URL)
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    changed = tenant.http.patch(
        path,
        json={
            "url": "http://127.0.0.1:9/other",
            "events": ["payment.failed"],
            "description": "x",
        },
    ).json()
    assert (changed["url"], changed["events"], changed["description"]) == (
        "http://127.0.0.1:9/other",
        ["payment.failed"],
        "x",
    )
    disabled = tenant.http.patch(path, json={"disabled": True}).json()
    assert (disabled["status"], disabled["disabled_reason"]) == ("disabled", "manual")
    assert disabled["disabled_at"] is not None
    assert disabled["events"] == ["payment.failed"]  # untouched fields stay
    cleared = tenant.http.patch(path, json={"description": None, "disabled": False}).json()
    assert (cleared["status"], cleared["disabled_at"], cleared["disabled_reason"]) == (
        "enabled",
        None,
        None,
    )
    assert cleared["description"] is None
    assert "secret" not in cleared


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "gopher://x"}, "invalid_url"),
        ({"events": ["nope"]}, "unknown_event_type"),
        ({"url": None}, "validation_error"),
        ({"events": None}, "validation_error"),
        ({"disabled": None}, "validation_error"),
        ({"disabled": "maybe"}, "validation_error"),
    ],
)
def test_a_refused_patch_changes_nothing(
    tenant: TenantHandle, body: dict[str, Any], code: str
) -> None:
    endpoint = create_endpoint(tenant, URL, ["invoice.paid"])
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    response = tenant.http.patch(path, json={**body, "description": "changed?"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    after = tenant.http.get(path).json()
    assert (after["url"], after["events"], after["description"]) == (URL, ["invoice.paid"], None)


def test_delete_removes_the_endpoint(tenant: TenantHandle) -> None:
    endpoint = create_endpoint(tenant, URL)
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    deleted = tenant.http.delete(path)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"object": "webhook_endpoint", "id": endpoint["id"], "deleted": True}
    assert tenant.http.get(path).status_code == 404
    assert tenant.http.delete(path).status_code == 404


def test_another_tenants_endpoint_is_404(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    endpoint = create_endpoint(tenant, URL)
    for method, suffix, body in [
        ("GET", "", None),
        ("PATCH", "", {"disabled": True}),
        ("DELETE", "", None),
        ("POST", "/rotate_secret", None),
        ("GET", "/deliveries", None),
    ]:
        response = other_tenant.http.request(
            method, f"/v1/webhook_endpoints/{endpoint['id']}{suffix}", json=body
        )
        assert response.status_code == 404, (method, suffix, response.text)
        assert response.json()["code"] == "resource_missing"
    assert other_tenant.http.get("/v1/webhook_endpoints").json()["data"] == []
    assert tenant.http.get(f"/v1/webhook_endpoints/{endpoint['id']}").json()["status"] == "enabled"


@pytest.mark.parametrize("endpoint_id", ["we_nope", "cus_01jd3k5x7q9m2n4p6r8s0t1v3w", "x" * 64])
def test_unknown_ids_are_404(tenant: TenantHandle, endpoint_id: str) -> None:
    response = tenant.http.get(f"/v1/webhook_endpoints/{endpoint_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "resource_missing"


def test_deliveries_filter_must_be_a_status(tenant: TenantHandle) -> None:
    endpoint = create_endpoint(tenant, URL)
    path = f"/v1/webhook_endpoints/{endpoint['id']}/deliveries"
    assert tenant.http.get(path, params={"status": "failed"}).json()["data"] == []
    response = tenant.http.get(path, params={"status": "lost"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_every_event_type_may_be_subscribed(tenant: TenantHandle) -> None:
    endpoint = create_endpoint(tenant, URL, list(EVENT_TYPES))
    assert endpoint["events"] == list(EVENT_TYPES)
