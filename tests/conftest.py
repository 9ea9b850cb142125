"""Test fixtures: a real PostgreSQL (embedded by default, or HISAAB_TEST_DATABASE_URL), one fresh
migrated database per pytest-xdist worker, the app over HTTP, and tenants to play with.

Every test makes its own tenants, so tests share the database without seeing each other's rows;
row-level security is what keeps them apart, which is itself under test.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy import event
from sqlalchemy.engine import URL

from hisaab.app import create_app
from hisaab.core import secrets
from hisaab.db import Database
from hisaab.jobs import queue, runtime
from hisaab.observability import configure_logging
from tests.databases import cluster_url as _cluster_url
from tests.databases import drop_database, libpq, migrated_database

# No per-example deadline: it is a timed assertion, and on a loaded 2-core machine a pure rule
# that is correct fails it (speed is measured by `make bench`, not asserted).
settings.register_profile("hisaab", deadline=None)
settings.load_profile("hisaab")

ADMIN_TOKEN = "op_test_" + "x" * 32
# The key sealing secrets in this run; worker subprocesses are given the same one.
SECRET_KEY = secrets.new_key()
secrets.configure([SECRET_KEY])


@dataclass(frozen=True)
class TestDatabase:
    __test__ = False

    cluster_url: str
    owner_url: URL
    app_url: URL


@pytest.fixture(scope="session")
def cluster_url() -> str:
    return _cluster_url()


@pytest.fixture(scope="session")
def test_db(cluster_url: str, worker_id: str) -> Iterator[TestDatabase]:
    name = f"hisaab_test_{worker_id}_{os.getpid()}"
    owner_url, app_url = migrated_database(cluster_url, name)
    yield TestDatabase(cluster_url, owner_url, app_url)
    drop_database(cluster_url, name)


@pytest.fixture(scope="session")
def database(test_db: TestDatabase) -> Iterator[Database]:
    db = Database.connect(test_db.app_url, pool_size=10)
    runtime.configure(db)
    queue.configure(libpq(test_db.app_url))
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def app(database: Database) -> Any:
    return create_app(database, ADMIN_TOKEN, max_body_bytes=64 * 1024)


@pytest.fixture(scope="session")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def operator(app: Any) -> Iterator[TestClient]:
    with TestClient(
        app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, raise_server_exceptions=False
    ) as test_client:
        yield test_client


@dataclass
class TenantHandle:
    id: str
    secret: str
    key_id: str
    http: TestClient


INDIAN_TENANT = {
    "name": "Acme Learning Pvt Ltd",
    "country": "IN",
    "state": "KA",
    "gstin": "29AAACA1234A1ZG",
    "base_currency": "INR",
    "timezone": "Asia/Kolkata",
    "invoice_prefix": "ACME",
    "lut": True,
    "email": "billing@acme.test",
}


@pytest.fixture
def make_tenant(app: Any, operator: TestClient) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TenantHandle:
        response = operator.post("/v1/tenants", json={**INDIAN_TENANT, **overrides})
        assert response.status_code == 201, response.text
        body = response.json()
        secret = body["api_key"]["secret"]
        http = TestClient(
            app, headers={"Authorization": f"Bearer {secret}"}, raise_server_exceptions=False
        )
        clients.append(http)
        return TenantHandle(body["tenant"]["id"], secret, body["api_key"]["id"], http)

    yield make
    for http in clients:
        http.close()


@pytest.fixture
def tenant(make_tenant: Any) -> TenantHandle:
    handle: TenantHandle = make_tenant()
    return handle


@pytest.fixture
def other_tenant(make_tenant: Any) -> TenantHandle:
    handle: TenantHandle = make_tenant(name="Beta Tutors LLP")
    return handle


@pytest.fixture
def run_jobs(database: Database) -> Any:
    """Run every job that is due now, in this process, until the queue is empty."""
    return lambda: queue.app.run_worker(
        wait=False, concurrency=1, install_signal_handlers=False, listen_notify=False
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """schemathesis names the item of each operation (`test_api_as_tenant[GET /v1/plans]`) but,
    under pytest 9, leaves them all one node id; pytest-xdist tells items apart by node id and so
    ran one of each fuzz test's ~85 items in the whole suite. Each gets the id its name says."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label is not None and item.parent is not None:
            originalname = getattr(item, "originalname", item.name)
            item._id = item.parent.id.child(originalname).with_params(label)


@pytest.fixture
def statements(database: Database) -> Iterator[list[str]]:
    """Every statement the app's engine sends while the test runs, whitespace collapsed."""
    with sent_statements(database) as sent:
        yield sent


@contextmanager
def sent_statements(database: Database, *prefixes: str) -> Iterator[list[str]]:
    """The statements the app's engine sends in the block (those starting with one of
    `prefixes`, if given), whitespace collapsed."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        statement = " ".join(args[2].split())
        if statement.startswith(prefixes or ""):
            sent.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


@pytest.fixture
def json_logs() -> Iterator[Any]:
    """The JSON log lines written while the test runs, parsed (read them with the callable)."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield read
    structlog.reset_defaults()
