"""Property-based run of every operation in `/openapi.json` against the in-process app.

Each operation is exercised twice: with a tenant's API key and with the operator token. Whatever
schemathesis sends (its examples, coverage probes and fuzzed data, valid and invalid alike):

- the app never answers 5xx (`not_a_server_error`, and a plain assert so a 5xx is reported as
  such even when another check fails on the same response);
- a 2xx/3xx response has the documented content type and matches the documented body schema
  (`content_type_conformance`, `response_schema_conformance`);
- an error response is the problem+json of API.md "Conventions" (`type`, `title`, `status`,
  `detail`, `code`); `response_schema_conformance` still runs on it;
- every response carries `x-request-id`.

Error responses are documented as problem+json on every `/v1` operation (`core.problems.document`),
so every response, error or not, must have a documented status code, the documented content type
and the documented body schema (`status_code_conformance`, `content_type_conformance`,
`response_schema_conformance`); `test_documented_errors_are_problem_json` checks the document.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hisaab.app import create_app
from tests.conftest import ADMIN_TOKEN, INDIAN_TENANT

PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

BOUNDED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure here is never a flake
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)

# The lazy `schemathesis.pytest.from_fixture` of the installed schemathesis does not work under
# pytest 9 (it rewrites `Node._nodeid`, which pytest 9 no longer has). So the document is loaded at
# import time from an app built without a database (serving `/openapi.json` needs none), and every
# request goes to the real app of the `app` fixture through `case.call(app=...)`;
# `test_fuzzed_document_is_the_apps` checks that both apps serve the same document.
_SCHEMA_APP = create_app(None, ADMIN_TOKEN)  # type: ignore[arg-type]
schema = schemathesis.openapi.from_asgi("/openapi.json", _SCHEMA_APP)


@pytest.fixture(scope="module")
def fuzz_tenant_secret(operator: TestClient) -> str:
    """A tenant of this module alone, so what the fuzzer creates or changes stays with it."""
    response = operator.post("/v1/tenants", json={**INDIAN_TENANT, "name": "Schemathesis Pvt Ltd"})
    assert response.status_code == 201, response.text
    secret: str = response.json()["api_key"]["secret"]
    return secret


def _describe(case: Case[Any], response: Response) -> str:
    return f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:2000]}"


def _assert_problem(case: Case[Any], response: Response) -> None:
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.split(";")[0].strip() == PROBLEM_JSON, _describe(case, response)
    body = response.json()
    assert isinstance(body, dict), _describe(case, response)
    assert body.keys() >= PROBLEM_FIELDS, _describe(case, response)
    assert body["status"] == response.status_code, _describe(case, response)
    assert isinstance(body["code"], str), _describe(case, response)
    assert body["code"], _describe(case, response)


def _call_and_check(case: Case[Any], app: Any, token: str) -> None:
    response = case.call(app=app, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, _describe(case, response)
    assert response.headers.get("x-request-id"), _describe(case, response)
    if response.status_code >= 400:
        _assert_problem(case, response)
    case.validate_response(response, checks=CHECKS)


@schema.parametrize()
@BOUNDED
def test_api_as_tenant(case: Case[Any], app: Any, fuzz_tenant_secret: str) -> None:
    _call_and_check(case, app, fuzz_tenant_secret)


@schema.parametrize()
@BOUNDED
def test_api_as_operator(case: Case[Any], app: Any) -> None:
    _call_and_check(case, app, ADMIN_TOKEN)


def test_fuzzed_document_is_the_apps(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == schema.raw_schema


def _resolve(fragment: dict[str, Any]) -> dict[str, Any]:
    ref = fragment.get("$ref")
    if not isinstance(ref, str):
        return fragment
    node: Any = schema.raw_schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    resolved: dict[str, Any] = node
    return resolved


def test_documented_errors_are_problem_json() -> None:
    """API.md: errors are problem+json, and the OpenAPI document must describe all of the API.

    Every documented 4xx response must be `application/problem+json` with the problem fields, and
    every `/v1` operation that takes input must document its 422.
    """
    wrong: list[str] = []
    for path, item in schema.raw_schema["paths"].items():
        for method, operation in item.items():
            responses: dict[str, Any] = operation.get("responses", {})
            takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
            if path.startswith("/v1/") and takes_input and "422" not in responses:
                wrong.append(f"{method.upper()} {path}: 422 not documented")
            for status, documented in responses.items():
                if not status.startswith("4"):
                    continue
                content: dict[str, Any] = documented.get("content", {})
                if list(content) != [PROBLEM_JSON]:
                    wrong.append(f"{method.upper()} {path} {status}: documented as {list(content)}")
                    continue
                body_schema = _resolve(content[PROBLEM_JSON].get("schema", {}))
                properties = set(body_schema.get("properties", {}))
                if not properties >= PROBLEM_FIELDS:
                    wrong.append(f"{method.upper()} {path} {status}: fields {sorted(properties)}")
    assert not wrong, f"the API answers errors as {PROBLEM_JSON}:\n" + "\n".join(wrong)
