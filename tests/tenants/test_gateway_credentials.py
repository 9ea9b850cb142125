"""Gateway credentials: write-only in the API, sealed in the database, removable."""

from __future__ import annotations

from sqlalchemy import text

from hisaab.db import Database
from hisaab.tenants import service as tenants
from tests.conftest import TenantHandle

STRIPE = {"secret_key": "sk_test_51Hs3cr3tKeyValue4242", "webhook_secret": "whsec_abcDEF123456"}
RAZORPAY = {
    "key_id": "rzp_test_1DP5mmOlF5G5ag",
    "key_secret": "thisIsTheRazorpaySecret",
    "webhook_secret": "razorpay-webhook-secret",
}


def test_secrets_are_never_returned_and_never_stored_in_clear(
    tenant: TenantHandle, database: Database
) -> None:
    response = tenant.http.patch(
        "/v1/tenant", json={"gateways": {"stripe": STRIPE, "razorpay": RAZORPAY}}
    )
    assert response.status_code == 200, response.text
    for body in (response.json(), tenant.http.get("/v1/tenant").json()):
        assert body["gateways"] == {
            "sandbox": {"configured": True, "webhook_secret_set": False, "account_hint": None},
            "razorpay": {
                "configured": True,
                "webhook_secret_set": True,
                "account_hint": "rzp_test_1DP5mmOlF5G5ag",
            },
            "stripe": {
                "configured": True,
                "webhook_secret_set": True,
                "account_hint": "sk_test_…4242",
            },
        }
        dumped = str(body)
        for secret in (STRIPE["secret_key"], STRIPE["webhook_secret"], RAZORPAY["key_secret"]):
            assert secret not in dumped
    with database.transaction(tenant.id) as session:
        stored = session.scalar(
            text("SELECT gateways::text FROM tenants WHERE id = :id"), {"id": tenant.id}
        )
        assert stored is not None
        for secret in (STRIPE["secret_key"], STRIPE["webhook_secret"], RAZORPAY["key_secret"]):
            assert secret not in stored
        assert tenants.gateway_credentials(session, tenant.id, "stripe") == {
            **STRIPE,
            "hint": "sk_test_…4242",
        }
        assert tenants.gateway_credentials(session, tenant.id, "razorpay") == RAZORPAY


def test_null_removes_a_gateway_and_other_fields_stay(tenant: TenantHandle) -> None:
    tenant.http.patch("/v1/tenant", json={"gateways": {"stripe": STRIPE, "razorpay": RAZORPAY}})
    response = tenant.http.patch("/v1/tenant", json={"gateways": {"stripe": None}})
    assert response.status_code == 200, response.text
    assert set(response.json()["gateways"]) == {"sandbox", "razorpay"}


def test_malformed_credentials_are_422_and_change_nothing(tenant: TenantHandle) -> None:
    for bad in (
        {"stripe": {"secret_key": "pk_test_publishableKey"}},
        {"stripe": {"secret_key": STRIPE["secret_key"], "webhook_secret": "nope"}},
        {"razorpay": {"key_id": "not-a-key", "key_secret": "x" * 10}},
        {"paypal": {"secret": "x"}},
    ):
        response = tenant.http.patch("/v1/tenant", json={"gateways": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert set(tenant.http.get("/v1/tenant").json()["gateways"]) == {"sandbox"}
