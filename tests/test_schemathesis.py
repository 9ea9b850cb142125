"""Property-based run of every operation in `/openapi.json` against the in-process app.

Each operation is exercised twice: with a tenant's API key and with the operator token. Whatever
schemathesis sends (valid and invalid data alike), the app must never answer 5xx, and a response
with a status code the document describes must match the documented content type and schema.

The generated document does not describe the 4xx problems the API returns (400, 401, 403, 404,
409, 413), so `status_code_conformance` is not among the checks: it would fail on every
operator call to a tenant route (403) and every unknown id (404). Everything else is kept.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from hisaab.app import create_app
from tests.conftest import ADMIN_TOKEN, INDIAN_TENANT

MAX_EXAMPLES = int(__import__("os").environ.get("STX", "20"))
CHECKS = [not_a_server_error, response_schema_conformance]
BOUNDED = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


@pytest.fixture(scope="module")
def fuzz_tenant_secret(operator: TestClient) -> str:
    """A tenant of this module alone, so nothing the fuzzer creates leaks into other tests."""
    response = operator.post("/v1/tenants", json={**INDIAN_TENANT, "name": "Schemathesis Pvt Ltd"})
    assert response.status_code == 201, response.text
    secret: str = response.json()["api_key"]["secret"]
    return secret


# The installed schemathesis' `from_fixture` (lazy schema) does not work with pytest 9 (it sets
# `Node._nodeid`, which pytest 9 no longer has), so the schema is loaded at import time from an app
# built without a database (serving `/openapi.json` needs none); every request then goes to the
# real app of the `app` fixture through `case.call(app=...)`.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(None, ADMIN_TOKEN))  # type: ignore[arg-type]


def _call_and_check(case: Case, app: Any, token: str) -> None:
    response = case.call(app=app, headers={"Authorization": f"Bearer {token}"})
    # Asserted on its own first, so a 5xx is reported as such even if another check fails too.
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:2000]}"
    )
    case.validate_response(response, checks=CHECKS)


@schema.parametrize()
@BOUNDED
def test_api_as_tenant(case: Case, app: Any, fuzz_tenant_secret: str) -> None:
    _call_and_check(case, app, fuzz_tenant_secret)


@schema.parametrize()
@BOUNDED
def test_api_as_operator(case: Case, app: Any) -> None:
    _call_and_check(case, app, ADMIN_TOKEN)
