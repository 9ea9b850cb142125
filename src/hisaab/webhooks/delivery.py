"""Outbound webhook delivery: a delivery row per (endpoint, event), sent by a job, signed as
Standard Webhooks (https://www.standardwebhooks.com) prescribe.

`on_event` runs inside the transaction that emitted the event (it is subscribed to every type),
so a delivery and its job exist exactly when the change committed. `deliver` is the job. It
holds the delivery's row lock while it talks to the receiver, and acts only if the delivery's
`attempt_count` is still the one the job was enqueued with: a duplicate job, or one overtaken by
a manual retry, waits for the lock and then does nothing. Every HTTP try is logged as a
`WebhookAttempt`; the next try is enqueued (procrastinate `scheduled_at`) in the same transaction
that records the failed one, following `schedule.RETRY_DELAYS`.

Deliveries run on real time, also for events about customers on a test clock: a tenant's
receiver lives in real time, and a test clock advanced by a year must not make its events a year
late or early. The one duplicate left possible is the one HTTP allows (the receiver took the
event, then the worker died before committing); receivers deduplicate on `webhook-id`.
"""

from __future__ import annotations

import functools
import ssl
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
import structlog
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from hisaab.core import secrets
from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.core.ids import new_id
from hisaab.db import Database
from hisaab.jobs import queue
from hisaab.observability import WEBHOOK_ATTEMPTS
from hisaab.webhooks import repository, schedule
from hisaab.webhooks import service as events
from hisaab.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from hisaab.webhooks.schemas import EventOut
from hisaab.webhooks.service import EventRecord

TASK = "deliver_webhook"
QUEUE = "webhooks"
# Seconds allowed for each step of a try (connect, send, each read of the answer); only the
# first MAX_RESPONSE_BYTES of the answer are read. Module-level so tests can shorten it.
TIMEOUT = 10.0
USER_AGENT = "Hisaab-Webhooks/1.0"
MAX_ERROR_LENGTH = 500
MAX_RESPONSE_BYTES = 1024

log = structlog.get_logger("hisaab.webhooks")


def install() -> None:
    """Subscribe to every event type; called by every process that emits events (API, worker)."""
    for event_type in events.EVENT_TYPES:
        events.subscribe(event_type, on_event)


def uninstall() -> None:
    for event_type in events.EVENT_TYPES:
        events.unsubscribe(event_type, on_event)


# --- recording ----------------------------------------------------------------------------


def on_event(session: Session, event: EventRecord) -> None:
    """A delivery for each enabled endpoint of the tenant that takes this event's type."""
    now = SYSTEM_CLOCK.now()
    for endpoint in repository.endpoints_for(session, event.type):
        create(session, endpoint, event, now)


def create(
    session: Session,
    endpoint: repository.Target | WebhookEndpoint,
    event: EventRecord,
    now: datetime,
) -> str | None:
    """Record the delivery and enqueue its first try; None if it already exists (a replay)."""
    delivery_id = new_id("whd")
    inserted = repository.add_delivery_once(
        session,
        {
            "tenant_id": endpoint.tenant_id,
            "id": delivery_id,
            "endpoint_id": endpoint.id,
            "event_id": event.id,
            "event_type": event.type,
            "status": "pending",
            "attempt_count": 0,
            "scheduled_attempts": 0,
            "next_attempt_at": now,
            "delivered_at": None,
            "created_at": now,
            "updated_at": now,
        },
    )
    if not inserted:
        return None
    enqueue(session, endpoint.tenant_id, delivery_id, attempt_count=0, manual=False)
    return delivery_id


def enqueue(
    session: Session,
    tenant_id: str,
    delivery_id: str,
    *,
    attempt_count: int,
    manual: bool,
    at: datetime | None = None,
) -> None:
    args = {
        "tenant_id": tenant_id,
        "delivery_id": delivery_id,
        "attempt_count": attempt_count,
        "manual": manual,
    }
    queue.enqueue(session, TASK, args, queue=QUEUE, scheduled_at=at)


# --- sending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one HTTP try came to."""

    succeeded: bool
    status_code: int | None
    duration_ms: int
    error: str | None
    response_body: str | None
    sent_at: datetime


def deliver(
    database: Database, tenant_id: str, delivery_id: str, attempt_count: int, manual: bool
) -> None:
    """One try of a delivery (the job). `manual` tries (retry, resend) go whatever the status
    and never start the schedule over; scheduled ones only while the delivery is pending."""
    with database.transaction(tenant_id) as session:
        delivery = repository.lock_delivery(session, tenant_id, delivery_id)
        if delivery is None or delivery.attempt_count != attempt_count:
            return  # deleted with its endpoint, or already tried by another job
        if not manual and delivery.status != "pending":
            return
        endpoint = repository.get_endpoint(session, tenant_id, delivery.endpoint_id)
        event = repository.get(session, tenant_id, delivery.event_id)
        if endpoint is None or endpoint.disabled_at is not None or event is None:
            if not manual:
                _give_up(delivery, SYSTEM_CLOCK.now())
            return
        body = EventOut.model_validate(event, from_attributes=True).model_dump_json()
        outcome = send(endpoint.url, secrets.unseal(endpoint.secret_sealed), event.id, body)
        _record(session, delivery, endpoint, outcome, manual)


def send(url: str, secret: str, message_id: str, body: str) -> Outcome:
    """POST the signed body once; never raises for what the receiver or network does."""
    sent_at = SYSTEM_CLOCK.now()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
    }
    started = time.monotonic()
    status_code: int | None = None
    snippet: str | None = None
    error: str | None = None
    try:
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=False, verify=_tls()) as client,
            client.stream("POST", url, content=body.encode("utf-8"), headers=headers) as response,
        ):
            status_code = response.status_code
            snippet = _snippet(response)
    except httpx.TimeoutException:
        error = f"timed out after {TIMEOUT:g} s"
    except Exception as exc:  # any failure to reach the receiver is a failed try, not a crash
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = round((time.monotonic() - started) * 1000)
    succeeded = status_code is not None and 200 <= status_code < 300
    if succeeded:
        error = None  # the receiver said yes; a stalled rest of its answer does not matter
    elif status_code is not None:
        error = f"HTTP {status_code}" + (
            " (redirects are not followed)" if status_code < 400 else ""
        )
    return Outcome(
        succeeded=succeeded,
        status_code=status_code,
        duration_ms=duration_ms,
        error=_storable(error, MAX_ERROR_LENGTH),
        response_body=snippet,
        sent_at=sent_at,
    )


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: building it (loading the CA bundle) costs more than a send.
    A fresh client per try otherwise, so no connection is kept open to a tenant's server."""
    return httpx.create_ssl_context()


def _snippet(response: httpx.Response) -> str | None:
    """The start of the answer, for the delivery log; the rest is not even read."""
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= MAX_RESPONSE_BYTES:
            break
    return _storable(data[:MAX_RESPONSE_BYTES].decode("utf-8", errors="replace"), None) or None


def _storable(text: str | None, limit: int | None) -> str | None:
    """Receiver-controlled text as PostgreSQL text can hold it (no NUL), cut to `limit`."""
    if text is None:
        return None
    text = text.replace("\x00", "\ufffd")
    return text[:limit] if limit is not None else text


def _record(
    session: Session,
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    outcome: Outcome,
    manual: bool,
) -> None:
    """Log the try and decide what comes next: delivered, another try later, or failed."""
    now = SYSTEM_CLOCK.now()
    repository.add_attempt(
        session,
        WebhookAttempt(
            tenant_id=delivery.tenant_id,
            id=new_id("wha"),
            delivery_id=delivery.id,
            endpoint_id=delivery.endpoint_id,
            trigger="manual" if manual else "scheduled",
            succeeded=outcome.succeeded,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
            response_body=outcome.response_body,
            attempted_at=outcome.sent_at,
        ),
    )
    delivery.attempt_count += 1
    delivery.updated_at = now
    fields = {
        "tenant_id": delivery.tenant_id,
        "delivery_id": delivery.id,
        "endpoint_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "attempt": delivery.attempt_count,
        "status_code": outcome.status_code,
        "duration_ms": outcome.duration_ms,
    }
    if outcome.succeeded:
        delivery.status = "delivered"
        delivery.delivered_at = outcome.sent_at
        delivery.next_attempt_at = None
        WEBHOOK_ATTEMPTS.labels("delivered").inc()
        log.info("webhook_delivered", **fields)
        return
    if manual:
        if delivery.status == "pending":
            # The manual try overtook the scheduled job (now stale): put the schedule back.
            at = max(delivery.next_attempt_at or now, now)
            enqueue(
                session,
                delivery.tenant_id,
                delivery.id,
                attempt_count=delivery.attempt_count,
                manual=False,
                at=at,
            )
        outcome_label = "retrying" if delivery.status == "pending" else "failed"
    else:
        delivery.scheduled_attempts += 1
        delay = schedule.next_delay(delivery.scheduled_attempts, schedule.RETRY_DELAYS)
        if delay is None:
            _give_up(delivery, now)
            _disable_if_failing(session, delivery, endpoint, now)
            outcome_label = "failed"
        else:
            delivery.next_attempt_at = now + delay
            enqueue(
                session,
                delivery.tenant_id,
                delivery.id,
                attempt_count=delivery.attempt_count,
                manual=False,
                at=delivery.next_attempt_at if delay.total_seconds() > 0 else None,
            )
            outcome_label = "retrying"
    WEBHOOK_ATTEMPTS.labels(outcome_label).inc()
    log.warning("webhook_failed", error=outcome.error, outcome=outcome_label, **fields)


def _give_up(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status = "failed"
    delivery.next_attempt_at = None
    delivery.updated_at = now


def _disable_if_failing(
    session: Session, delivery: WebhookDelivery, endpoint: WebhookEndpoint, now: datetime
) -> None:
    session.flush()  # the attempt just logged counts
    first_try_at = repository.first_attempt_at(session, delivery.id)
    last_success_at = repository.last_success_at(session, endpoint.id)
    if first_try_at is None or not schedule.should_disable(first_try_at, last_success_at):
        return
    locked = repository.get_endpoint(session, endpoint.tenant_id, endpoint.id, for_update=True)
    if locked is None or locked.disabled_at is not None:
        return
    locked.disabled_at = now
    locked.disabled_reason = "failing"
    locked.updated_at = now
    log.warning(
        "webhook_endpoint_disabled",
        tenant_id=locked.tenant_id,
        endpoint_id=locked.id,
        failing_since=first_try_at.isoformat(),
    )
