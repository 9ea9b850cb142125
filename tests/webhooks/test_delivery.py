"""Deliveries to a real HTTP receiver on loopback: signed per Standard Webhooks, retried on the
(shrunk) schedule, logged, replayed by hand, never sent twice by a duplicate job."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hisaab.db import Database
from hisaab.jobs import queue
from hisaab.webhooks import delivery, schedule
from hisaab.webhooks import service as events
from tests.conftest import TenantHandle
from tests.webhooks.conftest import (
    FAST_SCHEDULE,
    Receiver,
    Script,
    create_customer,
    create_endpoint,
    deliveries,
)

pytestmark = pytest.mark.usefixtures("webhooks")


class Thing(BaseModel):
    """Stands in for an API object of a type the public API cannot (yet) make on demand."""

    id: str
    note: str


def emit(database: Database, tenant_id: str, event_type: str, object_id: str) -> str:
    with database.transaction(tenant_id) as session:
        event = events.emit(
            session, tenant_id, event_type, Thing(id=object_id, note="ok"), datetime.now(UTC)
        )
        return event.id


def verified(secret: str, request: Any) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return payload


def test_every_event_type_is_delivered_signed(
    tenant: TenantHandle, database: Database, receiver: Receiver, run_jobs: Any
) -> None:
    endpoint = create_endpoint(tenant, receiver.url("all"))
    emitted = {
        emit(database, tenant.id, t, f"obj_{i}"): t for i, t in enumerate(events.EVENT_TYPES)
    }
    run_jobs()

    got = receiver.to("all")
    assert len(got) == len(events.EVENT_TYPES)
    for request in got:
        payload = verified(endpoint["secret"], request)
        assert request.headers["webhook-id"] == payload["id"]
        assert emitted[payload["id"]] == payload["type"]
        assert request.headers["content-type"] == "application/json"
        assert request.headers["webhook-signature"].startswith("v1,")
        assert set(payload) == {"object", "id", "type", "created_at", "data"}
        assert payload["data"]["object"]["note"] == "ok"
    assert {json.loads(r.body)["type"] for r in got} == set(events.EVENT_TYPES)
    assert {d["status"] for d in deliveries(tenant, endpoint["id"])} == {"delivered"}

    tampered = got[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(tampered.body + b" ", tampered.headers)


def test_a_customer_created_through_the_api_is_delivered(
    tenant: TenantHandle, receiver: Receiver, run_jobs: Any
) -> None:
    endpoint = create_endpoint(tenant, receiver.url("flow"), ["customer.created"])
    # On a test clock far from now: the event carries clock time, the delivery real time.
    clock = tenant.http.post("/v1/test_clocks", json={"frozen_time": "2030-06-01T00:00:00Z"})
    customer = create_customer(tenant, test_clock_id=clock.json()["id"])
    run_jobs()

    [request] = receiver.to("flow")
    payload = verified(endpoint["secret"], request)
    event = tenant.http.get(
        "/v1/events", params={"type": "customer.created", "object_id": customer["id"]}
    ).json()["data"][0]
    assert payload == event
    assert payload["data"]["object"] == customer
    assert payload["created_at"].startswith("2030-06-01")
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60

    [logged] = deliveries(tenant, endpoint["id"])
    assert (logged["event_id"], logged["status"], logged["attempt_count"]) == (
        event["id"],
        "delivered",
        1,
    )
    [attempt] = logged["attempts"]
    assert (attempt["succeeded"], attempt["status_code"], attempt["trigger"]) == (
        True,
        200,
        "scheduled",
    )
    assert attempt["response_body"] == '{"received": 200}'
    assert attempt["error"] is None
    assert attempt["duration_ms"] >= 0


def test_failures_are_retried_then_delivered(
    tenant: TenantHandle, receiver: Receiver, run_jobs: Any
) -> None:
    receiver.scripts["flaky"] = Script(statuses=[500, 500], then=200)
    endpoint = create_endpoint(tenant, receiver.url("flaky"))
    create_customer(tenant)
    run_jobs()

    got = receiver.to("flaky")
    assert len(got) == 3
    assert len({r.headers["webhook-id"] for r in got}) == 1  # the same message every time
    for request in got:
        verified(endpoint["secret"], request)
    [logged] = deliveries(tenant, endpoint["id"])
    assert (logged["status"], logged["attempt_count"]) == ("delivered", 3)
    assert [a["status_code"] for a in logged["attempts"]] == [500, 500, 200]
    assert [a["succeeded"] for a in logged["attempts"]] == [False, False, True]
    assert logged["attempts"][0]["error"] == "HTTP 500"
    assert logged["delivered_at"] is not None
    assert tenant.http.get(f"/v1/webhook_endpoints/{endpoint['id']}").json()["status"] == "enabled"


def test_a_receiver_that_always_fails_gets_the_endpoint_disabled(
    tenant: TenantHandle, receiver: Receiver, run_jobs: Any
) -> None:
    receiver.scripts["down"] = Script(then=503)
    endpoint = create_endpoint(tenant, receiver.url("down"))
    create_customer(tenant)
    run_jobs()

    tries = schedule.max_tries(FAST_SCHEDULE)
    assert len(receiver.to("down")) == tries
    [logged] = deliveries(tenant, endpoint["id"], status="failed")
    assert (logged["status"], logged["attempt_count"], logged["next_attempt_at"]) == (
        "failed",
        tries,
        None,
    )
    assert [a["status_code"] for a in logged["attempts"]] == [503] * tries
    assert deliveries(tenant, endpoint["id"], status="pending") == []
    shown = tenant.http.get(f"/v1/webhook_endpoints/{endpoint['id']}").json()
    assert (shown["status"], shown["disabled_reason"]) == ("disabled", "failing")

    # Disabled: later events are not even recorded for it, and a retry is refused.
    create_customer(tenant, email="later@example.test")
    run_jobs()
    assert len(deliveries(tenant, endpoint["id"])) == 1
    retry = tenant.http.post(
        f"/v1/webhook_endpoints/{endpoint['id']}/deliveries/{logged['id']}/retry"
    )
    assert retry.status_code == 409
    assert retry.json()["code"] == "endpoint_disabled"


def test_a_success_in_between_keeps_the_endpoint_enabled(
    tenant: TenantHandle, receiver: Receiver, run_jobs: Any
) -> None:
    endpoint = create_endpoint(tenant, receiver.url("mixed"))
    create_customer(tenant)
    run_jobs()  # delivered: the endpoint has answered 2xx ...
    receiver.scripts["mixed"] = Script(then=500)
    first = deliveries(tenant, endpoint["id"])[0]
    assert first["status"] == "delivered"
    create_customer(tenant, email="second@example.test")
    run_jobs()  # ... but that was before this delivery's first try
    assert tenant.http.get(f"/v1/webhook_endpoints/{endpoint['id']}").json()["status"] == (
        "disabled"
    )


def test_a_failed_delivery_is_replayed_by_hand(
    tenant: TenantHandle, receiver: Receiver, run_jobs: Any
) -> None:
    receiver.scripts["later"] = Script(then=500)
    endpoint = create_endpoint(tenant, receiver.url("later"))
    create_customer(tenant)
    run_jobs()
    [failed] = deliveries(tenant, endpoint["id"])
    assert failed["status"] == "failed"

    receiver.scripts["later"] = Script(then=204)
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    assert tenant.http.patch(path, json={"disabled": False}).status_code == 200
    retry = tenant.http.post(f"{path}/deliveries/{failed['id']}/retry")
    assert retry.status_code == 200, retry.text
    assert retry.json()["id"] == failed["id"]
    run_jobs()

    shown = tenant.http.get(f"{path}/deliveries/{failed['id']}").json()
    assert shown["status"] == "delivered"
    assert shown["attempts"][-1]["trigger"] == "manual"
    assert shown["attempts"][-1]["status_code"] == 204
    assert len(receiver.to("later")) == schedule.max_tries(FAST_SCHEDULE) + 1
    verified(endpoint["secret"], receiver.to("later")[-1])


def test_a_failing_manual_retry_of_a_failed_delivery_is_one_try(
    tenant: TenantHandle, receiver: Receiver, run_jobs: Any
) -> None:
    receiver.scripts["still-down"] = Script(then=500)
    endpoint = create_endpoint(tenant, receiver.url("still-down"))
    create_customer(tenant)
    run_jobs()
    [failed] = deliveries(tenant, endpoint["id"])
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    tenant.http.patch(path, json={"disabled": False})
    tenant.http.post(f"{path}/deliveries/{failed['id']}/retry")
    run_jobs()
    [after] = deliveries(tenant, endpoint["id"])
    assert (after["status"], after["attempt_count"]) == ("failed", failed["attempt_count"] + 1)
    assert tenant.http.get(path).json()["status"] == "enabled"  # a manual try never disables


def test_a_duplicate_job_does_not_send_twice(
    tenant: TenantHandle, database: Database, receiver: Receiver, run_jobs: Any
) -> None:
    endpoint = create_endpoint(tenant, receiver.url("once"))
    create_customer(tenant)
    [pending] = deliveries(tenant, endpoint["id"])
    with database.transaction(tenant.id) as session:
        for _ in range(2):  # the same job again, as a crashed-and-retried worker would run it
            delivery.enqueue(session, tenant.id, pending["id"], attempt_count=0, manual=False)
    run_jobs()
    assert len(receiver.to("once")) == 1
    [logged] = deliveries(tenant, endpoint["id"])
    assert (logged["status"], logged["attempt_count"]) == ("delivered", 1)

    # Running the job body again directly (as a second worker would) changes nothing either.
    delivery.deliver(database, tenant.id, pending["id"], 0, False)
    delivery.deliver(database, tenant.id, pending["id"], 1, False)
    assert len(receiver.to("once")) == 1


def test_endpoints_get_only_the_types_they_asked_for(
    tenant: TenantHandle, database: Database, receiver: Receiver, run_jobs: Any
) -> None:
    paid = create_endpoint(tenant, receiver.url("paid"), ["invoice.paid"])
    customers = create_endpoint(tenant, receiver.url("customers"), ["customer.created"])
    create_customer(tenant)
    emit(database, tenant.id, "invoice.paid", "in_x")
    emit(database, tenant.id, "invoice.voided", "in_y")
    run_jobs()
    assert [json.loads(r.body)["type"] for r in receiver.to("paid")] == ["invoice.paid"]
    assert [json.loads(r.body)["type"] for r in receiver.to("customers")] == ["customer.created"]
    assert [d["event_type"] for d in deliveries(tenant, paid["id"])] == ["invoice.paid"]
    assert [d["event_type"] for d in deliveries(tenant, customers["id"])] == ["customer.created"]


def test_a_disabled_endpoint_gets_nothing(
    tenant: TenantHandle, receiver: Receiver, run_jobs: Any
) -> None:
    endpoint = create_endpoint(tenant, receiver.url("off"))
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    create_customer(tenant)  # recorded while enabled ...
    tenant.http.patch(path, json={"disabled": True})  # ... disabled before the job runs
    create_customer(tenant, email="second@example.test")  # not even recorded
    run_jobs()
    assert receiver.to("off") == []
    [logged] = deliveries(tenant, endpoint["id"])
    assert (logged["status"], logged["attempts"]) == ("failed", [])

    tenant.http.patch(path, json={"disabled": False})
    create_customer(tenant, email="third@example.test")
    run_jobs()
    assert len(receiver.to("off")) == 1


def test_other_tenants_events_are_not_sent(
    tenant: TenantHandle, other_tenant: TenantHandle, receiver: Receiver, run_jobs: Any
) -> None:
    create_endpoint(tenant, receiver.url("mine"))
    create_customer(other_tenant)
    run_jobs()
    assert receiver.to("mine") == []


def test_timeouts_and_redirects_are_failed_tries(
    tenant: TenantHandle,
    receiver: Receiver,
    run_jobs: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(delivery, "TIMEOUT", 0.2)
    monkeypatch.setattr(schedule, "RETRY_DELAYS", ())  # one try each
    receiver.scripts["slow"] = Script(then=200, delay=1.0)
    receiver.scripts["moved"] = Script(then=302, headers={"location": receiver.url("elsewhere")})
    slow = create_endpoint(tenant, receiver.url("slow"))
    moved = create_endpoint(tenant, receiver.url("moved"))
    create_customer(tenant)
    run_jobs()

    [timed_out] = deliveries(tenant, slow["id"])[0]["attempts"]
    assert (timed_out["status_code"], timed_out["succeeded"]) == (None, False)
    assert timed_out["error"] == "timed out after 0.2 s"
    [redirected] = deliveries(tenant, moved["id"])[0]["attempts"]
    assert (redirected["status_code"], redirected["succeeded"]) == (302, False)
    assert "redirects are not followed" in redirected["error"]
    assert receiver.to("elsewhere") == []


def test_an_unreachable_receiver_is_a_failed_try(tenant: TenantHandle, run_jobs: Any) -> None:
    endpoint = create_endpoint(tenant, "http://127.0.0.1:9/refused")
    create_customer(tenant)
    run_jobs()
    [logged] = deliveries(tenant, endpoint["id"])
    assert logged["status"] == "failed"
    assert all(a["status_code"] is None and a["error"] for a in logged["attempts"])
    assert "ConnectError" in logged["attempts"][0]["error"]


def test_an_event_is_resent(tenant: TenantHandle, receiver: Receiver, run_jobs: Any) -> None:
    first = create_endpoint(tenant, receiver.url("first"), ["customer.created"])
    customer = create_customer(tenant)
    run_jobs()
    event_id = tenant.http.get("/v1/events", params={"object_id": customer["id"]}).json()["data"][
        0
    ]["id"]
    second = create_endpoint(tenant, receiver.url("second"))  # added after the event
    create_endpoint(tenant, receiver.url("elsewhere"), ["invoice.paid"])  # not for this type

    response = tenant.http.post(f"/v1/events/{event_id}/resend")
    assert response.status_code == 200, response.text
    assert {d["endpoint_id"] for d in response.json()["data"]} == {first["id"], second["id"]}
    run_jobs()
    assert [r.headers["webhook-id"] for r in receiver.to("first")] == [event_id, event_id]
    assert [r.headers["webhook-id"] for r in receiver.to("second")] == [event_id]
    assert receiver.to("elsewhere") == []
    verified(second["secret"], receiver.to("second")[0])

    only = tenant.http.post(f"/v1/events/{event_id}/resend", json={"endpoint_id": second["id"]})
    assert [d["endpoint_id"] for d in only.json()["data"]] == [second["id"]]
    run_jobs()
    assert len(receiver.to("second")) == 2
    assert len(receiver.to("first")) == 2


def test_resend_refuses_what_cannot_be_sent(tenant: TenantHandle) -> None:
    customer = create_customer(tenant)
    event_id = tenant.http.get("/v1/events", params={"object_id": customer["id"]}).json()["data"][
        0
    ]["id"]
    other_type = create_endpoint(tenant, "http://127.0.0.1:9/x", ["invoice.paid"])
    response = tenant.http.post(
        f"/v1/events/{event_id}/resend", json={"endpoint_id": other_type["id"]}
    )
    assert (response.status_code, response.json()["code"]) == (409, "event_type_not_subscribed")
    missing = tenant.http.post(f"/v1/events/{event_id}/resend", json={"endpoint_id": "we_nope"})
    assert (missing.status_code, missing.json()["code"]) == (404, "resource_missing")
    assert tenant.http.post("/v1/events/evt_nope/resend").status_code == 404


def test_deleting_an_endpoint_drops_its_queued_deliveries(
    tenant: TenantHandle, receiver: Receiver, run_jobs: Any
) -> None:
    endpoint = create_endpoint(tenant, receiver.url("gone"))
    create_customer(tenant)
    assert tenant.http.delete(f"/v1/webhook_endpoints/{endpoint['id']}").status_code == 200
    run_jobs()
    assert receiver.to("gone") == []


def test_the_delivery_job_is_on_the_webhooks_queue(tenant: TenantHandle) -> None:
    assert delivery.QUEUE == "webhooks"
    assert delivery.TASK in queue.app.tasks
    assert queue.app.tasks[delivery.TASK].queue == "webhooks"
