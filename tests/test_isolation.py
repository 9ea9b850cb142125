"""Tenant isolation: another tenant's id is 404 everywhere, lists never leak, and PostgreSQL
itself (row-level security) hides every row from a connection with no tenant scope.

New resources join RESOURCES; `test_every_id_route_is_in_the_suite` fails until they do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from hisaab import migrations
from hisaab.app import create_app
from hisaab.core.problems import flat_routes
from hisaab.db import Database
from hisaab.settings import Settings, database_urls
from tests.conftest import ADMIN_TOKEN, INDIAN_TENANT, TenantHandle
from tests.databases import create_database, drop_database


@dataclass(frozen=True)
class Resource:
    """A kind of object a tenant owns, how to make one, and every route that takes its id."""

    name: str
    # The object's id, or for a nested route {"id": parent id, "<param>": object id}.
    create: Callable[[TenantHandle], str | dict[str, str]]
    requests: tuple[tuple[str, str, dict[str, Any] | None], ...]
    list_path: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def _api_key(t: TenantHandle) -> str:
    response = t.http.post("/v1/api_keys")
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _test_clock(t: TenantHandle) -> str:
    response = t.http.post("/v1/test_clocks", json={"frozen_time": "2026-01-31T10:00:00Z"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


CUSTOMER = {"name": "Isolated", "email": "iso@example.test", "country": "IN", "state": "KA"}


def _customer(t: TenantHandle) -> str:
    response = t.http.post("/v1/customers", json=CUSTOMER)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _payment_method(t: TenantHandle) -> dict[str, str]:
    customer_id = _customer(t)
    response = t.http.post(
        f"/v1/customers/{customer_id}/payment_methods",
        json={"gateway": "sandbox", "token": "pm_card_visa"},
    )
    assert response.status_code == 201, response.text
    return {"id": customer_id, "payment_method_id": str(response.json()["id"])}


def _event(t: TenantHandle) -> str:
    customer_id = _customer(t)
    response = t.http.get(
        "/v1/events", params={"type": "customer.created", "object_id": customer_id}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["data"][0]["id"])


def _plan(t: TenantHandle) -> str:
    response = t.http.post(
        "/v1/plans",
        json={
            "code": "isolated",
            "name": "Isolated",
            "interval": "month",
            "prices": [{"currency": "INR", "unit_amount": 100000}],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _coupon(t: TenantHandle) -> str:
    response = t.http.post(
        "/v1/coupons", json={"code": "ISOLATED", "percent_off": 10, "duration": "once"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _subscription(t: TenantHandle) -> str:
    plan = t.http.post(
        "/v1/plans",
        json={
            "code": "isolated-sub",
            "name": "Isolated",
            "interval": "month",
            "prices": [{"currency": "INR", "unit_amount": 100000}],
        },
    ).json()["id"]
    response = t.http.post("/v1/subscriptions", json={"customer_id": _customer(t), "plan_id": plan})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _billed_customer(t: TenantHandle) -> str:
    """A customer with a subscription: entitlements and an upcoming invoice to show."""
    subscription = t.http.get(f"/v1/subscriptions/{_subscription(t)}").json()
    customer = str(subscription["customer_id"])
    card = {"gateway": "sandbox", "token": "pm_card_visa", "default": True}
    attached = t.http.post(f"/v1/customers/{customer}/payment_methods", json=card)
    assert attached.status_code == 201, attached.text  # pays the first invoice: active
    return customer


def _invoice(t: TenantHandle) -> str:
    subscription = t.http.get(f"/v1/subscriptions/{_subscription(t)}").json()
    return str(subscription["latest_invoice_id"])


def _credit_note(t: TenantHandle) -> str:
    # Of a B2B invoice, so that the owner's e-invoice of the credit note is 200, not 409.
    body = {"invoice_id": _b2b_invoice(t), "reason": "duplicate", "amount": 100}
    response = t.http.post("/v1/credit_notes", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _payment(t: TenantHandle) -> str:
    """The try at collecting a subscription's first invoice."""
    response = t.http.get("/v1/payments", params={"invoice_id": _invoice(t)})
    assert response.status_code == 200, response.text
    return str(response.json()["data"][0]["id"])


def _ledger_entry(t: TenantHandle) -> str:
    """The journal entry an invoice posted; the ledger has no id routes, only its lists."""
    response = t.http.get("/v1/ledger/entries", params={"source_id": _invoice(t)})
    assert response.status_code == 200, response.text
    return str(response.json()["data"][0]["id"])


def _b2b_invoice(t: TenantHandle) -> str:
    address = {"line1": "1 MG Road", "city": "Bengaluru", "postal_code": "560001"}
    assert t.http.patch("/v1/tenant", json={"address": address}).status_code == 200
    plan = _plan(t)
    customer = t.http.post(
        "/v1/customers",
        json={**CUSTOMER, "gstin": "27AAACA1234A1ZK", "state": None, "address": address},
    )
    assert customer.status_code == 201, customer.text
    response = t.http.post(
        "/v1/subscriptions", json={"customer_id": customer.json()["id"], "plan_id": plan}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["latest_invoice_id"])


def _meter(t: TenantHandle) -> str:
    response = t.http.post("/v1/meters", json={"code": "isolated", "aggregation": "count"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _webhook_endpoint(t: TenantHandle) -> str:
    # Port 9 (discard) on loopback: should a job ever send, it is refused at once, nothing leaves.
    body = {"url": "http://127.0.0.1:9/isolated", "events": ["*"]}
    response = t.http.post("/v1/webhook_endpoints", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _webhook_delivery(t: TenantHandle) -> dict[str, str]:
    endpoint_id = _webhook_endpoint(t)
    _customer(t)  # customer.created: a delivery to the endpoint
    disabled = t.http.patch(f"/v1/webhook_endpoints/{endpoint_id}", json={"disabled": True})
    assert disabled.status_code == 200, disabled.text  # its job then sends nothing
    response = t.http.get(f"/v1/webhook_endpoints/{endpoint_id}/deliveries")
    assert response.status_code == 200, response.text
    return {"id": endpoint_id, "delivery_id": str(response.json()["data"][0]["id"])}


RESOURCES = (
    Resource(
        "api_key",
        _api_key,
        (("DELETE", "/v1/api_keys/{id}", None),),
        "/v1/api_keys",
    ),
    Resource(
        "test_clock",
        _test_clock,
        (
            ("GET", "/v1/test_clocks/{id}", None),
            ("POST", "/v1/test_clocks/{id}/advance", {"frozen_time": "2026-02-28T10:00:00Z"}),
            ("DELETE", "/v1/test_clocks/{id}", None),
        ),
        "/v1/test_clocks",
    ),
    Resource(
        "customer",
        _customer,
        (
            ("GET", "/v1/customers/{id}", None),
            ("PATCH", "/v1/customers/{id}", {"name": "Taken over"}),
            (
                "POST",
                "/v1/customers/{id}/payment_methods",
                {"gateway": "sandbox", "token": "pm_card_visa"},
            ),
            ("GET", "/v1/customers/{id}/payment_methods", None),
            ("GET", "/v1/customers/{id}/credit_balance", None),
            ("GET", "/v1/customers/{id}/usage", None),
        ),
        "/v1/customers",
    ),
    Resource(
        "payment_method",
        _payment_method,
        (
            ("GET", "/v1/customers/{id}/payment_methods/{payment_method_id}", None),
            ("DELETE", "/v1/customers/{id}/payment_methods/{payment_method_id}", None),
        ),
        None,
    ),
    Resource(
        "event",
        _event,
        (("GET", "/v1/events/{id}", None), ("POST", "/v1/events/{id}/resend", None)),
        "/v1/events",
    ),
    Resource(
        "webhook_endpoint",
        _webhook_endpoint,
        (
            ("GET", "/v1/webhook_endpoints/{id}", None),
            ("PATCH", "/v1/webhook_endpoints/{id}", {"description": "Taken over"}),
            ("POST", "/v1/webhook_endpoints/{id}/rotate_secret", None),
            ("GET", "/v1/webhook_endpoints/{id}/deliveries", None),
            ("DELETE", "/v1/webhook_endpoints/{id}", None),
        ),
        "/v1/webhook_endpoints",
    ),
    Resource(
        "webhook_delivery",
        _webhook_delivery,
        (
            ("GET", "/v1/webhook_endpoints/{id}/deliveries/{delivery_id}", None),
            ("POST", "/v1/webhook_endpoints/{id}/deliveries/{delivery_id}/retry", None),
        ),
        None,
    ),
    Resource(
        "plan",
        _plan,
        (
            ("GET", "/v1/plans/{id}", None),
            ("GET", "/v1/plans/{id}/versions", None),
            ("PATCH", "/v1/plans/{id}", {"name": "Taken over"}),
            ("POST", "/v1/plans/{id}/archive", None),
            ("POST", "/v1/plans/{id}/unarchive", None),
        ),
        "/v1/plans",
    ),
    Resource(
        "coupon",
        _coupon,
        (
            ("GET", "/v1/coupons/{id}", None),
            ("POST", "/v1/coupons/{id}/archive", None),
        ),
        "/v1/coupons",
    ),
    Resource(
        "subscription",
        _subscription,
        (
            ("GET", "/v1/subscriptions/{id}", None),
            ("POST", "/v1/subscriptions/{id}/change", {"quantity": 2}),
            ("POST", "/v1/subscriptions/{id}/remove_scheduled_change", None),
            ("POST", "/v1/subscriptions/{id}/cancel", {"at_period_end": True}),
            ("POST", "/v1/subscriptions/{id}/remove_scheduled_cancellation", None),
            ("POST", "/v1/subscriptions/{id}/pause", None),
            ("POST", "/v1/subscriptions/{id}/resume", None),
        ),
        "/v1/subscriptions",
    ),
    Resource(
        "invoice",
        _invoice,
        (
            ("GET", "/v1/invoices/{id}", None),
            ("POST", "/v1/invoices/{id}/pay", {"paid_out_of_band": True}),
            ("POST", "/v1/invoices/{id}/void", None),
            ("POST", "/v1/invoices/{id}/mark_uncollectible", None),
            ("GET", "/v1/invoices/{id}/pdf", None),
        ),
        "/v1/invoices",
    ),
    # A B2B invoice of a tenant with an address: the owner's e-invoice is 200, not 409.
    Resource(
        "einvoice", _b2b_invoice, (("GET", "/v1/invoices/{id}/einvoice", None),), "/v1/invoices"
    ),
    Resource(
        "credit_note",
        _credit_note,
        (
            ("GET", "/v1/credit_notes/{id}", None),
            ("GET", "/v1/credit_notes/{id}/pdf", None),
            ("GET", "/v1/credit_notes/{id}/einvoice", None),
        ),
        "/v1/credit_notes",
    ),
    Resource("ledger_entry", _ledger_entry, (), "/v1/ledger/entries"),
    Resource("meter", _meter, (("GET", "/v1/meters/{id}", None),), "/v1/meters"),
    Resource(
        "billed_customer",
        _billed_customer,
        (
            ("GET", "/v1/customers/{id}/entitlements", None),
            ("GET", "/v1/customers/{id}/upcoming_invoice", None),
        ),
        "/v1/customers",
    ),
    Resource("payment", _payment, (("GET", "/v1/payments/{id}", None),), "/v1/payments"),
)
# Routes with an id that only the operator may call; tenants get 403 whatever the id.
OPERATOR_ID_ROUTES = {("GET", "/v1/tenants/{tenant_id}")}
# Routes keyed by a name each tenant has its own of (a currency), not by an object id:
# `test_tenant_keyed_settings_are_separate` covers them.
TENANT_KEYED_ROUTES = {("PUT", "/v1/exchange_rates/{currency}")}
# Routes a gateway calls for the tenant in the path, with no API key: another tenant's URL
# refuses an event signed with this tenant's webhook secret (400, nothing stored), see
# tests/payments/test_inbound_webhooks.py `test_bad_signatures_are_400_and_change_nothing`.
GATEWAY_WEBHOOK_ROUTES = {
    ("POST", "/v1/gateways/stripe/webhooks/{tenant_id}"),
    ("POST", "/v1/gateways/razorpay/webhooks/{tenant_id}"),
}
# Tables without tenant_id: the job queue (no tenant data in it but ids) and Alembic's.
GLOBAL_TABLES_PREFIXES = ("procrastinate_", "alembic_version")


def _routes_with_ids(app: Any) -> set[tuple[str, str]]:
    found = set()
    for route in flat_routes(app.routes):
        if isinstance(route, APIRoute) and route.path.startswith("/v1/") and "{" in route.path:
            for method in route.methods:
                found.add((method, route.path))
    return found


def _template(path: str) -> str:
    return path.split("{", maxsplit=1)[0] + "{id}" + path.split("}", 1)[1]


def test_every_id_route_is_in_the_suite(app: Any) -> None:
    covered = {(method, path) for r in RESOURCES for method, path, _ in r.requests}
    missing = {
        (method, path)
        for method, path in _routes_with_ids(app)
        if (method, _template(path)) not in covered
        and (method, path) not in OPERATOR_ID_ROUTES | TENANT_KEYED_ROUTES | GATEWAY_WEBHOOK_ROUTES
    }
    assert ("DELETE", "/v1/api_keys/{key_id}") in _routes_with_ids(app), (
        "the route walk sees routes"
    )
    assert not missing, f"add these routes to RESOURCES in {__file__}: {sorted(missing)}"


def check_isolated(resource: Resource, owner: TenantHandle, intruder: TenantHandle) -> None:
    """The intruder cannot see or touch the owner's object; the owner still can."""
    created = resource.create(owner)
    ids = created if isinstance(created, dict) else {"id": created}
    object_id = ids["id"]
    for method, template, body in resource.requests:
        response = intruder.http.request(method, template.format(**ids), json=body)
        assert response.status_code == 404, (
            f"{method} {template}: {response.status_code} {response.text}"
        )
        assert response.json()["code"] == "resource_missing"
        assert object_id in response.json()["detail"]
        assert owner.id not in response.text
    if resource.list_path:
        intruder_ids = {
            o["id"]
            for o in intruder.http.get(resource.list_path, params={"limit": 100}).json()["data"]
        }
        owner_ids = {
            o["id"]
            for o in owner.http.get(resource.list_path, params={"limit": 100}).json()["data"]
        }
        assert object_id not in intruder_ids, f"{resource.list_path} lists another tenant's object"
        assert object_id in owner_ids, "the owner's own list still shows it (nothing was deleted)"
    for method, template, _ in resource.requests:
        if method == "GET":
            assert owner.http.get(template.format(**ids)).status_code == 200


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_other_tenants_objects_are_404(
    resource: Resource, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    check_isolated(resource, tenant, other_tenant)
    check_isolated(resource, other_tenant, tenant)


def test_tenant_scoped_singletons_show_only_own_data(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    assert tenant.http.get("/v1/tenant").json()["id"] == tenant.id
    assert other_tenant.http.get("/v1/tenant").json()["id"] == other_tenant.id
    tenant.http.post("/v1/test_clocks", json={"frozen_time": "2026-01-01T00:00:00Z"})
    actors = {
        e["actor"]
        for e in other_tenant.http.get("/v1/audit_log", params={"limit": 100}).json()["data"]
    }
    assert actors <= {other_tenant.key_id} | {
        k["id"] for k in other_tenant.http.get("/v1/api_keys").json()["data"]
    }


def test_tenant_keyed_settings_are_separate(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    mine = tenant.http.put(
        "/v1/exchange_rates/USD", json={"rate_to_inr": "83", "date": "2026-01-01"}
    )
    assert mine.status_code == 200, mine.text
    other_tenant.http.put("/v1/exchange_rates/USD", json={"rate_to_inr": "1", "date": "2026-01-01"})
    assert [r["rate_to_inr"] for r in tenant.http.get("/v1/exchange_rates").json()["data"]] == [
        "83.0000"
    ]
    assert [
        r["rate_to_inr"] for r in other_tenant.http.get("/v1/exchange_rates").json()["data"]
    ] == ["1.0000"]


def test_operator_only_routes_refuse_tenant_keys_whatever_the_id(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    own = tenant.http.get(f"/v1/tenants/{tenant.id}")
    other = tenant.http.get(f"/v1/tenants/{other_tenant.id}")
    assert own.status_code == other.status_code == 403
    assert own.json()["code"] == other.json()["code"]


def tenant_tables(connection: Any) -> list[str]:
    return list(
        connection.execute(
            text(
                "SELECT table_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY 1"
            )
        ).scalars()
    )


def check_no_rows_without_scope(app_url: URL, owner_url: URL) -> None:
    """As the app role with no tenant scope, every tenant table (and tenants) looks empty."""
    owner = create_engine(owner_url)
    app_engine = create_engine(app_url)
    try:
        with owner.connect() as connection:
            tables = [*tenant_tables(connection), "tenants"]
            populated = {
                t
                for t in tables
                if connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() > 0
            }
        assert populated, "the check needs rows to hide"
        with app_engine.connect() as connection:
            visible = {
                t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in populated
            }
        leaking = {t: n for t, n in visible.items() if n}
        assert not leaking, f"rows visible without a tenant scope: {leaking}"
    finally:
        owner.dispose()
        app_engine.dispose()


def test_raw_sql_as_app_role_without_scope_sees_nothing(
    test_db: Any, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    _test_clock(tenant)
    _api_key(other_tenant)
    check_no_rows_without_scope(test_db.app_url, test_db.owner_url)


def test_every_tenant_table_has_row_level_security(test_db: Any) -> None:
    engine = create_engine(test_db.owner_url)
    try:
        with engine.connect() as connection:
            tables = tenant_tables(connection)
            all_tables = set(
                connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                ).scalars()
            )
            rls = dict(
                connection.execute(
                    text(
                        "SELECT relname, relrowsecurity FROM pg_class WHERE relkind IN ('r', 'p') "
                        "AND relnamespace = current_schema()::regnamespace"
                    )
                ).all()
            )
            policies = set(connection.execute(text("SELECT tablename FROM pg_policies")).scalars())
    finally:
        engine.dispose()
    assert "test_clocks" in tables
    assert "api_keys" in tables
    for table in [*tables, "tenants"]:
        assert rls[table], f"{table} has no row-level security"
        assert table in policies, f"{table} has no policy"
    unexplained = {
        t
        for t in all_tables - set(tables) - {"tenants"}
        if not t.startswith(GLOBAL_TABLES_PREFIXES)
    }
    assert not unexplained, f"tables without tenant_id: {unexplained}"


def test_app_role_cannot_bypass_row_level_security(test_db: Any) -> None:
    engine = create_engine(test_db.app_url)
    try:
        with engine.connect() as connection:
            role = connection.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            ).one()
            owned = connection.execute(
                text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
            ).scalar_one()
    finally:
        engine.dispose()
    assert role.rolsuper is False
    assert role.rolbypassrls is False
    assert owned == 0


def test_scope_is_set_in_one_place_only() -> None:
    from pathlib import Path

    src = Path(__file__).resolve().parent.parent / "src" / "hisaab"
    setters = [p for p in src.rglob("*.py") if "app.tenant_id', :" in p.read_text()]
    assert [p.name for p in setters] == ["db.py"]


@pytest.fixture
def leaky_app(cluster_url: str, worker_id: str) -> Iterator[tuple[Any, URL, URL]]:
    """A throwaway database whose test_clocks table lost its row-level security."""
    name = f"hisaab_leak_{worker_id}_{os.getpid()}"
    owner = create_database(cluster_url, name)
    owner_url, app_url = database_urls(owner.render_as_string(False), Settings())
    migrations.upgrade(owner_url, app_url)
    engine = create_engine(owner_url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE test_clocks DISABLE ROW LEVEL SECURITY"))
    engine.dispose()
    database = Database.connect(app_url, pool_size=2)
    yield create_app(database, ADMIN_TOKEN), app_url, owner_url
    database.dispose()
    drop_database(cluster_url, name)


def test_the_suite_catches_a_missing_policy(leaky_app: tuple[Any, URL, URL]) -> None:
    app, app_url, owner_url = leaky_app
    handles = []
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as operator:
        for name in ("Leaky One", "Leaky Two"):
            body = operator.post("/v1/tenants", json={**INDIAN_TENANT, "name": name}).json()
            http = TestClient(app, headers={"Authorization": f"Bearer {body['api_key']['secret']}"})
            handles.append(
                TenantHandle(
                    body["tenant"]["id"], body["api_key"]["secret"], body["api_key"]["id"], http
                )
            )
    clocks = next(r for r in RESOURCES if r.name == "test_clock")
    keys = next(r for r in RESOURCES if r.name == "api_key")
    check_isolated(keys, handles[0], handles[1])  # still protected
    with pytest.raises(AssertionError, match="test_clocks"):
        check_isolated(clocks, handles[0], handles[1])
    with pytest.raises(AssertionError, match="test_clocks"):
        check_no_rows_without_scope(app_url, owner_url)
    for handle in handles:
        handle.http.close()


def test_ids_in_request_bodies_are_isolated_too(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """Another tenant's customer, plan, coupon or subscription named in a body is 404 as well."""
    subscription = tenant.http.get(f"/v1/subscriptions/{_subscription(tenant)}").json()
    own_customer, own_plan = _customer(other_tenant), _plan(other_tenant)
    bodies = [
        ("/v1/subscriptions", {"customer_id": subscription["customer_id"], "plan_id": own_plan}),
        ("/v1/subscriptions", {"customer_id": own_customer, "plan_id": subscription["plan_id"]}),
        (
            "/v1/subscriptions",
            {"customer_id": own_customer, "plan_id": own_plan, "coupon": _coupon(tenant)},
        ),
        ("/v1/invoices/generate", {"subscription_id": subscription["id"]}),
        ("/v1/invoices/generate", {"customer_id": subscription["customer_id"]}),
        ("/v1/customers", {**CUSTOMER, "test_clock_id": _test_clock(tenant)}),
        (
            "/v1/credit_notes",
            {"invoice_id": subscription["latest_invoice_id"], "reason": "duplicate"},
        ),
    ]
    for path, body in bodies:
        response = other_tenant.http.post(path, json=body)
        assert response.status_code == 404, (path, body, response.text)
        assert response.json()["code"] == "resource_missing"
    assert other_tenant.http.get("/v1/subscriptions").json()["data"] == []
