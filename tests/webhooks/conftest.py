"""A real HTTP receiver on loopback that records what it gets and answers as scripted, and the
webhook wiring of `hisaab up` with the retry schedule shrunk to no waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hisaab.webhooks import delivery, schedule
from tests.conftest import TenantHandle

# Three retries, no waits: a delivery's whole life runs within one `run_jobs()`.
FAST_SCHEDULE = (timedelta(0), timedelta(0), timedelta(0))


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """What one path answers: `statuses` in turn, then `then`; `delay` seconds before answering."""

    statuses: list[int] = field(default_factory=list)
    then: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    port: int
    requests: list[Request] = field(default_factory=list)
    scripts: dict[str, Script] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def to(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == f"/{path}"]

    def answer(self, path: str) -> tuple[Script, int]:
        with self.lock:
            script = self.scripts.setdefault(path, Script())
            status = script.statuses.pop(0) if script.statuses else script.then
            return script, status


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append(
                    Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            script, status = receiver.answer(self.path.lstrip("/"))
            if script.delay:
                time.sleep(script.delay)
            answer = f'{{"received": {status}}}'.encode()
            try:
                self.send_response(status)
                for name, value in script.headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender timed out and left

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver(port=0)))
    receiver = Receiver(port=server.server_address[1])
    server.RequestHandlerClass = _handler(receiver)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhooks(database: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deliveries recorded with every event, retried without waiting, short timeouts."""
    delivery.install()
    monkeypatch.setattr(schedule, "RETRY_DELAYS", FAST_SCHEDULE)
    monkeypatch.setattr(delivery, "TIMEOUT", 2.0)


def create_endpoint(t: TenantHandle, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = t.http.post("/v1/webhook_endpoints", json={"url": url, "events": events or ["*"]})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def deliveries(t: TenantHandle, endpoint_id: str, **params: Any) -> list[dict[str, Any]]:
    response = t.http.get(
        f"/v1/webhook_endpoints/{endpoint_id}/deliveries", params={"limit": 100, **params}
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


def create_customer(t: TenantHandle, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Hook Customer", "email": "hook@example.test", "country": "IN", "state": "KA"}
    response = t.http.post("/v1/customers", json={**body, **overrides})
    assert response.status_code == 201, response.text
    customer: dict[str, Any] = response.json()
    return customer
