"""Chaos: two real worker processes charge many invoices through the Stripe SDK against the
local fake; one is killed (SIGKILL) mid-flight, its stalled jobs are replayed and duplicates of
every job are added. Every invoice must be charged exactly once at the gateway, and the books
must balance.

The run has a database of its own, so the worker processes see no other test's jobs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import URL

from hisaab.app import create_app
from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.customers import service as customers
from hisaab.customers.schemas import PaymentMethodCreate
from hisaab.db import Database
from hisaab.jobs import queue
from hisaab.ledger import verify
from hisaab.payments import service as payments
from hisaab.payments.models import PaymentAttempt
from tests.conftest import ADMIN_TOKEN, INDIAN_TENANT, SECRET_KEY
from tests.databases import drop_database, migrated_database, owner_connection
from tests.payments.fakes import FakeStripe, Recorded, Reply, serve
from tests.workers import replay_stalled_jobs, start_worker, stop_workers

INVOICES = 40
pytestmark = pytest.mark.xdist_group("chaos")


class SlowStripe(FakeStripe):
    """Each payment takes a while, so that a worker can be killed with charges in flight."""

    def handle(self, recorded: Recorded) -> Reply:
        if recorded.path == "/v1/payment_intents":
            time.sleep(0.04)
        return super().handle(recorded)


@pytest.fixture
def chaos_db(cluster_url: str, worker_id: str) -> Iterator[tuple[URL, URL, Database]]:
    name = f"hisaab_chaos_{worker_id}_{os.getpid()}"
    owner_url, app_url = migrated_database(cluster_url, name)
    database = Database.connect(app_url, pool_size=2)
    yield owner_url, app_url, database
    database.dispose()
    drop_database(cluster_url, name)


def _worker(owner_url: URL, stripe: FakeStripe, data_dir: Path) -> subprocess.Popen[bytes]:
    return start_worker(
        owner_url,
        ["payments"],
        data_dir,
        secret_key=SECRET_KEY,
        concurrency=3,
        env={"HISAAB_STRIPE_API_BASE": stripe.url},
    )


def _open_invoices(http: Any, count: int) -> list[str]:
    """Subscriptions whose first charge failed for want of a payment method."""
    plan = http.post(
        "/v1/plans",
        json={
            "code": "pro",
            "name": "Pro",
            "interval": "month",
            "prices": [{"currency": "INR", "unit_amount": 290000}],
        },
    ).json()["id"]
    invoices = []
    for n in range(count):
        customer = http.post(
            "/v1/customers",
            json={
                "name": f"Customer {n}",
                "email": f"c{n}@example.test",
                "country": "US",
                "currency": "INR",
            },
        ).json()["id"]
        sub = http.post("/v1/subscriptions", json={"customer_id": customer, "plan_id": plan})
        assert sub.json()["status"] == "incomplete", sub.text
        invoices.append(sub.json()["latest_invoice_id"])
    return invoices


@pytest.fixture
def chaos_tenant(chaos_db: tuple[URL, URL, Database]) -> Iterator[tuple[str, TestClient]]:
    """A tenant of the chaos database, and an API client of it."""
    app = create_app(chaos_db[2], ADMIN_TOKEN)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as operator:
        created = operator.post("/v1/tenants", json=INDIAN_TENANT)
        assert created.status_code == 201, created.text
        body = created.json()
    with TestClient(app, headers={"Authorization": f"Bearer {body['api_key']['secret']}"}) as http:
        yield body["tenant"]["id"], http


def _give_cards(database: Database, tenant_id: str, invoices: list[str]) -> None:
    """Every customer gives a card at once, outside any request: a try per invoice, each with
    a job on the payments queue (a new default method retries what is being chased)."""
    with database.transaction(tenant_id) as session:
        for invoice_id in invoices:
            invoice = session.execute(
                text("SELECT customer_id FROM invoices WHERE id = :id"), {"id": invoice_id}
            ).one()
            customers.attach_payment_method(
                session,
                tenant_id,
                invoice.customer_id,
                PaymentMethodCreate(gateway="stripe", token="pm_card_visa", default=True),
                SYSTEM_CLOCK.now(),
            )


def _drain(database: Database, tenant_id: str, deadline: float) -> None:
    """Wait until no try waits and no payment job is due (the signup charges' safety-net jobs,
    due a minute later, do not count)."""
    while time.monotonic() < deadline:
        with database.transaction(tenant_id) as session:
            waiting = session.scalar(
                text(
                    "SELECT count(*) FROM payment_attempts "
                    "WHERE status IN ('scheduled', 'processing')"
                )
            )
            jobs = session.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs "
                    "WHERE queue_name = 'payments' AND (status = 'doing' OR "
                    "(status = 'todo' AND coalesce(scheduled_at, now()) <= now()))"
                )
            )
        if waiting == 0 and jobs == 0:
            return
        time.sleep(0.1)


def test_two_workers_one_killed_every_invoice_charged_once(
    chaos_db: tuple[URL, URL, Database],
    chaos_tenant: tuple[str, TestClient],
    tmp_path: Path,
) -> None:
    owner_url, app_url, database = chaos_db
    tenant_id, http = chaos_tenant
    with serve(SlowStripe()) as stripe:
        response = http.patch(
            "/v1/tenant", json={"gateways": {"stripe": {"secret_key": stripe.api_key}}}
        )
        assert response.status_code == 200, response.text
        invoices = _open_invoices(http, INVOICES)

        _give_cards(database, tenant_id, invoices)
        first, second = (_worker(owner_url, stripe, tmp_path / name) for name in ("a", "b"))
        deadline = time.monotonic() + 60
        while len(stripe.intents) < INVOICES // 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)  # mid-flight: it holds charges the fake has made
        first.wait()
        replayed = replay_stalled_jobs(app_url, ["payments"])
        with database.transaction(tenant_id) as session:
            for invoice_id in invoices:  # a duplicate of every job, as a replayed queue would
                queue.enqueue(
                    session,
                    payments.CHARGE_TASK,
                    {"tenant_id": tenant_id, "invoice_id": invoice_id},
                    queue=payments.QUEUE,
                )
        third = _worker(owner_url, stripe, tmp_path / "c")
        try:
            _drain(database, tenant_id, deadline)
        finally:
            stop_workers([second, third])
        with database.transaction(tenant_id) as session:
            stuck = session.execute(
                text(
                    "SELECT id, status, failure_message FROM payment_attempts "
                    "WHERE status IN ('scheduled', 'processing')"
                )
            ).all()
        assert stuck == [], "every try reached an outcome"

        charged = Counter(
            intent["metadata"]["hisaab_invoice_id"]
            for intent in stripe.intents.values()
            if intent["status"] == "succeeded"
        )
        assert set(charged) == set(invoices)
        assert set(charged.values()) == {1}, "each invoice charged exactly once at the gateway"
        posted = [r for r in stripe.requests if r.path == "/v1/payment_intents"]
        print(
            f"chaos: {INVOICES} invoices, {len(posted)} charge requests "
            f"({len(posted) - INVOICES} repeated with the same key), {replayed} stalled jobs "
            f"replayed, {len(stripe.intents)} charges at the gateway"
        )

    with database.transaction(tenant_id) as session:
        statuses = Counter(
            session.scalars(
                text("SELECT status FROM invoices WHERE id = ANY(:ids)"), {"ids": invoices}
            )
        )
        assert statuses == {"paid": INVOICES}
        succeeded = Counter(
            session.scalars(
                select(PaymentAttempt.invoice_id).where(PaymentAttempt.status == "succeeded")
            )
        )
        assert succeeded == dict.fromkeys(invoices, 1)
        subscriptions = Counter(session.scalars(text("SELECT status FROM subscriptions")))
        assert subscriptions == {"active": INVOICES}
    with owner_connection(owner_url) as connection:
        report = verify.run(connection)
    assert report.violations == [], report.violations
    assert report.entries > 0
