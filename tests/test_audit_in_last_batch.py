"""A mutating call's audit entry goes out with the request's last bulk batch (one statement
fewer for a customer create), and every call still has exactly one entry with the status it
answered: when the batch's statement or anything after it fails, when the batch is inside a
savepoint, when the endpoint answers another status than its route's, and never before a
checkpoint."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import text

from hisaab.app import create_app
from hisaab.core import bulk
from hisaab.core.errors import conflict
from hisaab.core.http import SessionDep, TenantRoute, checkpoint
from hisaab.db import Database
from tests.conftest import ADMIN_TOKEN, TenantHandle


class Done(BaseModel):
    ok: bool


router = APIRouter(prefix="/v1/last_batch", route_class=TenantRoute)


@router.post("/plain", status_code=201)
def plain(session: SessionDep) -> Done:
    with bulk.batch(session, last=True):
        pass
    return Done(ok=True)


@router.post("/then_refused", status_code=201)
def then_refused(session: SessionDep) -> Done:
    with bulk.batch(session, last=True):
        pass
    raise conflict("refused_after_batch", "No.")


@router.post("/in_savepoint", status_code=201)
def in_savepoint(session: SessionDep) -> Done:
    with session.begin_nested(), bulk.batch(session, last=True):
        pass
    return Done(ok=True)


@router.post("/other_status", status_code=201)
def other_status(session: SessionDep) -> Done:
    with bulk.batch(session, last=True):
        pass
    return Response(status_code=202)  # type: ignore[return-value]  # answers another status


@router.post("/other_status_unbatched", status_code=201)
def other_status_unbatched(session: SessionDep) -> Done:
    session.execute(text("SELECT 1"))
    return Response(status_code=202)  # type: ignore[return-value]


@router.post("/before_checkpoint", status_code=201)
def before_checkpoint(session: SessionDep) -> Done:
    with bulk.batch(session, last=True):
        pass
    checkpoint(session)
    return Done(ok=True)


@pytest.fixture
def http_(database: Database, tenant: TenantHandle) -> Any:
    app = create_app(database, ADMIN_TOKEN)
    app.include_router(router)
    with TestClient(
        app, headers={"Authorization": f"Bearer {tenant.secret}"}, raise_server_exceptions=False
    ) as client:
        yield client


def _entries(tenant: TenantHandle, path: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = tenant.http.get("/v1/audit_log").json()["data"]
    return [e for e in data if e["path"] == path]


def test_a_customer_and_its_audit_entry_are_one_statement(
    tenant: TenantHandle, statements: list[str]
) -> None:
    response = tenant.http.post(
        "/v1/customers", json={"name": "A", "email": "a@x.test", "country": "IN", "state": "MH"}
    )
    assert response.status_code == 201, response.text
    writes = [s for s in statements if "INSERT" in s]
    assert len(writes) == 1
    assert "INSERT INTO customers" in writes[0]
    assert "INSERT INTO audit_log" in writes[0]
    (entry,) = _entries(tenant, "/v1/customers")
    assert entry["status"] == 201
    assert entry["method"] == "POST"


def test_a_refused_customer_has_one_entry_with_its_refusal(tenant: TenantHandle) -> None:
    body = {"name": "A", "email": "a@x.test", "country": "IN", "state": "MH", "external_id": "e"}
    assert tenant.http.post("/v1/customers", json=body).status_code == 201
    again = tenant.http.post("/v1/customers", json=body)  # the batch's statement fails
    assert again.status_code == 409, again.text
    assert sorted(e["status"] for e in _entries(tenant, "/v1/customers")) == [201, 409]
    assert len(tenant.http.get("/v1/customers").json()["data"]) == 1


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/last_batch/plain", 201),
        ("/v1/last_batch/then_refused", 409),  # the entry it sent rolled back with it
        ("/v1/last_batch/in_savepoint", 201),  # taken by no batch: written at the end
        ("/v1/last_batch/other_status", 500),  # sent with 201: the call is refused instead
        ("/v1/last_batch/other_status_unbatched", 202),  # not sent yet: the answer's status
        ("/v1/last_batch/before_checkpoint", 500),  # would commit it before the call ends
    ],
)
def test_every_call_has_one_entry_with_the_status_it_answered(
    http_: TestClient, tenant: TenantHandle, path: str, status: int
) -> None:
    assert http_.post(path).status_code == status
    assert [e["status"] for e in _entries(tenant, path)] == [status]
