"""A `hisaab worker` serves its own Prometheus metrics (HISAAB_WORKER_METRICS_PORT), and the
billing run's among them agree with what its batches recorded in the database: a deployment with
separate workers has no other place to read them from.

A throwaway database, one Indian tenant with renewals due (the tries of rupee ones wait a day for
their pre-debit notice, the others are charged at once), one real worker process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import URL

from hisaab.app import create_app
from hisaab.billing import service as billing
from hisaab.core.tenancy import OPERATOR_SCOPE
from hisaab.db import Database
from tests import seeding
from tests.conftest import ADMIN_TOKEN, SECRET_KEY
from tests.databases import drop_database, migrated_database, owner_connection
from tests.ports import free_port
from tests.workers import start_worker, stop_workers

SUBSCRIPTIONS = 120
DEADLINE_SECONDS = 90
pytestmark = pytest.mark.xdist_group("billing_kill")


class Scratch:
    def __init__(self, owner_url: URL, database: Database, tenant_id: str) -> None:
        self.owner_url = owner_url
        self.database = database
        self.tenant_id = tenant_id

    def scalar(self, sql: str) -> int:
        with owner_connection(self.owner_url) as conn:
            return int(conn.execute(text(sql)).scalar_one())


@pytest.fixture
def scratch(cluster_url: str, worker_id: str) -> Iterator[Scratch]:
    name = f"hisaab_worker_metrics_{worker_id}_{os.getpid()}"
    owner_url, app_url = migrated_database(cluster_url, name)
    database = Database.connect(app_url, pool_size=2)
    try:
        (tenant,) = seeding.seed_tenants(create_app(database, ADMIN_TOKEN), ADMIN_TOKEN, 1)
        yield Scratch(owner_url, database, tenant.id)
    finally:
        database.dispose()
        drop_database(cluster_url, name)


def _metrics(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample the worker serves, by name and labels."""
    families = text_string_to_metric_families(httpx.get(url, timeout=5).text)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


def _wait_for(url: str, worker: subprocess.Popen[bytes], deadline: float) -> None:
    while True:
        assert worker.poll() is None, f"worker exited with {worker.returncode}"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the worker never served its metrics"
            time.sleep(0.1)


def test_a_workers_billing_metrics_agree_with_its_batches(scratch: Scratch, tmp_path: Path) -> None:
    due_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    seeding.seed_subscriptions(scratch.owner_url, scratch.tenant_id, SUBSCRIPTIONS, due_at=due_at)
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    deadline = time.monotonic() + DEADLINE_SECONDS
    worker = start_worker(
        scratch.owner_url,
        ["billing", "payments"],
        tmp_path,
        secret_key=SECRET_KEY,
        concurrency=2,
        env={"HISAAB_WORKER_METRICS_PORT": str(port)},
    )
    try:
        _wait_for(url, worker, deadline)
        before = _metrics(url)
        with scratch.database.transaction(OPERATOR_SCOPE) as session:
            assert billing.fan_out(session) == 1
        while scratch.scalar(
            "SELECT count(*) FROM subscriptions WHERE next_action_at <= now() - interval '30s'"
        ) or scratch.scalar(
            "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'billing' "
            "AND status IN ('todo', 'doing')"
        ):
            assert time.monotonic() < deadline, "the run did not finish"
            assert worker.poll() is None, f"worker exited with {worker.returncode}"
            time.sleep(0.2)
        after = _metrics(url)
    finally:
        stop_workers([worker])

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    with owner_connection(scratch.owner_url) as conn:
        batches, invoices, succeeded, pending = conn.execute(
            text(
                "SELECT count(*), sum(invoices), sum(payments_succeeded), sum(payments_pending) "
                "FROM billing_batches"
            )
        ).one()
    assert invoices == SUBSCRIPTIONS
    assert grew("hisaab_billing_invoices_total") == invoices
    assert grew("hisaab_billing_payments_total", outcome="succeeded") == succeeded > 0
    # (rupee renewals' tries wait a day for their pre-debit notice: not sent, no outcome yet)
    assert grew("hisaab_billing_payments_total", outcome="scheduled") == pending
    assert grew("hisaab_billing_batch_duration_seconds_count") == batches
    assert grew("hisaab_billing_lag_seconds_count") == batches
    assert grew("hisaab_billing_lag_seconds_sum") >= 60 * batches  # due a minute before the run
    runs = grew("hisaab_billing_run_duration_seconds_count")
    assert 1 <= runs <= billing.PARALLEL_JOBS
    assert (
        grew("hisaab_billing_run_duration_seconds_sum")
        >= grew("hisaab_billing_batch_duration_seconds_sum") / billing.PARALLEL_JOBS
    )


def test_a_worker_whose_metrics_port_is_taken_says_so_and_stops(
    scratch: Scratch, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = start_worker(
            scratch.owner_url,
            ["billing"],
            tmp_path,
            secret_key=SECRET_KEY,
            concurrency=1,
            env={"HISAAB_WORKER_METRICS_PORT": str(port)},
        )
        try:
            assert worker.wait(timeout=60) == 1
        finally:
            stop_workers([worker])
    assert f"Cannot serve metrics on 127.0.0.1:{port}" in (tmp_path / "worker.log").read_text()
