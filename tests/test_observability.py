"""Logs are JSON lines with request and tenant ids and no secrets; metrics count requests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import TenantHandle


def test_access_log_has_request_and_tenant_ids_and_no_secret(
    tenant: TenantHandle, json_logs: Any
) -> None:
    response = tenant.http.post("/v1/api_keys", headers={"X-Request-Id": "req-abc-123"})
    secret = response.json()["secret"]
    entries = json_logs()
    access = [e for e in entries if e.get("event") == "request"]
    assert access, entries
    line = access[-1]
    assert line["request_id"] == "req-abc-123"
    assert line["tenant_id"] == tenant.id
    assert line["status"] == 201
    assert line["route"] == "/v1/api_keys"
    everything = json.dumps(entries)
    assert secret not in everything
    assert tenant.secret not in everything
    assert response.headers["x-request-id"] == "req-abc-123"


def test_insane_request_ids_are_replaced(tenant: TenantHandle) -> None:
    response = tenant.http.get("/v1/tenant", headers={"X-Request-Id": "x" * 500})
    assert response.headers["x-request-id"].startswith("req_")


def test_metrics_count_requests_by_route(tenant: TenantHandle, client: Any) -> None:
    tenant.http.get("/v1/tenant")
    text = client.get("/metrics").text
    assert 'hisaab_http_requests_total{method="GET",route="/v1/tenant",status="200"}' in text
    assert "hisaab_http_request_duration_seconds_bucket" in text


def test_mutating_calls_are_audited_with_actor_and_outcome(
    tenant: TenantHandle, operator: Any
) -> None:
    tenant.http.post(
        "/v1/test_clocks",
        json={"frozen_time": "2026-01-01T00:00:00Z"},
        headers={"Idempotency-Key": "a1"},
    )
    tenant.http.post("/v1/test_clocks", json={"frozen_time": "yesterday"})
    tenant.http.get("/v1/tenant")
    entries = tenant.http.get("/v1/audit_log").json()["data"]
    assert [(e["method"], e["path"], e["status"]) for e in entries[:2]] == [
        ("POST", "/v1/test_clocks", 422),
        ("POST", "/v1/test_clocks", 201),
    ]
    assert all(e["actor"] == tenant.key_id for e in entries)
    assert entries[1]["idempotency_key"] == "a1"
    assert not any(e["method"] == "GET" for e in entries)
    operator_log = operator.get("/v1/audit_log", params={"limit": 100}).json()["data"]
    assert any(e["path"] == "/v1/tenants" and e["actor"] == "operator" for e in operator_log)
    assert not any(e["actor"] == tenant.key_id for e in operator_log)


def test_audit_log_cannot_be_altered_by_the_app_role(tenant: TenantHandle, database: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    tenant.http.post("/v1/api_keys")
    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        database.transaction(tenant.id) as session,
    ):
        session.execute(text("DELETE FROM audit_log"))


def test_each_request_counts_once_in_its_own_series(tenant: TenantHandle) -> None:
    """The series of a (method, route, status) are looked up once and kept: each request still
    counts in its own, and only there."""
    from prometheus_client import REGISTRY

    def count(status: str) -> float:
        labels = {"method": "GET", "route": "/v1/tenant", "status": status}
        return REGISTRY.get_sample_value("hisaab_http_requests_total", labels) or 0.0

    def observed() -> float:
        labels = {"method": "GET", "route": "/v1/tenant"}
        return REGISTRY.get_sample_value("hisaab_http_request_duration_seconds_count", labels) or 0

    ok, refused, timed = count("200"), count("401"), observed()
    for _ in range(3):
        tenant.http.get("/v1/tenant")
    tenant.http.get("/v1/tenant", headers={"Authorization": "Bearer sk_nope"})
    assert count("200") == ok + 3
    assert count("401") == refused + 1
    assert observed() == timed + 4
