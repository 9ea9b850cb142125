"""Structured JSON logs with request and tenant ids, Prometheus metrics, request ids, body limit.

Only method, route, status, duration and ids are logged: never headers or bodies, which may carry
secrets.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import TextIO

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hisaab.core.errors import HisaabError
from hisaab.core.ids import new_id
from hisaab.core.problems import PROBLEM_JSON

REQUESTS = Counter("hisaab_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "hisaab_http_request_duration_seconds", "HTTP request duration", ["method", "route"]
)
# Every outbound webhook try: `delivered` (2xx), `retrying` (failed, another try is scheduled),
# `failed` (failed with no further try).
WEBHOOK_ATTEMPTS = Counter(
    "hisaab_webhook_attempts_total", "Outbound webhook delivery tries by outcome", ["outcome"]
)
# The billing run (billing/service.py), per process: each worker exports its own.
BILLING_BATCHES = Histogram(
    "hisaab_billing_batch_duration_seconds",
    "Billing-run batches: wall time from claiming the due work to the payments' commit",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BILLING_RUNS = Histogram(
    "hisaab_billing_run_duration_seconds",
    "Billing-run jobs that found work: wall time from the first batch until nothing was due (or "
    "the job's batch cap)",
    buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, 4 * 3600),
)
BILLING_LAG = Histogram(
    "hisaab_billing_lag_seconds",
    "How late the latest due item of a batch was billed, after its due time",
    buckets=(1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
)
INVOICES_ISSUED = Counter("hisaab_billing_invoices_total", "Invoices issued by the billing run")
PAYMENTS = Counter(
    "hisaab_billing_payments_total", "Payment tries the billing run sent, by outcome", ["outcome"]
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
access_log = structlog.get_logger("hisaab.access")


TOO_LARGE = HisaabError(
    code="payload_too_large",
    status=413,
    title="Payload too large",
    detail="The request body is larger than this server accepts.",
)


class _BodyTooLarge(Exception):
    """The streamed body passed the limit."""


def configure_logging(level: str = "info", fmt: str = "json", stream: TextIO | None = None) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )


# The metric series of each (method, route, status) seen, looked up once: resolving the labels
# costs more than counting. Bounded, since the method is whatever the client sent.
_SERIES: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
_MAX_SERIES = 2_000


def _series(method: str, template: str, status: int) -> tuple[Counter, Histogram]:
    key = (method, template, status)
    found = _SERIES.get(key)
    if found is None:
        found = (REQUESTS.labels(method, template, str(status)), LATENCY.labels(method, template))
        if len(_SERIES) < _MAX_SERIES:
            _SERIES[key] = found
    return found


def _request_id_and_length(scope: Scope) -> tuple[str, str]:
    """The `X-Request-Id` and `Content-Length` headers ("" when absent), without decoding the
    others."""
    incoming = declared = ""
    for name, value in scope["headers"]:
        lowered = name.lower()
        if lowered == b"x-request-id":
            incoming = value.decode("latin-1")
        elif lowered == b"content-length":
            declared = value.decode("latin-1")
    return incoming, declared


class RequestContextMiddleware:
    """Request id (kept from `X-Request-Id` when sane), access log line, metrics, body limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming, declared = _request_id_and_length(scope)
        request_id = incoming if _REQUEST_ID.match(incoming) else new_id("req")
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_holder = {"status": 500}

        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(send, request_id)
            self._observe(scope, 413, started)
            return

        received = 0
        too_large = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal replaced
            if too_large:  # whatever the app made of the cut-off body, the answer is 413
                if not replaced and message["type"] == "http.response.start":
                    replaced = True
                    status_holder["status"] = 413
                    await self._too_large(send, request_id)
                return
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except Exception:
            if not too_large:
                raise
            if not replaced:
                status_holder["status"] = 413
                await self._too_large(send, request_id)
        finally:
            self._observe(scope, status_holder["status"], started)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        count, latency = _series(scope["method"], template, status)
        count.inc()
        latency.observe(elapsed)
        access_log.info(
            "request",
            method=scope["method"],
            route=template,
            status=status,
            duration_ms=round(elapsed * 1000, 2),
        )

    @staticmethod
    async def _too_large(send: Send, request_id: str) -> None:
        body = json.dumps(TOO_LARGE.problem()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
