"""Usage fixtures: a tenant with one meter of each aggregation and customers on a test clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import TenantHandle

CLOCK_TIME = "2031-06-15T12:00:00Z"
METERS = {
    "calls": {"aggregation": "count"},
    "tokens": {"aggregation": "sum", "field": "tokens"},
    "peak": {"aggregation": "max", "field": "gb"},
    "users": {"aggregation": "unique_count", "field": "user"},
    "seats": {"aggregation": "latest", "field": "seats"},
}


@dataclass
class Usage:
    tenant: TenantHandle
    clock_id: str
    meters: dict[str, dict[str, Any]]

    def customer(self, clock: bool = True, **extra: Any) -> str:
        body = {"name": "Usage Co", "email": "u@example.test", "country": "US", **extra}
        if clock:
            body["test_clock_id"] = self.clock_id
        response = self.tenant.http.post("/v1/customers", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def send(self, events: list[dict[str, Any]], status: int = 202) -> dict[str, Any]:
        response = self.tenant.http.post("/v1/events", json={"events": events})
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        return body


def make_meters(tenant: TenantHandle) -> dict[str, dict[str, Any]]:
    made = {}
    for code, spec in METERS.items():
        response = tenant.http.post("/v1/meters", json={"code": code, **spec})
        assert response.status_code == 201, response.text
        made[code] = response.json()
    return made


@pytest.fixture
def usage(tenant: TenantHandle) -> Usage:
    clock = tenant.http.post("/v1/test_clocks", json={"frozen_time": CLOCK_TIME})
    assert clock.status_code == 201, clock.text
    return Usage(tenant, clock.json()["id"], make_meters(tenant))
