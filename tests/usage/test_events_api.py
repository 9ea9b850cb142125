"""POST /v1/events: per-event validation, deduplication, customers by external id and on test
clocks, batch limits, and tenant isolation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from hisaab.app import create_app
from hisaab.db import Database
from tests.conftest import ADMIN_TOKEN, TenantHandle
from tests.usage.conftest import Usage, make_meters

AT = "2031-06-15T11:00:00Z"


def _event(event_id: str, customer_id: str, meter: str = "calls", **extra: Any) -> dict[str, Any]:
    return {"id": event_id, "customer_id": customer_id, "meter": meter, "timestamp": AT, **extra}


def _usage(usage: Usage, customer_id: str, meter: str | None = None) -> dict[str, str]:
    params = {"meter": meter} if meter else {}
    response = usage.tenant.http.get(f"/v1/customers/{customer_id}/usage", params=params)
    assert response.status_code == 200, response.text
    return {m["meter"]: m["value"] for m in response.json()["meters"]}


def test_meters_are_created_listed_and_fetched(usage: Usage) -> None:
    http = usage.tenant.http
    tokens = usage.meters["tokens"]
    assert tokens["id"].startswith("mtr_")
    assert tokens["object"] == "meter"
    assert tokens["name"] == "tokens"
    assert (tokens["aggregation"], tokens["field"]) == ("sum", "tokens")
    assert http.get(f"/v1/meters/{tokens['id']}").json() == tokens
    listed = http.get("/v1/meters").json()["data"]
    assert {m["code"] for m in listed} == set(usage.meters)
    assert [m["id"] for m in http.get("/v1/meters", params={"code": "tokens"}).json()["data"]] == [
        tokens["id"]
    ]
    assert http.get("/v1/meters/mtr_nope").status_code == 404


def test_meter_field_rules_and_unique_code(usage: Usage) -> None:
    http = usage.tenant.http
    cases = [
        ({"code": "a", "aggregation": "sum"}, 422, "meter_field_required"),
        ({"code": "b", "aggregation": "unique_count"}, 422, "meter_field_required"),
        ({"code": "c", "aggregation": "count", "field": "x"}, 422, "meter_field_not_allowed"),
        ({"code": "Bad Code", "aggregation": "count"}, 422, "validation_error"),
        ({"code": "d", "aggregation": "median", "field": "x"}, 422, "validation_error"),
        ({"code": "calls", "aggregation": "count"}, 409, "meter_code_taken"),
    ]
    for body, status, code in cases:
        response = http.post("/v1/meters", json=body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    named = http.post("/v1/meters", json={"code": "e", "aggregation": "count", "name": "E"})
    assert named.status_code == 201
    assert named.json()["name"] == "E"


def test_a_mixed_batch_stores_the_good_events_and_reports_the_bad(usage: Usage) -> None:
    customer = usage.customer()
    events: list[Any] = [
        _event("ok-1", customer),
        _event("ok-2", customer, "tokens", properties={"tokens": 12.5}),
        _event("ok-3", customer, "tokens", properties={"tokens": "7.5"}),
        _event("bad-meter", customer, "nope"),
        _event("bad-customer", "cus_00000000000000000000000000"),
        {"id": "no-customer", "meter": "calls", "timestamp": AT},
        {**_event("both", customer), "external_customer_id": "x"},
        _event("missing", customer, "tokens"),
        _event("nan", customer, "tokens", properties={"tokens": "many"}),
        _event("bool", customer, "tokens", properties={"tokens": True}),
        _event("nested", customer, "users", properties={"user": {"a": 1}}),
        _event("future", customer, timestamp="2031-06-15T12:06:00Z"),
        _event("old", customer, timestamp="2031-05-01T00:00:00Z"),
        _event("naive", customer, timestamp="2031-06-15T11:00:00"),
        _event("garbage-ts", customer, timestamp="yesterday"),
        _event("", customer),
        {**_event("extra", customer), "color": "red"},
        _event("props", customer, properties=[1, 2]),
        _event("nul", customer, properties={"a": "x\x00y"}),
        42,
    ]
    body = usage.send(events)
    assert body["accepted"] == 3
    assert body["duplicates"] == 0
    assert body["rejected"] == len(events) - 3
    codes = {e["index"]: (e["id"], e["code"]) for e in body["errors"]}
    assert codes == {
        3: ("bad-meter", "unknown_meter"),
        4: ("bad-customer", "unknown_customer"),
        5: ("no-customer", "customer_required"),
        6: ("both", "customer_required"),
        7: ("missing", "missing_property"),
        8: ("nan", "invalid_property_value"),
        9: ("bool", "invalid_property_value"),
        10: ("nested", "invalid_property_value"),
        11: ("future", "timestamp_in_future"),
        12: ("old", "timestamp_too_old"),
        13: ("naive", "invalid_timestamp"),
        14: ("garbage-ts", "invalid_timestamp"),
        15: (None, "invalid_event_id"),
        16: ("extra", "invalid_event"),
        17: ("props", "invalid_properties"),
        18: ("nul", "invalid_properties"),
        19: (None, "invalid_event"),
    }
    assert all(e["message"] for e in body["errors"])
    assert _usage(usage, customer) == {
        "calls": "1",
        "tokens": "20",
        "peak": "0",
        "users": "0",
        "seats": "0",
    }


def test_an_id_counts_once_within_a_batch_and_across_batches(usage: Usage) -> None:
    customer = usage.customer()
    first = usage.send([_event("a", customer), _event("b", customer), _event("a", customer)])
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (2, 1, 0)
    again = usage.send([_event("a", customer), _event("c", customer)])
    assert (again["accepted"], again["duplicates"]) == (1, 1)
    # Same id, other content (another timestamp, so another partition): still a duplicate.
    moved = usage.send([_event("b", customer, timestamp="2031-06-01T00:00:00Z")])
    assert (moved["accepted"], moved["duplicates"]) == (0, 1)
    assert _usage(usage, customer, "calls") == {"calls": "3"}


def test_a_rejected_copy_does_not_hide_a_good_one(usage: Usage) -> None:
    customer = usage.customer()
    body = usage.send([_event("x", customer, "nope"), _event("x", customer)])
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 0, 1)


def test_concurrent_requests_with_the_same_ids_store_each_once(app: Any, usage: Usage) -> None:
    customer = usage.customer()
    ids = [f"evt-{i}" for i in range(300)]
    batches = [
        [_event(i, customer) for i in ids],
        [_event(i, customer) for i in reversed(ids)],  # other order: no deadlock either
    ]
    results: list[dict[str, Any]] = []
    barrier = threading.Barrier(2)

    def send(events: list[dict[str, Any]]) -> None:
        headers = {"Authorization": f"Bearer {usage.tenant.secret}"}
        with TestClient(app, headers=headers) as http:
            barrier.wait()
            response = http.post("/v1/events", json={"events": events})
            assert response.status_code == 202, response.text
            results.append(response.json())

    threads = [threading.Thread(target=send, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert sum(r["accepted"] for r in results) == 300
    assert sum(r["duplicates"] for r in results) == 300
    assert _usage(usage, customer, "calls") == {"calls": "300"}


def test_customers_by_external_id(usage: Usage) -> None:
    customer = usage.customer(external_id="acct-42")
    body = usage.send(
        [
            {"id": "e1", "external_customer_id": "acct-42", "meter": "calls", "timestamp": AT},
            {"id": "e2", "external_customer_id": "acct-43", "meter": "calls", "timestamp": AT},
        ]
    )
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["errors"][0]["code"] == "unknown_customer"
    assert _usage(usage, customer, "calls") == {"calls": "1"}


def test_timestamps_are_judged_by_the_customers_clock(usage: Usage) -> None:
    on_clock = usage.customer()
    real = usage.customer(clock=False)
    # 2031 is in the future of the real clock, not of the test clock's customer.
    body = usage.send([_event("t1", on_clock), _event("t2", real)])
    assert body["accepted"] == 1
    assert [(e["id"], e["code"]) for e in body["errors"]] == [("t2", "timestamp_in_future")]
    edge = usage.send(
        [
            _event("t3", on_clock, timestamp="2031-06-15T12:05:00Z"),  # 5 minutes ahead: fine
            _event("t4", on_clock, timestamp="2031-05-11T12:00:00Z"),  # 35 days back: fine
            _event("t5", on_clock, timestamp="2031-05-11T11:59:59Z"),
        ]
    )
    assert edge["accepted"] == 2
    assert [e["id"] for e in edge["errors"]] == ["t5"]


def test_late_events_are_accepted_back_to_the_period_start_less_a_day(
    usage: Usage, run_jobs: Any
) -> None:
    http = usage.tenant.http
    customer = usage.customer()
    plan = http.post(
        "/v1/plans",
        json={
            "code": "metered",
            "name": "Metered",
            "interval": "month",
            "prices": [{"currency": "INR", "unit_amount": 100000}],
        },
    )
    assert plan.status_code == 201, plan.text
    subscription = http.post(
        "/v1/subscriptions",
        json={
            "customer_id": customer,
            "plan_id": plan.json()["id"],
            "collection_method": "send_invoice",
        },
    )
    assert subscription.status_code == 201, subscription.text
    start = subscription.json()["current_period_start"]
    assert start.startswith("2031-06-15")
    body = usage.send(
        [
            _event("late-ok", customer, timestamp="2031-06-14T12:00:00Z"),
            _event("too-late", customer, timestamp="2031-06-14T11:59:59Z"),
        ]
    )
    assert [(e["id"], e["code"]) for e in body["errors"]] == [("too-late", "timestamp_too_old")]
    response = http.get(f"/v1/customers/{customer}/usage", params={"meter": "calls"}).json()
    assert response["period_source"] == "subscription"
    assert response["period_start"].startswith("2031-06-15")
    # The late event belongs to the day before the period: not in the current period's usage.
    assert response["meters"] == [{"meter": "calls", "aggregation": "count", "value": "0"}]


def test_more_than_10000_events_are_refused(database: Database, usage: Usage) -> None:
    customer = usage.customer()
    # The shared test app takes 64 KiB bodies at most; this one takes the production 8 MiB.
    headers = {"Authorization": f"Bearer {usage.tenant.secret}"}
    with TestClient(create_app(database, ADMIN_TOKEN), headers=headers) as http:
        events = [_event(f"n{i}", customer) for i in range(10_001)]
        refused = http.post("/v1/events", json={"events": events})
        assert refused.status_code == 413, refused.text
        assert refused.json()["code"] == "too_many_events"
        assert _usage(usage, customer, "calls") == {"calls": "0"}
        accepted = http.post("/v1/events", json={"events": events[:10_000]})
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["accepted"] == 10_000
    assert _usage(usage, customer, "calls") == {"calls": "10000"}


def test_malformed_bodies_are_problems(usage: Usage) -> None:
    http = usage.tenant.http
    headers = {"Content-Type": "application/json"}
    cases = [
        (b"{", 400, "malformed_json"),
        (b"[]", 422, "validation_error"),
        (b'{"events": 1}', 422, "validation_error"),
        (b'{"events": [], "x": 1}', 422, "validation_error"),
        (b'{"events": ["\\ud800"]}', None, None),
    ]
    for raw, status, code in cases:
        response = http.post("/v1/events", content=raw, headers=headers)
        assert response.status_code < 500, (raw, response.text)
        if status is not None:
            assert (response.status_code, response.json()["code"]) == (status, code), raw
    empty = usage.send([])
    assert empty == {
        "object": "usage_event_batch",
        "accepted": 0,
        "duplicates": 0,
        "rejected": 0,
        "errors": [],
    }


def test_the_outbox_event_log_still_answers_get(usage: Usage) -> None:
    usage.customer()
    response = usage.tenant.http.get("/v1/events", params={"type": "customer.created"})
    assert response.status_code == 200
    assert response.json()["data"]


def test_another_tenants_customers_and_meters_are_unknown(
    usage: Usage, other_tenant: TenantHandle
) -> None:
    customer = usage.customer(clock=False, external_id="shared-ext")
    make_meters(other_tenant)
    other_customer = other_tenant.http.post(
        "/v1/customers",
        json={"name": "O", "email": "o@example.test", "country": "US", "external_id": "other"},
    ).json()["id"]
    other_meter = other_tenant.http.post(
        "/v1/meters", json={"code": "only-theirs", "aggregation": "count"}
    )
    assert other_meter.status_code == 201
    now = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    body = usage.send(
        [
            {"id": "i1", "customer_id": other_customer, "meter": "calls", "timestamp": now},
            {"id": "i2", "external_customer_id": "other", "meter": "calls", "timestamp": now},
            {"id": "i3", "customer_id": customer, "meter": "only-theirs", "timestamp": now},
        ]
    )
    assert [e["code"] for e in body["errors"]] == [
        "unknown_customer",
        "unknown_customer",
        "unknown_meter",
    ]
    # The same event id in two tenants is two events.
    for handle, who in ((usage.tenant, customer), (other_tenant, other_customer)):
        event = {"id": "same", "customer_id": who, "meter": "calls", "timestamp": now}
        response = handle.http.post("/v1/events", json={"events": [event]})
        assert response.json()["accepted"] == 1, response.text
    other_usage = other_tenant.http.get(f"/v1/customers/{customer}/usage")
    assert other_usage.status_code == 404


def test_an_idempotency_key_replays_the_first_answer(usage: Usage) -> None:
    customer = usage.customer()
    body = {"events": [_event("k1", customer), _event("k2", customer, "nope")]}
    headers = {"Idempotency-Key": "usage-batch-1"}
    first = usage.tenant.http.post("/v1/events", json=body, headers=headers)
    again = usage.tenant.http.post("/v1/events", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert (first.json()["accepted"], first.json()["rejected"]) == (1, 1)


def test_nan_and_infinity_in_properties_are_refused_per_event(usage: Usage) -> None:
    customer = usage.customer()
    good = f'"customer_id": "{customer}", "meter": "calls", "timestamp": "{AT}"'
    raw = (
        f'{{"events": [{{"id": "n1", {good}, "properties": {{"x": NaN}}}},'
        f' {{"id": "n2", {good}, "properties": {{"x": [1e400]}}}},'
        f' {{"id": "n3", {good}, "properties": {{"x": 1.5}}}}]}}'
    )
    response = usage.tenant.http.post(
        "/v1/events", content=raw.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert [(e["id"], e["code"]) for e in body["errors"]] == [
        ("n1", "invalid_properties"),
        ("n2", "invalid_properties"),
    ]
    assert _usage(usage, customer, "calls") == {"calls": "1"}


def test_a_batch_with_some_ids_stored_before_keeps_the_order_of_the_new(usage: Usage) -> None:
    """The plain insert of new ids fails on a stored one and the batch goes in through
    ON CONFLICT instead (migration 0018): same outcome, received order kept for `latest`."""
    customer = usage.customer()
    first = usage.send([_event("s2", customer, "seats", properties={"seats": 2})])
    assert first["accepted"] == 1
    mixed = usage.send(
        [
            _event("s3", customer, "seats", properties={"seats": 3}),
            _event("s2", customer, "seats", properties={"seats": 20}),
            _event("s1", customer, "seats", properties={"seats": 1}),
        ]
    )
    assert (mixed["accepted"], mixed["duplicates"]) == (2, 1)
    # Same timestamp for all: the latest received (s1, after s3) wins.
    assert _usage(usage, customer, "seats") == {"seats": "1"}
