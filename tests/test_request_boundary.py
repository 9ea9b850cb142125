"""The request boundary's own paths (core/http.py, db.py): authentication binding the scope in
its own round trip, a dead pooled connection replaced without failing the request, the endpoint,
its response and the commit in one thread-pool hop (authentication too, where the route depends
on nothing but the boundary), and FastAPI left to build the response where a route needs it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
import pytest
from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hisaab.app import create_app
from hisaab.core import http, idempotency, problems
from hisaab.core.errors import HisaabError, conflict
from hisaab.core.http import (
    AnyPrincipalRoute,
    NowDep,
    PrincipalDep,
    SessionDep,
    TenantIdDep,
    TenantRoute,
)
from hisaab.core.tenancy import OPERATOR_SCOPE
from hisaab.db import Database
from hisaab.tenants import service as tenants
from tests.conftest import ADMIN_TOKEN, TenantHandle
from tests.databases import libpq


def _setting(session: Any) -> str:
    return str(session.execute(text("SELECT current_setting('app.tenant_id', true)")).scalar())


def test_a_tenant_key_binds_its_scope_in_the_lookup(tenant: TenantHandle, database: Any) -> None:
    session = database.begin(scope=None)
    try:
        principal = tenants.authenticate(session, f"Bearer {tenant.secret}", None, bind=True)
        assert principal.tenant_id == tenant.id
        assert principal.key_id == tenant.key_id
        assert _setting(session) == tenant.id
    finally:
        session.close()


def test_the_operator_token_binds_the_operator_scope(database: Any) -> None:
    session = database.begin(scope=None)
    try:
        principal = tenants.authenticate(session, f"Bearer {ADMIN_TOKEN}", ADMIN_TOKEN, bind=True)
        assert principal.scope == OPERATOR_SCOPE
        assert _setting(session) == OPERATOR_SCOPE
    finally:
        session.close()


@pytest.mark.parametrize("token", ["sk_not_a_real_key", "nonsense"])
def test_an_unknown_key_binds_nothing(token: str, database: Any) -> None:
    session = database.begin(scope=None)
    try:
        with pytest.raises(HisaabError) as raised:
            tenants.authenticate(session, f"Bearer {token}", ADMIN_TOKEN, bind=True)
        assert raised.value.status == 401
        assert _setting(session) in ("", "None")
    finally:
        session.close()


def test_a_revoked_key_binds_nothing(tenant: TenantHandle, database: Any) -> None:
    assert tenant.http.delete(f"/v1/api_keys/{tenant.key_id}").status_code == 200
    session = database.begin(scope=None)
    try:
        with pytest.raises(HisaabError):
            tenants.authenticate(session, f"Bearer {tenant.secret}", None, bind=True)
        assert _setting(session) in ("", "None")
    finally:
        session.close()


# --- a dead pooled connection ---------------------------------------------------------------


@pytest.fixture
def one_connection(test_db: Any) -> Iterator[Database]:
    """A pool of exactly one connection, so the test knows which backend it will be handed."""
    database = Database.connect(test_db.app_url, pool_size=1)
    database.engine.pool._max_overflow = 0  # type: ignore[attr-defined]
    yield database
    database.dispose()


def _kill_pooled_connection(database: Database, cluster_url: str) -> None:
    with database.engine.connect() as connection:
        pid = connection.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
    with psycopg.connect(cluster_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def test_a_request_on_a_dead_pooled_connection_is_served_on_a_fresh_one(
    one_connection: Database, test_db: Any, tenant: TenantHandle
) -> None:
    app = create_app(one_connection, ADMIN_TOKEN)
    with TestClient(app, headers={"Authorization": f"Bearer {tenant.secret}"}) as http:
        assert http.get("/v1/tenant").status_code == 200
        _kill_pooled_connection(one_connection, libpq_of(test_db.cluster_url))
        response = http.get("/v1/tenant")
        assert response.status_code == 200, response.text
        assert response.json()["id"] == tenant.id


def test_a_scoped_transaction_on_a_dead_pooled_connection_starts_on_a_fresh_one(
    one_connection: Database, test_db: Any, tenant: TenantHandle
) -> None:
    with one_connection.transaction(tenant.id) as session:
        assert _setting(session) == tenant.id
    _kill_pooled_connection(one_connection, libpq_of(test_db.cluster_url))
    with one_connection.transaction(tenant.id) as session:
        assert _setting(session) == tenant.id


def test_the_first_statement_is_tried_again_only_for_a_dead_connection(
    database: Database,
) -> None:
    tries = 0

    def failing(session: Any) -> None:
        nonlocal tries
        tries += 1
        session.execute(text("SELECT 1/0"))

    with pytest.raises(Exception, match="division by zero"):
        database.first_statement(failing)
    assert tries == 1

    def gone(session: Any) -> None:
        nonlocal tries
        tries += 1
        error = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        error.connection_invalidated = True
        raise error

    tries = 0
    with pytest.raises(OperationalError):
        database.first_statement(gone)
    assert tries == 2  # once more on a fresh connection, then the error stands


def libpq_of(url: str) -> str:
    from sqlalchemy.engine import make_url

    return libpq(make_url(url))


# --- the endpoint, its response and the commit in one hop -----------------------------------


class Thing(BaseModel):
    id: str
    size: int


router = APIRouter(prefix="/v1", route_class=TenantRoute)


@router.post("/things", status_code=201)
def make_thing(session: SessionDep, tenant_id: TenantIdDep) -> Thing:
    session.execute(text("SELECT 1"))
    return Thing(id=f"thing_{tenant_id}", size=3)


@router.post("/things/with_header", status_code=201)
def make_thing_with_header(response: Response) -> Thing:
    response.headers["X-Thing"] = "yes"
    response.status_code = 202
    return Thing(id="thing_h", size=1)


@router.get("/things/broken")
def broken_thing() -> Thing:
    return {"id": "thing_b"}  # type: ignore[return-value]  # the response model refuses it


@router.post("/things/refused")
def refused_thing(session: SessionDep) -> Thing:
    session.execute(text("SELECT 1"))
    raise conflict("thing_refused", "No.")


@router.get("/things/async")
async def async_thing() -> Thing:
    return Thing(id="thing_a", size=2)


@pytest.fixture
def things(database: Database) -> FastAPI:
    app = create_app(database, ADMIN_TOKEN)
    app.include_router(router)
    return app


def _audit(tenant: TenantHandle) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = tenant.http.get("/v1/audit_log").json()["data"]
    return data


def test_a_plain_endpoint_answers_as_fastapi_would_and_is_audited(
    things: FastAPI, tenant: TenantHandle
) -> None:
    with TestClient(things, headers={"Authorization": f"Bearer {tenant.secret}"}) as http:
        response = http.post("/v1/things")
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.content == b'{"id":"thing_%s","size":3}' % tenant.id.encode()
    assert response.headers["content-length"] == str(len(response.content))
    entry = next(e for e in _audit(tenant) if e["path"] == "/v1/things")
    assert entry["status"] == 201


def test_an_endpoint_that_sets_the_response_leaves_it_to_fastapi(
    things: FastAPI, tenant: TenantHandle
) -> None:
    with TestClient(things, headers={"Authorization": f"Bearer {tenant.secret}"}) as http:
        response = http.post("/v1/things/with_header")
    assert response.status_code == 202
    assert response.headers["x-thing"] == "yes"
    assert response.json() == {"id": "thing_h", "size": 1}
    entry = next(e for e in _audit(tenant) if e["path"] == "/v1/things/with_header")
    assert entry["status"] == 202


def test_an_answer_the_response_model_refuses_is_a_500_problem(
    things: FastAPI, tenant: TenantHandle
) -> None:
    with TestClient(
        things,
        headers={"Authorization": f"Bearer {tenant.secret}"},
        raise_server_exceptions=False,
    ) as http:
        response = http.get("/v1/things/broken")
    assert response.status_code == 500
    assert response.headers["content-type"] == problems.PROBLEM_JSON


def test_a_refused_call_is_rolled_back_and_audited_on_its_own(
    things: FastAPI, tenant: TenantHandle
) -> None:
    with TestClient(things, headers={"Authorization": f"Bearer {tenant.secret}"}) as http:
        response = http.post("/v1/things/refused", headers={"Idempotency-Key": "refused-1"})
    assert response.status_code == 409
    assert response.json()["code"] == "thing_refused"
    entry = next(e for e in _audit(tenant) if e["path"] == "/v1/things/refused")
    assert entry["status"] == 409
    assert entry["idempotency_key"] == "refused-1"


def test_a_coroutine_endpoint_keeps_fastapis_own_path(
    things: FastAPI, tenant: TenantHandle
) -> None:
    with TestClient(things, headers={"Authorization": f"Bearer {tenant.secret}"}) as http:
        response = http.get("/v1/things/async")
    assert response.status_code == 200
    assert response.json() == {"id": "thing_a", "size": 2}


def test_an_idempotent_call_with_a_streamed_body_claims_its_key_in_a_hop_of_its_own(
    tenant: TenantHandle,
) -> None:
    body = b'{"name": "Streamed", "email": "s@example.test", "country": "IN", "state": "MH"}'

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield body[:10]
        yield body[10:]

    headers = {"Idempotency-Key": "streamed-1", "Content-Type": "application/json"}
    first = tenant.http.post("/v1/customers", content=chunks(), headers=headers)
    again = tenant.http.post("/v1/customers", content=body, headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


def test_a_stored_response_replaces_the_in_progress_mark(
    tenant: TenantHandle, database: Any
) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    with database.transaction(tenant.id) as session:
        idempotency.mark_in_progress(session, tenant.id, "k-mark", "fp", now)
    with database.transaction(tenant.id) as session:
        idempotency.store(
            session,
            tenant.id,
            "k-mark",
            "fp",
            idempotency.StoredResponse(201, "application/json", b"{}"),
            now,
        )
    with database.transaction(tenant.id) as session:
        stored = idempotency.claim(session, tenant.id, "k-mark", "fp")
    assert stored == idempotency.StoredResponse(201, "application/json", b"{}")


def test_the_base_currency_is_read_once_and_only_for_a_real_tenant(
    make_tenant: Any, database: Any
) -> None:
    usd = make_tenant(base_currency="USD")
    with database.transaction(usd.id) as session:
        assert tenants.base_currency(session, usd.id) == "USD"
    with database.transaction(usd.id) as session:
        session.execute(text("SELECT 1"))
        assert tenants.base_currency(session, usd.id) == "USD"
    ghost = "ten_01jd0000000000000000000000"
    with database.transaction(ghost) as session, pytest.raises(HisaabError) as raised:
        tenants.base_currency(session, ghost)
    assert raised.value.status == 404


# --- one hop for routes that depend only on the boundary ------------------------------------


def _size() -> int:
    return 5


@router.post("/things/sized", status_code=201)
def make_sized_thing(
    session: SessionDep, size: Annotated[int, Depends(_size)], tenant_id: TenantIdDep
) -> Thing:
    session.execute(text("SELECT 1"))
    return Thing(id=f"thing_{tenant_id}", size=size)


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions the boundary sent to the thread pool, in order."""
    sent: list[str] = []
    real = http.run_in_threadpool

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(http, "run_in_threadpool", counting)
    return sent


def test_a_route_depending_only_on_the_boundary_takes_one_hop(
    things: FastAPI, tenant: TenantHandle, hops: list[str]
) -> None:
    with TestClient(things, headers={"Authorization": f"Bearer {tenant.secret}"}) as http_:
        made = http_.post("/v1/things")
        sized = http_.post("/v1/things/sized")
    assert made.status_code == 201
    assert made.json() == {"id": f"thing_{tenant.id}", "size": 3}
    assert sized.json() == {"id": f"thing_{tenant.id}", "size": 5}
    # Authentication, the endpoint and the commit in one hop; a dependency of its own makes
    # the route authenticate first, in a hop before FastAPI solves it.
    assert hops == ["_open_run_and_finish", "_open_and_claim", "_run_and_finish"]
    paths = [e["path"] for e in _audit(tenant)]
    assert "/v1/things" in paths
    assert "/v1/things/sized" in paths


def test_a_one_hop_route_still_answers_401_and_403_before_invalid_input(
    tenant: TenantHandle, client: TestClient
) -> None:
    invalid = {"name": "No email"}
    unknown = client.post(
        "/v1/customers", json=invalid, headers={"Authorization": "Bearer sk_unknown"}
    )
    operator = client.post(
        "/v1/customers", json=invalid, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert unknown.status_code == 401
    assert operator.status_code == 403
    assert operator.json()["code"] == "tenant_key_required"


def test_invalid_input_on_a_one_hop_route_is_audited_with_the_tenant_in_the_log(
    tenant: TenantHandle, json_logs: Any
) -> None:
    response = tenant.http.post("/v1/customers", json={"name": "No email"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    entry = next(e for e in _audit(tenant) if e["path"] == "/v1/customers")
    assert entry["status"] == 422
    access = [e for e in json_logs() if e.get("event") == "request" and e["status"] == 422]
    assert access[-1]["tenant_id"] == tenant.id


def test_an_idempotency_key_answers_before_invalid_input_on_a_one_hop_route(
    tenant: TenantHandle,
) -> None:
    body = {"name": "Keyed", "email": "k@example.test", "country": "IN", "state": "MH"}
    headers = {"Idempotency-Key": "one-hop-1"}
    first = tenant.http.post("/v1/customers", json=body, headers=headers)
    reused = tenant.http.post("/v1/customers", json={"name": "Keyed"}, headers=headers)
    replayed = tenant.http.post("/v1/customers", json=body, headers=headers)
    assert first.status_code == 201
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert replayed.status_code == 201
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == first.json()


def test_a_failing_one_hop_call_rolls_back_in_its_hop(
    things: FastAPI, tenant: TenantHandle, hops: list[str]
) -> None:
    with TestClient(things, headers={"Authorization": f"Bearer {tenant.secret}"}) as http_:
        response = http_.post("/v1/things/refused")
    assert response.status_code == 409
    assert hops == ["_open_run_and_finish"]
    entry = next(e for e in _audit(tenant) if e["path"] == "/v1/things/refused")
    assert entry["status"] == 409


# --- the boundary's own parameters are filled in by the hop, not solved by FastAPI ----------


@router.post("/things/everything", status_code=201)
def make_thing_from_everything(
    session: SessionDep, principal: PrincipalDep, tenant_id: TenantIdDep, now: NowDep
) -> Thing:
    assert principal.tenant_id == tenant_id
    assert _setting(session) == tenant_id  # the session is the request's, bound to its scope
    return Thing(id=f"{tenant_id}@{now.isoformat()}", size=1)


any_router = APIRouter(prefix="/v1", route_class=AnyPrincipalRoute)


@any_router.get("/things/mine")
def my_thing(tenant_id: TenantIdDep) -> Thing:
    return Thing(id=tenant_id, size=0)


def test_the_boundary_parameters_are_filled_in_the_one_hop(
    things: FastAPI, tenant: TenantHandle, hops: list[str]
) -> None:
    before = datetime.now(UTC)
    with TestClient(things, headers={"Authorization": f"Bearer {tenant.secret}"}) as http_:
        response = http_.post("/v1/things/everything")
    assert response.status_code == 201, response.text
    tenant_id, _, now = response.json()["id"].partition("@")
    assert tenant_id == tenant.id
    assert before <= datetime.fromisoformat(now) <= datetime.now(UTC)
    assert hops == ["_open_run_and_finish"]


def test_fastapi_neither_solves_nor_documents_the_boundary_parameters(things: FastAPI) -> None:
    route = next(
        r for r in router.routes if isinstance(r, APIRoute) and r.path.endswith("/everything")
    )
    assert [d.name for d in route.dependant.dependencies] == []
    operation = things.openapi()["paths"]["/v1/things/everything"]["post"]
    assert "parameters" not in operation
    assert "requestBody" not in operation


def test_a_tenant_id_asked_of_the_operator_is_a_500_problem(database: Database) -> None:
    app = create_app(database, ADMIN_TOKEN)
    app.include_router(any_router)
    with TestClient(
        app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, raise_server_exceptions=False
    ) as http_:
        response = http_.get("/v1/things/mine")
    assert response.status_code == 500
    assert response.headers["content-type"] == problems.PROBLEM_JSON


def _unresolvable(session: SessionDep, note: Unseen | None = None) -> None:  # type: ignore[name-defined]  # noqa: F821
    """`Unseen` is no name at run time (as one imported for type checking only)."""


def test_an_endpoint_whose_annotations_cannot_be_evaluated_is_left_to_fastapi() -> None:
    endpoint = http._Endpoint.of(_unresolvable)
    assert endpoint.filled == ()
    assert list(endpoint.signature().parameters) == ["session", "note"]


def test_only_a_route_with_no_boundary_parameter_left_to_fastapi_takes_one_hop() -> None:
    def dependant(*subs: Dependant) -> Dependant:
        return Dependant(call=lambda: None, dependencies=list(subs))

    # FastAPI solving `session` would hand the endpoint a stand-in: two hops instead.
    assert not http._only_boundary_dependencies(
        dependant(Dependant(call=http._session, name="session"))
    )
    assert http._only_boundary_dependencies(dependant(Dependant(call=http._session)))
