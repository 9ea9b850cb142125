"""The error contract of API.md "Conventions", by hand.

Every error is `application/problem+json` `{"type","title","status","detail","code"}` (plus
`errors: [{"loc","msg"}]` for validation), client input never makes a 500, a failing request
writes nothing, and every response carries an `x-request-id`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import INDIAN_TENANT, TenantHandle

PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
MAX_BODY = 64 * 1024  # the `app` fixture's max_body_bytes
FROZEN = "2026-01-31T10:00:00Z"
CLOCKS = "/v1/test_clocks"
TENANTS = "/v1/tenants"


# -- helpers -------------------------------------------------------------------------------------


def assert_problem(response: Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the problem of API.md with this status (and code), and has a request id."""
    text = response.text[:1000]
    assert response.status_code == status, f"{response.status_code}: {text}"
    assert response.headers.get("x-request-id"), "every response carries x-request-id"
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert media_type == PROBLEM_JSON, f"content-type {media_type!r}: {text}"
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == status
    assert isinstance(body["type"], str)
    assert body["type"]
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_validation_problem(response: Response) -> dict[str, Any]:
    body = assert_problem(response, 422, "validation_error")
    errors = body.get("errors")
    assert isinstance(errors, list), body
    assert errors, body
    for error in errors:
        assert set(error) == {"loc", "msg"}, error
        assert isinstance(error["loc"], list), error
        assert error["loc"], error
        assert isinstance(error["msg"], str), error
        assert error["msg"], error
    return body


def assert_client_error(response: Response, allowed: tuple[int, ...] = (404, 422)) -> None:
    """Refused as the client's fault, as a problem: never a 5xx, never an HTML or bare page."""
    assert response.status_code in allowed, f"{response.status_code}: {response.text[:1000]}"
    assert_problem(response, response.status_code)


def _all_ids(http: TestClient, path: str) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        response = http.get(path, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        ids.extend(item["id"] for item in page["data"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return ids


def clock_ids(tenant: TenantHandle) -> list[str]:
    return _all_ids(tenant.http, CLOCKS)


def tenant_ids(operator: TestClient) -> list[str]:
    return _all_ids(operator, TENANTS)


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body).encode()


def _post_raw(http: TestClient, path: str, content: bytes, **headers: str) -> Response:
    response: Response = http.post(
        path, content=content, headers={"Content-Type": "application/json", **headers}
    )
    return response


# -- malformed JSON: 400 malformed_json ---------------------------------------------------------

MALFORMED = [
    pytest.param(b"{", id="open-brace"),
    pytest.param(b'{"frozen_time": }', id="missing-value"),
    pytest.param(b'{"frozen_time": "2026-01-31T10:00:00Z"', id="unterminated"),
    pytest.param(b'{"frozen_time": "2026-01-31T10:00:00Z"} trailing', id="trailing-garbage"),
    pytest.param(b"{'frozen_time': '2026-01-31T10:00:00Z'}", id="single-quotes"),
    pytest.param(b'{"name": "\xff\xfe"}', id="invalid-utf8"),
]


@pytest.mark.parametrize("content", MALFORMED)
def test_malformed_json_on_tenant_route_is_400(tenant: TenantHandle, content: bytes) -> None:
    before = clock_ids(tenant)
    response = _post_raw(tenant.http, CLOCKS, content)
    body = assert_problem(response, 400, "malformed_json")
    assert "errors" not in body or isinstance(body["errors"], list)
    assert clock_ids(tenant) == before


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"{", id="open-brace"),
        pytest.param(b'{"name": "x",', id="unterminated"),
        pytest.param(b'{"name": "\xff"}', id="invalid-utf8"),
    ],
)
def test_malformed_json_on_operator_route_is_400(operator: TestClient, content: bytes) -> None:
    before = tenant_ids(operator)
    response = _post_raw(operator, TENANTS, content)
    assert_problem(response, 400, "malformed_json")
    assert tenant_ids(operator) == before


# -- wrong types and unknown fields: 422 validation_error ----------------------------------------

CLOCK_BODIES_422 = [
    pytest.param({"frozen_time": 12}, id="time-as-number"),
    pytest.param({"frozen_time": 1769853600.5}, id="time-as-float"),
    pytest.param({"frozen_time": True}, id="time-as-bool"),
    pytest.param({"frozen_time": "tomorrow"}, id="time-not-a-date"),
    pytest.param({"frozen_time": "2026-01-31T10:00:00"}, id="time-without-offset"),
    pytest.param({"frozen_time": "2026-02-30T10:00:00Z"}, id="time-impossible-date"),
    pytest.param({"frozen_time": None}, id="time-null"),
    pytest.param({"frozen_time": [FROZEN]}, id="time-as-list"),
    pytest.param({}, id="time-missing"),
    pytest.param({"frozen_time": FROZEN, "name": 5}, id="name-as-number"),
    pytest.param({"frozen_time": FROZEN, "name": {"a": 1}}, id="name-as-object"),
    pytest.param({"frozen_time": FROZEN, "name": "x" * 201}, id="name-too-long"),
    pytest.param({"frozen_time": FROZEN, "colour": "red"}, id="unknown-field"),
    pytest.param({"frozen_time": FROZEN, "id": "clock_01abc"}, id="unknown-field-id"),
    pytest.param([{"frozen_time": FROZEN}], id="body-is-a-list"),
    pytest.param("2026-01-31T10:00:00Z", id="body-is-a-string"),
    pytest.param(12, id="body-is-a-number"),
]


@pytest.mark.parametrize("body", CLOCK_BODIES_422)
def test_invalid_test_clock_body_is_422(tenant: TenantHandle, body: Any) -> None:
    before = clock_ids(tenant)
    response = _post_raw(tenant.http, CLOCKS, _json_bytes(body))
    assert_validation_problem(response)
    assert clock_ids(tenant) == before


TENANT_BODIES_422 = [
    pytest.param({"name": 5}, id="name-as-number"),
    pytest.param({"name": None}, id="name-null"),
    pytest.param({"name": ["Acme"]}, id="name-as-list"),
    pytest.param({"lut": "maybe"}, id="lut-maybe"),
    pytest.param({"lut": 2}, id="lut-as-2"),
    pytest.param({"country": 91}, id="country-as-number"),
    pytest.param({"tax_registrations": "eu_oss"}, id="registrations-as-string"),
    pytest.param({"tax_registrations": [{"scheme": "eu_oss"}]}, id="registration-without-number"),
    pytest.param({"tax_registrations": [{"scheme": "us_sales", "number": "1"}]}, id="bad-scheme"),
    pytest.param({"address": "12 MG Road"}, id="address-as-string"),
    pytest.param({"email": "not-an-email"}, id="bad-email"),
    pytest.param({"is_admin": True}, id="unknown-field"),
    pytest.param({"address": {"line1": "12 MG Road", "floor": 3}}, id="unknown-nested-field"),
    pytest.param(
        {"tax_registrations": [{"scheme": "eu_oss", "number": "EU372000041", "x": 1}]},
        id="unknown-field-in-list-item",
    ),
]


@pytest.mark.parametrize("overrides", TENANT_BODIES_422)
def test_invalid_tenant_body_is_422(operator: TestClient, overrides: dict[str, Any]) -> None:
    before = tenant_ids(operator)
    response = _post_raw(operator, TENANTS, _json_bytes({**INDIAN_TENANT, **overrides}))
    body = assert_validation_problem(response)
    assert body["detail"]
    assert tenant_ids(operator) == before


def test_validation_error_points_at_the_field(tenant: TenantHandle) -> None:
    response = tenant.http.post(CLOCKS, json={"frozen_time": FROZEN, "name": 5})
    body = assert_validation_problem(response)
    assert ["body", "name"] in [error["loc"] for error in body["errors"]]


def test_unknown_field_on_patch_is_422(tenant: TenantHandle) -> None:
    before = tenant.http.get("/v1/tenant").json()
    response = tenant.http.patch("/v1/tenant", json={"name": "Renamed", "plan": "enterprise"})
    assert_validation_problem(response)
    after = tenant.http.get("/v1/tenant").json()
    assert after == before


# -- NUL characters: 422, never a 500 from PostgreSQL -------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"frozen_time": FROZEN, "name": "a\u0000b"}, id="name"),
        pytest.param({"frozen_time": FROZEN, "name": "\u0000"}, id="name-only-nul"),
        pytest.param({"frozen_time": "2026-01-31T10:00:00Z\u0000"}, id="time"),
        pytest.param({"frozen_time": FROZEN, "na\u0000me": "x"}, id="key"),
    ],
)
def test_nul_in_test_clock_body_is_422(tenant: TenantHandle, body: dict[str, Any]) -> None:
    before = clock_ids(tenant)
    response = tenant.http.post(CLOCKS, json=body)
    assert_validation_problem(response)
    assert clock_ids(tenant) == before


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"name": "a\u0000b"}, id="name"),
        pytest.param({"email": "a\u0000b@acme.test"}, id="email"),
        pytest.param({"invoice_prefix": "AC\u0000ME"}, id="invoice-prefix"),
        pytest.param({"timezone": "Asia/Kolkata\u0000"}, id="timezone"),
        pytest.param({"address": {"line1": "12\u0000 MG Road"}}, id="nested"),
        pytest.param(
            {"tax_registrations": [{"scheme": "eu_oss", "number": "EU37\u00002000041"}]},
            id="in-list",
        ),
    ],
)
def test_nul_in_tenant_body_is_422(operator: TestClient, overrides: dict[str, Any]) -> None:
    before = tenant_ids(operator)
    response = operator.post(TENANTS, json={**INDIAN_TENANT, **overrides})
    assert_validation_problem(response)
    assert tenant_ids(operator) == before


def test_nul_in_patch_is_422(tenant: TenantHandle) -> None:
    before = tenant.http.get("/v1/tenant").json()
    response = tenant.http.patch("/v1/tenant", json={"name": "a\u0000b"})
    assert_validation_problem(response)
    assert tenant.http.get("/v1/tenant").json() == before


# -- payload too large: 413 ----------------------------------------------------------------------


def _big_clock_body() -> bytes:
    body = _json_bytes({"frozen_time": FROZEN, "name": "x" * (MAX_BODY + 1024)})
    assert len(body) > MAX_BODY
    return body


def test_body_over_limit_with_content_length_is_413(tenant: TenantHandle) -> None:
    before = clock_ids(tenant)
    content = _big_clock_body()
    response = _post_raw(tenant.http, CLOCKS, content)
    assert response.request.headers["content-length"] == str(len(content))
    assert_problem(response, 413, "payload_too_large")
    assert clock_ids(tenant) == before


def test_body_over_limit_on_operator_route_is_413(operator: TestClient) -> None:
    before = tenant_ids(operator)
    body = _json_bytes({**INDIAN_TENANT, "name": "y" * (MAX_BODY + 10)})
    response = _post_raw(operator, TENANTS, body)
    assert_problem(response, 413, "payload_too_large")
    assert tenant_ids(operator) == before


def test_chunked_body_over_limit_is_413(tenant: TenantHandle) -> None:
    """No Content-Length: the limit is enforced on the bytes actually received."""
    before = clock_ids(tenant)
    content = _big_clock_body()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 4096):
            yield content[start : start + 4096]

    response = tenant.http.post(
        CLOCKS, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_problem(response, 413, "payload_too_large")
    assert clock_ids(tenant) == before


def test_chunked_body_over_limit_with_idempotency_key_is_413(tenant: TenantHandle) -> None:
    """With a key the body is read before the endpoint runs (to fingerprint it): still 413."""
    before = clock_ids(tenant)
    content = _big_clock_body()

    def chunks() -> Iterator[bytes]:
        yield content[:MAX_BODY]
        yield content[MAX_BODY:]

    response = tenant.http.post(
        CLOCKS,
        content=chunks(),
        headers={"Content-Type": "application/json", "Idempotency-Key": "big-body-1"},
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")
    assert clock_ids(tenant) == before


def test_body_streamed_in_many_asgi_messages_over_limit_is_413(
    app: Any, tenant: TenantHandle
) -> None:
    """The TestClient hands a streamed body to the app in one message; drive ASGI directly so the
    body arrives in many `http.request` messages, none of them over the limit on its own."""
    before = clock_ids(tenant)
    content = _big_clock_body()
    pieces = [content[start : start + 4096] for start in range(0, len(content), 4096)]
    sent: list[dict[str, Any]] = []
    delivered = 0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered < len(pieces):
            delivered += 1
            more = delivered < len(pieces)
            return {"type": "http.request", "body": pieces[delivered - 1], "more_body": more}
        await asyncio.sleep(3600)  # the client keeps the connection open; never disconnects
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": CLOCKS,
        "raw_path": CLOCKS.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
            (b"authorization", f"Bearer {tenant.secret}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=30))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent
    assert starts[0]["status"] == 413
    headers = {k.decode().lower(): v.decode() for k, v in starts[0]["headers"]}
    assert headers["content-type"] == PROBLEM_JSON
    assert headers.get("x-request-id")
    body = json.loads(
        b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    )
    assert body["code"] == "payload_too_large"
    assert body.keys() >= PROBLEM_FIELDS
    assert delivered <= MAX_BODY // 4096 + 2, "stopped reading soon after the limit"
    assert clock_ids(tenant) == before


def test_body_just_under_limit_is_accepted(tenant: TenantHandle) -> None:
    """The limit is not off by much: a 63 KiB body gets through to validation (name too long)."""
    body = _json_bytes({"frozen_time": FROZEN, "name": "x" * (MAX_BODY - 2048)})
    assert len(body) < MAX_BODY
    response = _post_raw(tenant.http, CLOCKS, body)
    assert_validation_problem(response)


# -- unknown routes and methods ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/v1/nope", "/v2/test_clocks", "/v1/test_clocks/clock_x/rewind", "/", "/v1"]
)
def test_unknown_route_is_404_problem(tenant: TenantHandle, client: TestClient, path: str) -> None:
    assert_problem(tenant.http.get(path), 404, "not_found")
    assert_problem(client.get(path), 404, "not_found")
    assert_problem(tenant.http.post(path, json={}), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", CLOCKS),
        ("PATCH", CLOCKS),
        ("DELETE", CLOCKS),
        ("PUT", "/v1/test_clocks/clock_01jd3k0000000000000000000x"),
        ("GET", "/v1/test_clocks/clock_01jd3k0000000000000000000x/advance"),
        ("POST", "/v1/tenant"),
        ("GET", "/v1/api_keys/key_01jd3k0000000000000000000x"),
    ],
)
def test_wrong_method_is_405_problem(tenant: TenantHandle, method: str, path: str) -> None:
    before = clock_ids(tenant)
    response = tenant.http.request(method, path, json={"frozen_time": FROZEN})
    assert_problem(response, 405, "method_not_allowed")
    assert clock_ids(tenant) == before


def test_405_names_the_allowed_methods(tenant: TenantHandle) -> None:
    """RFC 9110 §15.5.6: a 405 response MUST carry an Allow header."""
    response = tenant.http.put(CLOCKS, json={"frozen_time": FROZEN})
    assert_problem(response, 405, "method_not_allowed")
    allowed = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
    assert allowed >= {"GET", "POST"}, response.headers


# -- invalid ids in paths: 404 or 422, never 500 -------------------------------------------------

BAD_IDS = [
    pytest.param("x%00y", id="nul"),
    pytest.param("%00", id="only-nul"),
    pytest.param("clock_%00", id="prefix-and-nul"),
    pytest.param("a" * 65, id="65-chars"),
    pytest.param("clock_" + "0" * 5000, id="5000-chars"),
    pytest.param("not-an-id", id="not-an-id"),
    pytest.param("clock_" + "!" * 26, id="bad-alphabet"),
    pytest.param("clock_01JD3K00000000000000000000", id="upper-case"),
    pytest.param("%FF%FE", id="invalid-utf8"),
    pytest.param("%C3%A9t%C3%A9", id="non-ascii"),
    pytest.param("clock_%F0%9F%92%A9", id="emoji"),
    pytest.param("%20", id="space"),
    pytest.param("'%20OR%201=1--", id="sql-ish"),
    pytest.param("..%2F..%2Fetc", id="encoded-slashes"),
    pytest.param("clock_01jd3k00000000000000000000", id="well-formed-unknown"),
]


@pytest.mark.parametrize("clock_id", BAD_IDS)
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("GET", "", None, id="get"),
        pytest.param("DELETE", "", None, id="delete"),
        pytest.param("POST", "/advance", {"frozen_time": FROZEN}, id="advance"),
    ],
)
def test_bad_test_clock_ids(
    tenant: TenantHandle, method: str, suffix: str, body: Any, clock_id: str
) -> None:
    before = clock_ids(tenant)
    response = tenant.http.request(method, f"{CLOCKS}/{clock_id}{suffix}", json=body)
    assert_client_error(response)
    assert clock_ids(tenant) == before


@pytest.mark.parametrize("key_id", [*BAD_IDS, pytest.param("key_" + "0" * 26, id="unknown-key")])
def test_bad_api_key_ids(tenant: TenantHandle, key_id: str) -> None:
    response = tenant.http.delete(f"/v1/api_keys/{key_id}")
    assert_client_error(response)
    assert tenant.http.get("/v1/tenant").status_code == 200, "the key in use still works"


@pytest.mark.parametrize("tenant_id", [*BAD_IDS, pytest.param("ten_" + "0" * 26, id="unknown")])
def test_bad_tenant_ids(operator: TestClient, tenant_id: str) -> None:
    assert_client_error(operator.get(f"{TENANTS}/{tenant_id}"))


def test_other_tenants_clock_is_404(tenant: TenantHandle, make_tenant: Any) -> None:
    other = make_tenant(name="Other Tutors LLP")
    created = other.http.post(CLOCKS, json={"frozen_time": FROZEN})
    assert created.status_code == 201, created.text
    clock_id = created.json()["id"]
    assert_problem(tenant.http.get(f"{CLOCKS}/{clock_id}"), 404)
    assert_problem(tenant.http.delete(f"{CLOCKS}/{clock_id}"), 404)
    assert other.http.get(f"{CLOCKS}/{clock_id}").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"limit": "0"}, id="limit-0"),
        pytest.param({"limit": "101"}, id="limit-101"),
        pytest.param({"limit": "ten"}, id="limit-text"),
        pytest.param({"limit": "1e3"}, id="limit-float"),
        pytest.param({"limit": "\u0000"}, id="limit-nul"),
        pytest.param({"cursor": "a\u0000b"}, id="cursor-nul"),
        pytest.param({"cursor": "Y2xvY2tfYQBi"}, id="cursor-decodes-to-nul"),
        pytest.param({"cursor": "!!!"}, id="cursor-garbage"),
        pytest.param({"cursor": "//8"}, id="cursor-invalid-utf8"),
        pytest.param({"cursor": "é"}, id="cursor-non-ascii"),
        pytest.param({"cursor": "x" * 201}, id="cursor-too-long"),
    ],
)
def test_bad_list_parameters_are_422(tenant: TenantHandle, query: dict[str, str]) -> None:
    response = tenant.http.get(CLOCKS, params=query)
    body = assert_problem(response, 422)
    assert body["code"] in {"validation_error", "invalid_cursor"}, body


# -- Idempotency-Key -----------------------------------------------------------------------------


def test_idempotency_key_over_255_chars_is_400(tenant: TenantHandle) -> None:
    before = clock_ids(tenant)
    response = tenant.http.post(
        CLOCKS, json={"frozen_time": FROZEN}, headers={"Idempotency-Key": "k" * 256}
    )
    assert_problem(response, 400, "invalid_idempotency_key")
    assert clock_ids(tenant) == before


def test_idempotency_key_over_255_chars_on_operator_route_is_400(operator: TestClient) -> None:
    before = tenant_ids(operator)
    response = operator.post(TENANTS, json=INDIAN_TENANT, headers={"Idempotency-Key": "k" * 1000})
    assert_problem(response, 400, "invalid_idempotency_key")
    assert tenant_ids(operator) == before


@pytest.mark.parametrize(
    "key",
    [pytest.param("", id="empty"), pytest.param("a\tb", id="tab"), pytest.param("\x7f", id="del")],
)
def test_unprintable_or_empty_idempotency_key_is_400(tenant: TenantHandle, key: str) -> None:
    before = clock_ids(tenant)
    response = tenant.http.post(
        CLOCKS, json={"frozen_time": FROZEN}, headers={"Idempotency-Key": key}
    )
    assert_problem(response, 400, "invalid_idempotency_key")
    assert clock_ids(tenant) == before


def test_idempotency_key_of_255_chars_is_accepted(tenant: TenantHandle) -> None:
    key = "k" * 255
    first = tenant.http.post(CLOCKS, json={"frozen_time": FROZEN}, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    again = tenant.http.post(CLOCKS, json={"frozen_time": FROZEN}, headers={"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert clock_ids(tenant) == [first.json()["id"]]


def test_failed_request_with_key_stores_nothing(tenant: TenantHandle) -> None:
    """A 422 is not stored: the same key with a corrected body then succeeds."""
    key = "retry-after-422"
    bad = tenant.http.post(CLOCKS, json={"frozen_time": "nope"}, headers={"Idempotency-Key": key})
    assert_validation_problem(bad)
    assert clock_ids(tenant) == []
    good = tenant.http.post(CLOCKS, json={"frozen_time": FROZEN}, headers={"Idempotency-Key": key})
    assert good.status_code == 201, good.text
    assert clock_ids(tenant) == [good.json()["id"]]


# -- request ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", CLOCKS, None),
        ("POST", CLOCKS, {"frozen_time": FROZEN}),
        ("POST", CLOCKS, {"frozen_time": 12.5, "x": 1}),
        ("GET", "/v1/nope", None),
        ("PUT", CLOCKS, {}),
        ("GET", f"{CLOCKS}/x%00y", None),
    ],
)
def test_sane_request_id_is_echoed(tenant: TenantHandle, method: str, path: str, body: Any) -> None:
    request_id = "trace-01.ABC:xyz_9"
    response = tenant.http.request(method, path, json=body, headers={"X-Request-Id": request_id})
    assert response.status_code < 500, response.text
    assert response.headers["x-request-id"] == request_id


def test_request_id_is_echoed_on_413(tenant: TenantHandle) -> None:
    response = _post_raw(tenant.http, CLOCKS, _big_clock_body(), **{"X-Request-Id": "big-1"})
    assert_problem(response, 413, "payload_too_large")
    assert response.headers["x-request-id"] == "big-1"


def test_request_id_is_echoed_on_401(client: TestClient) -> None:
    response = client.get(CLOCKS, headers={"X-Request-Id": "anon-1"})
    assert_problem(response, 401)
    assert response.headers["x-request-id"] == "anon-1"


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("has space", id="space"),
        pytest.param("x" * 101, id="too-long"),
        pytest.param("", id="empty"),
        pytest.param("a\tb", id="tab"),
        pytest.param("<script>", id="markup"),
        pytest.param("a\r", id="carriage-return"),
    ],
)
def test_insane_request_id_is_replaced(tenant: TenantHandle, incoming: str) -> None:
    response = tenant.http.get(CLOCKS, headers={"X-Request-Id": incoming})
    assert response.status_code == 200
    generated = response.headers["x-request-id"]
    assert generated
    assert generated != incoming.strip()
    assert generated.startswith("req_")


def test_every_response_has_a_fresh_request_id(tenant: TenantHandle, client: TestClient) -> None:
    responses = [
        tenant.http.get(CLOCKS),
        tenant.http.get(CLOCKS),
        tenant.http.post(CLOCKS, content=b"{", headers={"Content-Type": "application/json"}),
        client.get("/healthz"),
        client.get("/v1/tenant"),
        client.get("/openapi.json"),
    ]
    ids = [response.headers.get("x-request-id") for response in responses]
    assert all(ids), ids
    assert len(set(ids)) == len(ids), ids
