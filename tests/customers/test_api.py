"""Customers and payment methods through HTTP, against a real PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.conftest import TenantHandle

KA_GSTIN = "29AAACA1234A1ZG"
MH_GSTIN = "27AAACA1234A1ZK"
DE_VAT = "DE136695976"
CLOCK_TIME = "2026-01-31T10:00:00Z"
ASHA = {"name": "Asha Rao", "email": "asha@example.test", "country": "IN", "state": "MH"}
PROBLEM_JSON = "application/problem+json"


def _customer(t: TenantHandle, **overrides: Any) -> dict[str, Any]:
    response = t.http.post("/v1/customers", json={**ASHA, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _attach(t: TenantHandle, customer_id: str, **body: Any) -> dict[str, Any]:
    response = t.http.post(
        f"/v1/customers/{customer_id}/payment_methods",
        json={"gateway": "sandbox", "token": "pm_card_visa", **body},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _methods(t: TenantHandle, customer_id: str) -> list[dict[str, Any]]:
    response = t.http.get(f"/v1/customers/{customer_id}/payment_methods", params={"limit": 100})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _problem(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def _events(t: TenantHandle, event_type: str, object_id: str) -> list[dict[str, Any]]:
    response = t.http.get("/v1/events", params={"type": event_type, "object_id": object_id})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _clock(t: TenantHandle) -> str:
    response = t.http.post("/v1/test_clocks", json={"frozen_time": CLOCK_TIME})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# --- create, get, list ----------------------------------------------------------------------


def test_create_get_and_list(tenant: TenantHandle) -> None:
    customer = _customer(
        tenant,
        external_id="crm-1",
        address={"line1": "1 MG Road", "city": "Pune", "postal_code": "411001"},
        metadata={"plan": "gold"},
    )
    assert customer["object"] == "customer"
    assert customer["id"].startswith("cus_")
    assert customer["state"] == "MH"
    assert customer["gstin"] is None
    assert customer["sez"] is False
    assert customer["currency"] == "INR"
    assert customer["locale"] == "en"
    assert customer["address"] == {"line1": "1 MG Road", "city": "Pune", "postal_code": "411001"}
    assert customer["metadata"] == {"plan": "gold"}
    assert customer["test_clock_id"] is None
    assert customer["default_payment_method_id"] is None
    assert customer["created_at"] == customer["updated_at"]
    assert tenant.http.get(f"/v1/customers/{customer['id']}").json() == customer
    listed = tenant.http.get("/v1/customers").json()
    assert listed["data"] == [customer]
    assert listed["has_more"] is False


def test_every_field_is_written_as_the_answer_shows_it(tenant: TenantHandle) -> None:
    """The new customer is written as a plain row and answered from what was written: what is
    read back later is the same, field for field."""
    clock = _clock(tenant)
    customer = _customer(
        tenant,
        state=None,
        gstin=MH_GSTIN.lower(),
        sez=True,
        phone="+919876543210",
        external_id="crm-all",
        currency="usd",
        locale="en-in",
        address={"line1": "2 Marine Drive", "city": "Mumbai", "country": "IN"},
        metadata={"tier": "gold", "source": "import"},
        test_clock_id=clock,
    )
    assert customer["gstin"] == MH_GSTIN
    assert (customer["state"], customer["currency"], customer["locale"]) == ("MH", "USD", "en_IN")
    assert customer["created_at"] == customer["updated_at"] == CLOCK_TIME
    assert tenant.http.get(f"/v1/customers/{customer['id']}").json() == customer
    assert _events(tenant, "customer.created", customer["id"])[0]["data"]["object"] == customer


def test_b2b_customer_state_comes_from_the_gstin(tenant: TenantHandle) -> None:
    customer = _customer(tenant, state=None, gstin=KA_GSTIN.lower(), sez=True)
    assert (customer["state"], customer["gstin"], customer["sez"]) == ("KA", KA_GSTIN, True)


def test_eu_b2b_customer(tenant: TenantHandle) -> None:
    customer = _customer(
        tenant, country="de", state=None, vat_id="de 136 695 976", currency="eur", locale="de"
    )
    assert (customer["country"], customer["vat_id"], customer["currency"]) == ("DE", DE_VAT, "EUR")


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"state": "KA", "gstin": MH_GSTIN}, 422, "gstin_state_mismatch"),
        ({"state": None, "gstin": "29AAACA1234A1ZH"}, 422, "invalid_gstin"),
        ({"country": "US", "state": None, "gstin": KA_GSTIN}, 422, "gstin_outside_india"),
        ({"state": None}, 422, "state_required"),
        ({"state": "ZZ"}, 422, "invalid_state"),
        ({"country": "XX", "state": None}, 422, "invalid_country"),
        ({"country": "FR", "state": None, "vat_id": DE_VAT}, 422, "vat_country_mismatch"),
        ({"country": "DE", "state": None, "vat_id": "DE136695977"}, 422, "invalid_vat_id"),
        ({"country": "GB", "state": None, "sez": True}, 422, "sez_outside_india"),
        ({"currency": "ABC"}, 422, "invalid_currency"),
        ({"locale": "xx-YY"}, 422, "invalid_locale"),
        ({"locale": "en_IN.UTF-8"}, 422, "invalid_locale"),
        ({"test_clock_id": "clock_nope"}, 404, "resource_missing"),
        ({"test_clock_id": "clock_01jd0000000000000000000000"}, 404, "resource_missing"),
        ({"email": "not-an-email"}, 422, "validation_error"),
        ({"name": ""}, 422, "validation_error"),
        ({"name": "A\u0000B"}, 422, "validation_error"),
        ({"country": "IND"}, 422, "validation_error"),
        ({"sez": "maybe"}, 422, "validation_error"),
        ({"address": {"line1": "x", "planet": "Mars"}}, 422, "validation_error"),
        ({"metadata": {"nested": {"a": "b"}}}, 422, "validation_error"),
        ({"metadata": {"n": 5}}, 422, "validation_error"),
        ({"metadata": ["a"]}, 422, "validation_error"),
        ({"unknown_field": 1}, 422, "validation_error"),
        ({"external_id": ""}, 422, "validation_error"),
    ],
)
def test_bad_input_is_a_problem_and_creates_nothing(
    tenant: TenantHandle, overrides: dict[str, Any], status: int, code: str
) -> None:
    response = tenant.http.post("/v1/customers", json={**ASHA, **overrides})
    _problem(response, status, code)
    assert tenant.http.get("/v1/customers").json()["data"] == []
    assert tenant.http.get("/v1/events", params={"type": "customer.created"}).json()["data"] == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{", 400),
        (b"[]", 422),
        (b"null", 422),
        (b'"text"', 422),
        (b'{"name": "x\\ud800", "email": "a@b.co", "country": "IN", "state": "MH"}', 422),
        (b"\xff\xfe", 400),
    ],
)
def test_malformed_bodies_are_4xx_problems(tenant: TenantHandle, body: bytes, status: int) -> None:
    for method, path in (("POST", "/v1/customers"), ("PATCH", "/v1/customers/cus_x")):
        response = tenant.http.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code in (status, 404), response.text
        assert response.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize("customer_id", ["nope", "cus_", "cus_01jd0000000000000000000000", "pm_x"])
def test_unknown_customer_is_404(tenant: TenantHandle, customer_id: str) -> None:
    _problem(tenant.http.get(f"/v1/customers/{customer_id}"), 404, "resource_missing")
    _problem(
        tenant.http.patch(f"/v1/customers/{customer_id}", json={"name": "x"}),
        404,
        "resource_missing",
    )
    _problem(
        tenant.http.get(f"/v1/customers/{customer_id}/payment_methods"), 404, "resource_missing"
    )


def test_another_tenants_test_clock_is_404(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    clock_id = _clock(other_tenant)
    body = _problem(
        tenant.http.post("/v1/customers", json={**ASHA, "test_clock_id": clock_id}),
        404,
        "resource_missing",
    )
    assert clock_id in body["detail"]


def test_currency_defaults_to_the_tenants_base_currency(make_tenant: Any) -> None:
    german = make_tenant(
        name="Beispiel GmbH",
        country="DE",
        state=None,
        gstin=None,
        lut=False,
        base_currency="EUR",
        timezone="Europe/Berlin",
        invoice_prefix="BSP",
    )
    customer = _customer(german, country="DE", state=None)
    assert customer["currency"] == "EUR"
    assert _customer(german, country="US", state="NY", currency="usd")["currency"] == "USD"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("en", "en"),
        ("hi", "hi"),
        ("de", "de"),
        ("fr", "fr"),
        ("en-IN", "en_IN"),
        ("EN_in", "en_IN"),
    ],
)
def test_locale_is_normalized_to_cldr_form(tenant: TenantHandle, sent: str, stored: str) -> None:
    assert _customer(tenant, locale=sent)["locale"] == stored


def test_list_filters_and_pages(tenant: TenantHandle) -> None:
    clock_id = _clock(tenant)
    a = _customer(tenant, email="a@example.test", external_id="ext-a")
    b = _customer(tenant, email="b@example.test")
    c = _customer(tenant, email="b@example.test", test_clock_id=clock_id)

    def ids(**params: Any) -> list[str]:
        response = tenant.http.get("/v1/customers", params=params)
        assert response.status_code == 200, response.text
        return [customer["id"] for customer in response.json()["data"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(email="b@example.test") == [c["id"], b["id"]]
    assert ids(email="B@example.test") == []
    assert ids(external_id="ext-a") == [a["id"]]
    assert ids(external_id="ext-zz") == []
    assert ids(test_clock_id=clock_id) == [c["id"]]
    first = tenant.http.get("/v1/customers", params={"limit": 2}).json()
    assert [x["id"] for x in first["data"]] == [c["id"], b["id"]]
    assert first["has_more"] is True
    rest = tenant.http.get(
        "/v1/customers", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [x["id"] for x in rest["data"]] == [a["id"]]
    assert rest["has_more"] is False
    _problem(tenant.http.get("/v1/customers?email=a%00b"), 422, "validation_error")
    _problem(tenant.http.get("/v1/customers", params={"limit": 0}), 422, "validation_error")


def test_external_id_is_unique_per_tenant(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    first = _customer(tenant, external_id="crm-42")
    _problem(
        tenant.http.post("/v1/customers", json={**ASHA, "external_id": "crm-42"}),
        409,
        "external_id_taken",
    )
    assert _customer(other_tenant, external_id="crm-42")["external_id"] == "crm-42"
    # Customers without one do not collide.
    _customer(tenant)
    _customer(tenant)
    second = _customer(tenant, external_id="crm-43")
    _problem(
        tenant.http.patch(f"/v1/customers/{second['id']}", json={"external_id": "crm-42"}),
        409,
        "external_id_taken",
    )
    assert tenant.http.get(f"/v1/customers/{second['id']}").json()["external_id"] == "crm-43"
    freed = tenant.http.patch(f"/v1/customers/{first['id']}", json={"external_id": None})
    assert freed.status_code == 200
    moved = tenant.http.patch(f"/v1/customers/{second['id']}", json={"external_id": "crm-42"})
    assert moved.json()["external_id"] == "crm-42"


# --- metadata -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        {f"k{i}": "v" for i in range(51)},
        {"k" * 41: "v"},
        {"k": "v" * 501},
        {"": "v"},
        {"   ": "v"},
    ],
    ids=["51-keys", "key-41-chars", "value-501-chars", "empty-key", "blank-key"],
)
def test_metadata_limits(tenant: TenantHandle, metadata: dict[str, str]) -> None:
    _problem(
        tenant.http.post("/v1/customers", json={**ASHA, "metadata": metadata}),
        422,
        "validation_error",
    )


def test_metadata_at_the_limits_and_patch_merges(tenant: TenantHandle) -> None:
    full = {f"{i:02d}" + "k" * 38: "v" * 500 for i in range(50)}
    customer = _customer(tenant, metadata=full)
    assert customer["metadata"] == full
    one_more = tenant.http.patch(f"/v1/customers/{customer['id']}", json={"metadata": {"x": "y"}})
    _problem(one_more, 422, "metadata_too_many_keys")
    first_key = next(iter(full))
    swapped = tenant.http.patch(
        f"/v1/customers/{customer['id']}", json={"metadata": {first_key: None, "x": "y"}}
    )
    assert swapped.status_code == 200, swapped.text
    assert first_key not in swapped.json()["metadata"]
    assert swapped.json()["metadata"]["x"] == "y"
    assert len(swapped.json()["metadata"]) == 50
    cleared = tenant.http.patch(f"/v1/customers/{customer['id']}", json={"metadata": None})
    assert cleared.json()["metadata"] == {}


# --- PATCH ----------------------------------------------------------------------------------


def test_patch_changes_only_what_is_sent(tenant: TenantHandle) -> None:
    customer = _customer(tenant, external_id="crm-1", metadata={"a": "1"})
    response = tenant.http.patch(
        f"/v1/customers/{customer['id']}",
        json={"name": "Asha R.", "locale": "hi-IN", "address": {"city": "Mumbai"}},
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert (patched["name"], patched["locale"], patched["address"]) == (
        "Asha R.",
        "hi_IN",
        {"city": "Mumbai"},
    )
    unchanged = {"name", "locale", "address", "updated_at"}
    assert {k: v for k, v in patched.items() if k not in unchanged} == {
        k: v for k, v in customer.items() if k not in unchanged
    }
    assert patched["updated_at"] >= customer["updated_at"]


def test_patch_revalidates_the_tax_identity(tenant: TenantHandle) -> None:
    customer = _customer(tenant)  # an MH consumer
    became_b2b = tenant.http.patch(f"/v1/customers/{customer['id']}", json={"gstin": KA_GSTIN})
    assert became_b2b.status_code == 200, became_b2b.text
    assert (became_b2b.json()["state"], became_b2b.json()["gstin"]) == ("KA", KA_GSTIN)
    url = f"/v1/customers/{customer['id']}"
    _problem(tenant.http.patch(url, json={"state": "MH"}), 422, "gstin_state_mismatch")
    _problem(
        tenant.http.patch(url, json={"country": "DE", "state": None}), 422, "gstin_outside_india"
    )
    _problem(tenant.http.patch(url, json={"vat_id": DE_VAT}), 422, "vat_country_mismatch")
    _problem(tenant.http.patch(url, json={"gstin": "29AAACA1234A1ZH"}), 422, "invalid_gstin")
    assert tenant.http.get(url).json() == became_b2b.json()
    consumer_again = tenant.http.patch(url, json={"gstin": None})
    assert (consumer_again.json()["state"], consumer_again.json()["gstin"]) == ("KA", None)
    _problem(tenant.http.patch(url, json={"state": None}), 422, "state_required")
    moved = tenant.http.patch(url, json={"country": "DE", "state": None, "vat_id": DE_VAT})
    assert moved.status_code == 200, moved.text
    _problem(tenant.http.patch(url, json={"sez": True}), 422, "sez_outside_india")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "USD"}, "currency"),
        ({"currency": None}, "currency"),
        ({"test_clock_id": "clock_01jd0000000000000000000000"}, "test_clock_id"),
    ],
)
def test_currency_and_test_clock_are_fixed(
    tenant: TenantHandle, body: dict[str, Any], field: str
) -> None:
    customer = _customer(tenant)
    problem = _problem(
        tenant.http.patch(f"/v1/customers/{customer['id']}", json=body), 422, "immutable_field"
    )
    assert problem["errors"][0]["loc"] == ["body", field]
    assert tenant.http.get(f"/v1/customers/{customer['id']}").json() == customer


def test_sending_the_fixed_fields_unchanged_is_harmless(tenant: TenantHandle) -> None:
    customer = _customer(tenant)
    response = tenant.http.patch(
        f"/v1/customers/{customer['id']}", json={"currency": "inr", "test_clock_id": None}
    )
    assert response.status_code == 200, response.text
    assert response.json() == customer


def test_clock_customer_cannot_leave_its_clock(tenant: TenantHandle) -> None:
    customer = _customer(tenant, test_clock_id=_clock(tenant))
    _problem(
        tenant.http.patch(f"/v1/customers/{customer['id']}", json={"test_clock_id": None}),
        422,
        "immutable_field",
    )


@pytest.mark.parametrize("field", ["name", "email", "country", "sez", "locale"])
def test_required_fields_cannot_be_nulled(tenant: TenantHandle, field: str) -> None:
    customer = _customer(tenant)
    _problem(
        tenant.http.patch(f"/v1/customers/{customer['id']}", json={field: None}),
        422,
        "validation_error",
    )


# --- events ---------------------------------------------------------------------------------


def test_events_are_emitted(tenant: TenantHandle) -> None:
    customer = _customer(tenant)
    created = _events(tenant, "customer.created", customer["id"])
    assert len(created) == 1
    assert created[0]["data"]["object"] == customer
    assert tenant.http.get(f"/v1/events/{created[0]['id']}").json() == created[0]
    patched = tenant.http.patch(f"/v1/customers/{customer['id']}", json={"name": "New"}).json()
    updated = _events(tenant, "customer.updated", customer["id"])
    assert [e["data"]["object"] for e in updated] == [patched]
    # A PATCH that changes nothing announces nothing.
    tenant.http.patch(f"/v1/customers/{customer['id']}", json={"name": "New"})
    assert len(_events(tenant, "customer.updated", customer["id"])) == 1
    # A new default payment method is a change of the customer.
    method = _attach(tenant, customer["id"])
    updated = _events(tenant, "customer.updated", customer["id"])
    assert len(updated) == 2
    assert updated[0]["data"]["object"]["default_payment_method_id"] == method["id"]
    _attach(tenant, customer["id"])  # not the default: the customer did not change
    assert len(_events(tenant, "customer.updated", customer["id"])) == 2
    tenant.http.delete(f"/v1/customers/{customer['id']}/payment_methods/{method['id']}")
    updated = _events(tenant, "customer.updated", customer["id"])
    assert len(updated) == 3
    assert updated[0]["data"]["object"]["default_payment_method_id"] is None


# --- payment methods ------------------------------------------------------------------------


def test_first_payment_method_is_the_default(tenant: TenantHandle) -> None:
    customer = _customer(tenant)
    first = _attach(tenant, customer["id"])
    assert first["object"] == "payment_method"
    assert first["id"].startswith("pm_")
    assert (first["gateway"], first["type"], first["token"]) == ("sandbox", "card", "pm_card_visa")
    assert first["default"] is True
    assert first["customer_id"] == customer["id"]
    second = _attach(tenant, customer["id"], token="pm_upi_success")
    assert (second["type"], second["default"]) == ("upi", False)
    assert (
        tenant.http.get(f"/v1/customers/{customer['id']}").json()["default_payment_method_id"]
        == first["id"]
    )
    assert [(m["id"], m["default"]) for m in _methods(tenant, customer["id"])] == [
        (second["id"], False),
        (first["id"], True),
    ]


def test_default_switches(tenant: TenantHandle) -> None:
    customer = _customer(tenant)
    first = _attach(tenant, customer["id"])
    second = _attach(tenant, customer["id"], token="pm_card_chargeDeclined", default=True)
    assert second["default"] is True
    assert {m["id"]: m["default"] for m in _methods(tenant, customer["id"])} == {
        first["id"]: False,
        second["id"]: True,
    }
    back = tenant.http.patch(
        f"/v1/customers/{customer['id']}", json={"default_payment_method_id": first["id"]}
    )
    assert back.status_code == 200, back.text
    assert back.json()["default_payment_method_id"] == first["id"]
    none = tenant.http.patch(
        f"/v1/customers/{customer['id']}", json={"default_payment_method_id": None}
    )
    assert none.json()["default_payment_method_id"] is None
    assert not any(m["default"] for m in _methods(tenant, customer["id"]))


def test_explicitly_not_default(tenant: TenantHandle) -> None:
    customer = _customer(tenant)
    method = _attach(tenant, customer["id"], default=False)
    assert method["default"] is False
    assert (
        tenant.http.get(f"/v1/customers/{customer['id']}").json()["default_payment_method_id"]
        is None
    )


def test_detaching_the_default_leaves_no_default(tenant: TenantHandle) -> None:
    customer = _customer(tenant)
    first = _attach(tenant, customer["id"])
    second = _attach(tenant, customer["id"], token="pm_upi_success")
    url = f"/v1/customers/{customer['id']}/payment_methods/{first['id']}"
    detached = tenant.http.delete(url)
    assert detached.status_code == 200, detached.text
    assert detached.json()["detached_at"] is not None
    assert detached.json()["default"] is False
    assert (
        tenant.http.get(f"/v1/customers/{customer['id']}").json()["default_payment_method_id"]
        is None
    )
    assert [m["id"] for m in _methods(tenant, customer["id"])] == [second["id"]]
    assert tenant.http.get(url).json() == detached.json()
    again = tenant.http.delete(url)
    assert again.status_code == 200
    assert again.json() == detached.json()
    _problem(
        tenant.http.patch(
            f"/v1/customers/{customer['id']}", json={"default_payment_method_id": first["id"]}
        ),
        422,
        "payment_method_not_attached",
    )
    # With no default, the next one attached becomes it.
    third = _attach(tenant, customer["id"])
    assert third["default"] is True


def test_default_must_be_one_of_the_customers_methods(tenant: TenantHandle) -> None:
    customer = _customer(tenant)
    other = _customer(tenant)
    others_method = _attach(tenant, other["id"])
    for candidate in (others_method["id"], "pm_nope", "cus_x", "pm_01jd0000000000000000000000"):
        _problem(
            tenant.http.patch(
                f"/v1/customers/{customer['id']}", json={"default_payment_method_id": candidate}
            ),
            422,
            "payment_method_not_attached",
        )
    _problem(
        tenant.http.get(f"/v1/customers/{customer['id']}/payment_methods/{others_method['id']}"),
        404,
        "resource_missing",
    )
    _problem(
        tenant.http.delete(f"/v1/customers/{customer['id']}/payment_methods/{others_method['id']}"),
        404,
        "resource_missing",
    )
    assert _methods(tenant, other["id"])[0]["detached_at"] is None


def test_another_tenants_payment_method_is_404_even_under_an_own_customer(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    victim = _customer(tenant)
    method = _attach(tenant, victim["id"])
    own = _customer(other_tenant)
    url = f"/v1/customers/{own['id']}/payment_methods/{method['id']}"
    _problem(other_tenant.http.get(url), 404, "resource_missing")
    _problem(other_tenant.http.delete(url), 404, "resource_missing")
    _problem(
        other_tenant.http.patch(
            f"/v1/customers/{own['id']}", json={"default_payment_method_id": method["id"]}
        ),
        422,
        "payment_method_not_attached",
    )
    assert _methods(tenant, victim["id"]) == [method]


def test_the_database_refuses_a_default_of_another_customer(
    tenant: TenantHandle, database: Any
) -> None:
    customer = _customer(tenant)
    other = _customer(tenant)
    others_method = _attach(tenant, other["id"])
    with pytest.raises(IntegrityError), database.transaction(tenant.id) as session:
        session.execute(
            text("UPDATE customers SET default_payment_method_id = :pm WHERE id = :cus"),
            {"pm": others_method["id"], "cus": customer["id"]},
        )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"gateway": "sandbox", "token": "pm_card_mastercard"}, "invalid_token"),
        ({"gateway": "sandbox", "token": "tok_visa"}, "invalid_token"),
        (
            {"gateway": "sandbox", "token": "pm_upi_success", "type": "card"},
            "payment_method_type_mismatch",
        ),
        ({"gateway": "stripe", "token": "pm 123"}, "invalid_token"),
        ({"gateway": "razorpay", "token": "tok\u00e9n"}, "invalid_token"),
        ({"gateway": "paypal", "token": "pm_card_visa"}, "validation_error"),
        ({"gateway": "sandbox", "token": ""}, "validation_error"),
        ({"gateway": "stripe", "token": "x" * 256}, "validation_error"),
        ({"gateway": "sandbox"}, "validation_error"),
        ({"gateway": "sandbox", "token": "pm_card_visa", "default": "maybe"}, "validation_error"),
        ({"gateway": "sandbox", "token": "pm_card_visa", "type": "bank"}, "validation_error"),
    ],
)
def test_bad_payment_methods_are_422(tenant: TenantHandle, body: dict[str, Any], code: str) -> None:
    customer = _customer(tenant)
    problem = _problem(
        tenant.http.post(f"/v1/customers/{customer['id']}/payment_methods", json=body), 422, code
    )
    if code == "invalid_token" and body["gateway"] == "sandbox":
        for accepted in (
            "pm_card_visa",
            "pm_card_chargeDeclined",
            "pm_card_chargeDeclinedInsufficientFunds",
            "pm_card_authenticationRequired",
            "pm_upi_success",
        ):
            assert accepted in problem["detail"]
    assert _methods(tenant, customer["id"]) == []


@pytest.mark.parametrize(
    ("gateway", "token", "kind"),
    [("stripe", "pm_1PQ2xyzABC", "card"), ("razorpay", "token_4lsdksD31GaZ09", "card")],
)
def test_gateway_tokens_are_kept_as_given(
    tenant: TenantHandle, gateway: str, token: str, kind: str
) -> None:
    customer = _customer(tenant)
    method = _attach(tenant, customer["id"], gateway=gateway, token=token)
    assert (method["gateway"], method["token"], method["type"]) == (gateway, token, kind)
    upi = _attach(tenant, customer["id"], gateway=gateway, token=token, type="upi")
    assert upi["type"] == "upi"


def _race(
    app: Any, t: TenantHandle, calls: list[tuple[str, str, dict[str, Any]]]
) -> list[Response]:
    """Send the requests at the same moment, each from its own client and thread."""
    barrier = threading.Barrier(len(calls))
    clients = [
        TestClient(
            app, headers={"Authorization": f"Bearer {t.secret}"}, raise_server_exceptions=False
        )
        for _ in calls
    ]

    def send(index: int) -> Response:
        method, path, body = calls[index]
        barrier.wait()
        return clients[index].request(method, path, json=body)

    try:
        with ThreadPoolExecutor(len(calls)) as pool:
            return list(pool.map(send, range(len(calls))))
    finally:
        for client in clients:
            client.close()


@pytest.mark.parametrize("default", [True, None])
def test_one_default_under_concurrent_attaches(
    app: Any, tenant: TenantHandle, default: bool | None
) -> None:
    for _ in range(3):
        customer = _customer(tenant)
        path = f"/v1/customers/{customer['id']}/payment_methods"
        body: dict[str, Any] = {"gateway": "sandbox", "token": "pm_card_visa"}
        if default is not None:
            body["default"] = default
        responses = _race(app, tenant, [("POST", path, body), ("POST", path, body)])
        assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
        methods = _methods(tenant, customer["id"])
        assert len(methods) == 2
        defaults = [m["id"] for m in methods if m["default"]]
        assert len(defaults) == 1
        stored = tenant.http.get(f"/v1/customers/{customer['id']}").json()
        assert stored["default_payment_method_id"] == defaults[0]
        if default is None:
            # Only the first to take the customer's lock found no default.
            assert sorted(r.json()["default"] for r in responses) == [False, True]


# --- test clocks ----------------------------------------------------------------------------


def test_customer_on_a_test_clock_lives_at_its_time_and_dies_with_it(tenant: TenantHandle) -> None:
    clock_id = _clock(tenant)
    customer = _customer(tenant, test_clock_id=clock_id)
    assert customer["test_clock_id"] == clock_id
    assert customer["created_at"] == CLOCK_TIME
    method = _attach(tenant, customer["id"])
    assert method["created_at"] == CLOCK_TIME
    created = _events(tenant, "customer.created", customer["id"])
    assert created[0]["created_at"] == CLOCK_TIME
    bystander = _customer(tenant)
    assert tenant.http.delete(f"/v1/test_clocks/{clock_id}").status_code == 200
    _problem(tenant.http.get(f"/v1/customers/{customer['id']}"), 404, "resource_missing")
    _problem(
        tenant.http.get(f"/v1/customers/{customer['id']}/payment_methods/{method['id']}"),
        404,
        "resource_missing",
    )
    assert [c["id"] for c in tenant.http.get("/v1/customers").json()["data"]] == [bystander["id"]]


# --- idempotency ----------------------------------------------------------------------------


def test_idempotency_key_replay_creates_one_customer(tenant: TenantHandle) -> None:
    headers = {"Idempotency-Key": "create-asha-1"}
    first = tenant.http.post("/v1/customers", json=ASHA, headers=headers)
    again = tenant.http.post("/v1/customers", json=ASHA, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert len(tenant.http.get("/v1/customers").json()["data"]) == 1
    assert len(_events(tenant, "customer.created", first.json()["id"])) == 1
    _problem(
        tenant.http.post("/v1/customers", json={**ASHA, "name": "Other"}, headers=headers),
        422,
        "idempotency_key_reused",
    )


def test_idempotent_attach(tenant: TenantHandle) -> None:
    customer = _customer(tenant)
    path = f"/v1/customers/{customer['id']}/payment_methods"
    body = {"gateway": "sandbox", "token": "pm_card_visa"}
    headers = {"Idempotency-Key": "attach-1"}
    first = tenant.http.post(path, json=body, headers=headers)
    again = tenant.http.post(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(_methods(tenant, customer["id"])) == 1
