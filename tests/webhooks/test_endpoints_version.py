"""A tenant's webhook-endpoints version (migration 0019) and the per-process cache of enabled
endpoints keyed by it (webhooks/repository.py `_enabled`): the version moves with every change
to the tenant's endpoints and no other tenant's, a warmed request asks nothing of
`webhook_endpoints`, and every change (through the API, or by SQL in another transaction) is
honoured by the very next request; one tenant's cached endpoints never serve another's."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import text

from hisaab.core import tenancy
from hisaab.db import Database, bind_scope
from hisaab.tenants import service as tenants
from hisaab.webhooks import endpoints
from hisaab.webhooks import service as events
from hisaab.webhooks.schemas import WebhookEndpointCreate
from tests.conftest import TenantHandle
from tests.webhooks.conftest import create_customer, create_endpoint, deliveries

URL = "https://hooks.example.test/version"


def _version(database: Database, tenant_id: str) -> int:
    with database.transaction(tenant_id) as session:
        version: int = session.execute(
            text("SELECT webhooks_version FROM tenants WHERE id = :id"), {"id": tenant_id}
        ).scalar_one()
    return version


def _reads_endpoints(sent: list[str]) -> list[str]:
    return [s for s in sent if "webhook_endpoints" in s and s.startswith("SELECT")]


def _customer_deliveries(t: TenantHandle, endpoint_id: str) -> int:
    return len(deliveries(t, endpoint_id))


# --- the version ----------------------------------------------------------------------------


def test_the_version_moves_with_every_change_to_the_tenants_endpoints_only(
    tenant: TenantHandle, other_tenant: TenantHandle, database: Database
) -> None:
    other_before = _version(database, other_tenant.id)
    seen = [_version(database, tenant.id)]

    def changed() -> None:
        seen.append(_version(database, tenant.id))
        assert seen[-1] > seen[-2], seen

    endpoint = create_endpoint(tenant, URL)
    changed()
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    assert tenant.http.patch(path, json={"disabled": True}).status_code == 200
    changed()
    assert tenant.http.patch(path, json={"disabled": False}).status_code == 200
    changed()
    assert tenant.http.patch(path, json={"events": ["invoice.paid"]}).status_code == 200
    changed()
    assert tenant.http.delete(path).status_code == 200
    changed()

    # Nothing else moves it: not another tenant's changes, not the tenant's other writes.
    assert _version(database, other_tenant.id) == other_before
    create_customer(tenant)
    assert _version(database, tenant.id) == seen[-1]


def test_authentication_notes_the_version_for_its_own_transaction_only(
    tenant: TenantHandle, database: Database
) -> None:
    create_endpoint(tenant, URL)
    version = _version(database, tenant.id)
    assert version > 0
    session = database.begin(scope=None)
    try:
        tenants.authenticate(session, f"Bearer {tenant.secret}", None, bind=True)
        assert tenancy.webhooks_version(session) == (tenant.id, version)
        # A request that commits half-way (`core.http.checkpoint`) goes on in a new transaction,
        # which has read no version.
        session.commit()
        bind_scope(session, tenant.id)
        assert tenancy.webhooks_version(session) is None
    finally:
        session.close()


def test_the_operator_and_an_unbound_lookup_note_no_version(
    tenant: TenantHandle, database: Database
) -> None:
    from tests.conftest import ADMIN_TOKEN

    session = database.begin(scope=None)
    try:
        tenants.authenticate(session, f"Bearer {ADMIN_TOKEN}", ADMIN_TOKEN, bind=True)
        assert tenancy.webhooks_version(session) is None
        tenants.authenticate(session, f"Bearer {tenant.secret}", None, bind=False)
        assert tenancy.webhooks_version(session) is None
    finally:
        session.close()


# --- the cache ------------------------------------------------------------------------------


def test_a_warmed_request_asks_nothing_of_webhook_endpoints(
    tenant: TenantHandle, statements: list[str]
) -> None:
    create_endpoint(tenant, URL)
    statements.clear()
    create_customer(tenant)  # the first request after a change reads the endpoints
    assert _reads_endpoints(statements), statements
    statements.clear()
    customer = create_customer(tenant)
    assert not _reads_endpoints(statements), statements
    # ... and still records the delivery, and the event it is for.
    assert any("INSERT INTO webhook_deliveries" in s for s in statements), statements
    assert any("INSERT INTO events" in s for s in statements), statements
    assert customer["id"].startswith("cus_")


def test_a_tenant_without_endpoints_is_cached_too(
    tenant: TenantHandle, statements: list[str]
) -> None:
    create_customer(tenant)
    statements.clear()
    create_customer(tenant)
    assert not _reads_endpoints(statements), statements


def test_every_change_through_the_api_is_honoured_by_the_next_request(
    tenant: TenantHandle,
) -> None:
    create_customer(tenant)  # cached: no endpoint
    endpoint = create_endpoint(tenant, URL)
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    create_customer(tenant)
    assert _customer_deliveries(tenant, endpoint["id"]) == 1
    create_customer(tenant)  # from the cache now
    assert _customer_deliveries(tenant, endpoint["id"]) == 2

    assert tenant.http.patch(path, json={"disabled": True}).status_code == 200
    create_customer(tenant)
    create_customer(tenant)
    assert _customer_deliveries(tenant, endpoint["id"]) == 2

    assert tenant.http.patch(path, json={"disabled": False}).status_code == 200
    create_customer(tenant)
    assert _customer_deliveries(tenant, endpoint["id"]) == 3

    assert tenant.http.patch(path, json={"events": ["invoice.paid"]}).status_code == 200
    create_customer(tenant)
    create_customer(tenant)
    assert _customer_deliveries(tenant, endpoint["id"]) == 3

    assert tenant.http.patch(path, json={"events": ["customer.created"]}).status_code == 200
    create_customer(tenant)
    assert _customer_deliveries(tenant, endpoint["id"]) == 4

    # A deleted endpoint served from a stale cache would get a delivery its foreign key refuses.
    kept = create_endpoint(tenant, URL + "/kept", ["customer.created"])
    create_customer(tenant)
    assert tenant.http.delete(path).status_code == 200
    create_customer(tenant)  # 201, or it fails
    create_customer(tenant)
    assert _customer_deliveries(tenant, kept["id"]) == 3


def test_a_change_committed_by_sql_in_another_transaction_is_honoured_next(
    tenant: TenantHandle, database: Database
) -> None:
    endpoint = create_endpoint(tenant, URL)
    create_customer(tenant)
    create_customer(tenant)
    assert _customer_deliveries(tenant, endpoint["id"]) == 2

    def set_disabled_at(value: str) -> None:
        with database.transaction(tenant.id) as session:
            session.execute(
                text(f"UPDATE webhook_endpoints SET disabled_at = {value} WHERE id = :id"),
                {"id": endpoint["id"]},
            )

    set_disabled_at("now()")
    create_customer(tenant)
    assert _customer_deliveries(tenant, endpoint["id"]) == 2
    set_disabled_at("NULL")
    create_customer(tenant)
    assert _customer_deliveries(tenant, endpoint["id"]) == 3


class _Thing(BaseModel):
    id: str


def test_a_transaction_that_changes_endpoints_does_not_trust_what_it_read_before(
    tenant: TenantHandle, database: Database
) -> None:
    """An endpoint made and an event emitted in one transaction: the endpoint gets it, though
    the version the transaction read when it began is a cached one."""
    create_customer(tenant)
    create_customer(tenant)  # cached: no endpoint, at the version authentication will read
    now = datetime.now(UTC)
    session = database.begin(scope=None)
    try:
        tenants.authenticate(session, f"Bearer {tenant.secret}", None, bind=True)
        assert tenancy.webhooks_version(session) is not None
        issued = endpoints.create_endpoint(
            session, tenant.id, WebhookEndpointCreate(url=URL, events=["*"]), now
        )
        assert tenancy.webhooks_version(session) is None
        events.emit(session, tenant.id, "customer.created", _Thing(id="cus_same_tx"), now)
        session.commit()
    finally:
        session.close()
    assert _customer_deliveries(tenant, issued.endpoint.id) == 1


def test_one_tenants_cached_endpoints_never_serve_another(
    tenant: TenantHandle, other_tenant: TenantHandle, database: Database
) -> None:
    """Both tenants at the same version: each request gets its own tenant's endpoints."""
    mine = create_endpoint(tenant, URL + "/a", ["*"])
    theirs = create_endpoint(other_tenant, URL + "/b", ["invoice.paid"])
    assert _version(database, tenant.id) == _version(database, other_tenant.id)
    for _ in range(2):
        create_customer(tenant)
        create_customer(other_tenant)
    assert _customer_deliveries(tenant, mine["id"]) == 2
    assert _customer_deliveries(other_tenant, theirs["id"]) == 0
    with database.transaction(other_tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar() == 0
