"""Idempotency-Key (API.md): replay, reuse with another body, and two requests at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.conftest import TenantHandle

CLOCK = {"frozen_time": "2026-01-31T10:00:00Z", "name": "idempotent"}


def _clock_count(t: TenantHandle) -> int:
    return len(t.http.get("/v1/test_clocks", params={"limit": 100}).json()["data"])


def test_same_key_same_body_returns_first_response_and_creates_one(tenant: TenantHandle) -> None:
    first = tenant.http.post("/v1/test_clocks", json=CLOCK, headers={"Idempotency-Key": "k-1"})
    # Same JSON value with other key order and whitespace is the same request.
    again = tenant.http.post(
        "/v1/test_clocks",
        content=b'{ "name": "idempotent",  "frozen_time": "2026-01-31T10:00:00Z" }',
        headers={"Idempotency-Key": "k-1", "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again.headers["idempotent-replayed"] == "true"
    assert _clock_count(tenant) == 1


def test_same_key_different_body_is_422(tenant: TenantHandle) -> None:
    assert (
        tenant.http.post(
            "/v1/test_clocks", json=CLOCK, headers={"Idempotency-Key": "k-2"}
        ).status_code
        == 201
    )
    reused = tenant.http.post(
        "/v1/test_clocks", json={**CLOCK, "name": "other"}, headers={"Idempotency-Key": "k-2"}
    )
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    other_path = tenant.http.post("/v1/api_keys", headers={"Idempotency-Key": "k-2"})
    assert other_path.status_code == 422
    assert _clock_count(tenant) == 1


def test_keys_belong_to_one_tenant(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    a = tenant.http.post("/v1/test_clocks", json=CLOCK, headers={"Idempotency-Key": "shared"})
    b = other_tenant.http.post("/v1/test_clocks", json=CLOCK, headers={"Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers


def test_failed_request_stores_nothing_so_the_key_can_be_retried(tenant: TenantHandle) -> None:
    bad = tenant.http.post(
        "/v1/test_clocks", json={"frozen_time": "yesterday"}, headers={"Idempotency-Key": "k-3"}
    )
    assert bad.status_code == 422
    good = tenant.http.post("/v1/test_clocks", json=CLOCK, headers={"Idempotency-Key": "k-3"})
    assert good.status_code == 201
    assert _clock_count(tenant) == 1


def test_operator_requests_are_idempotent_too(operator: TestClient) -> None:
    from tests.conftest import INDIAN_TENANT

    body = {**INDIAN_TENANT, "name": "Idempotent Tenant"}
    first = operator.post("/v1/tenants", json=body, headers={"Idempotency-Key": "op-1"})
    again = operator.post("/v1/tenants", json=body, headers={"Idempotency-Key": "op-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()


def _wait_for_advisory_lock(engine: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            held = connection.execute(
                # This database only: another test worker's database may hold one too.
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database())"
                )
            ).scalar_one()
            if held:
                return
            time.sleep(0.02)
    raise AssertionError("the first request never took the idempotency lock")


def test_concurrent_requests_with_one_key_one_succeeds_one_409(
    test_db: Any, app: Any, tenant: TenantHandle
) -> None:
    """The first request is held inside its transaction (a table lock makes its INSERT wait)
    while the second arrives: the second gets 409 at once, the first then completes."""
    owner = create_engine(test_db.owner_url)
    headers = {"Authorization": f"Bearer {tenant.secret}", "Idempotency-Key": "race-1"}
    results: dict[str, httpx.Response] = {}
    try:
        with owner.connect() as blocker:
            blocker.execute(text("LOCK TABLE test_clocks IN EXCLUSIVE MODE"))

            def first() -> None:
                with TestClient(app, raise_server_exceptions=False) as http:
                    results["first"] = http.post("/v1/test_clocks", json=CLOCK, headers=headers)

            thread = threading.Thread(target=first)
            thread.start()
            _wait_for_advisory_lock(owner)
            with TestClient(app, raise_server_exceptions=False) as http:
                results["second"] = http.post("/v1/test_clocks", json=CLOCK, headers=headers)
            blocker.commit()
        thread.join(timeout=30)
    finally:
        owner.dispose()
    assert results["second"].status_code == 409
    assert results["second"].json()["code"] == "idempotency_request_in_progress"
    assert results["first"].status_code == 201
    replay = tenant.http.post("/v1/test_clocks", json=CLOCK, headers={"Idempotency-Key": "race-1"})
    assert replay.status_code == 201
    assert replay.content == results["first"].content
    assert _clock_count(tenant) == 1


def test_many_racing_requests_never_create_twice(app: Any, tenant: TenantHandle) -> None:
    headers = {"Authorization": f"Bearer {tenant.secret}"}

    def post(key: str) -> int:
        with TestClient(app, raise_server_exceptions=False) as http:
            response = http.post(
                "/v1/test_clocks", json=CLOCK, headers={**headers, "Idempotency-Key": key}
            )
            return response.status_code

    keys = [f"burst-{i}" for i in range(5)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(post, [k for k in keys for _ in range(3)]))
    assert set(statuses) <= {201, 409}
    assert _clock_count(tenant) == len(keys)


def test_purge_forgets_only_expired_idempotency_keys(tenant: TenantHandle, database: Any) -> None:
    from hisaab.core import idempotency

    tenant.http.post("/v1/api_keys", headers={"Idempotency-Key": "old"})
    tenant.http.post("/v1/api_keys", headers={"Idempotency-Key": "new"})
    with database.transaction(tenant.id) as session:
        rows = (
            session.execute(text("SELECT key FROM idempotency_keys ORDER BY key")).scalars().all()
        )
    assert rows == ["new", "old"]
    with database.transaction(None) as session:
        idempotency.purge_expired(session, timedelta(hours=48))
    with database.transaction(tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM idempotency_keys")).scalar_one() == 2
    with database.transaction(None) as session:
        idempotency.purge_expired(session, timedelta(seconds=-1))
    with database.transaction(tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM idempotency_keys")).scalar_one() == 0
