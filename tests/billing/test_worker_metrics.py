"""A `hisaab worker` serves its own Prometheus metrics (HISAAB_WORKER_METRICS_PORT), and the
billing run's among them agree with what its batches recorded in the database: a deployment with
separate workers has no other place to read them from.

A throwaway database, an Indian and a German tenant with renewals due (the tries of rupee ones
wait a day for their pre-debit notice, the others are charged at once), one real worker process.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from hisaab.billing import service as billing
from tests.billing.scratch import QUEUES, Run
from tests.conftest import SECRET_KEY
from tests.ports import free_port
from tests.workers import start_worker, stop_workers

SUBSCRIPTIONS = 60  # per tenant
DEADLINE_SECONDS = 90
pytestmark = pytest.mark.xdist_group("billing_kill")


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


def test_a_workers_billing_metrics_agree_with_its_batches(run: Run, tmp_path: Path) -> None:
    due_at = run.seed_due(SUBSCRIPTIONS)
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    deadline = time.monotonic() + DEADLINE_SECONDS
    worker = _worker(run, tmp_path, port, QUEUES)
    try:
        _wait_for(url, worker, deadline)
        before = _metrics(url)
        assert run.fan_out() == len(run.tenants)
        while run.due(due_at) or run.busy_jobs():
            assert time.monotonic() < deadline, "the run did not finish"
            assert worker.poll() is None, f"worker exited with {worker.returncode}"
            time.sleep(0.2)
        after = _metrics(url)
    finally:
        stop_workers([worker])

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    batches, invoices, succeeded, pending = run.conn.execute(
        text(
            "SELECT count(*), sum(invoices), sum(payments_succeeded), sum(payments_pending) "
            "FROM billing_batches"
        )
    ).one()
    assert invoices == SUBSCRIPTIONS * len(run.tenants)
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


def test_a_worker_whose_metrics_port_is_taken_says_so_and_stops(run: Run, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = _worker(run, tmp_path, port, ["billing"])
        try:
            assert worker.wait(timeout=60) == 1
        finally:
            stop_workers([worker])
    assert f"Cannot serve metrics on 127.0.0.1:{port}" in (tmp_path / "worker.log").read_text()


def _worker(run: Run, data_dir: Path, port: int, queues: Sequence[str]) -> subprocess.Popen[bytes]:
    return start_worker(
        run.owner_url,
        queues,
        data_dir,
        secret_key=SECRET_KEY,
        concurrency=2,
        env={"HISAAB_WORKER_METRICS_PORT": str(port)},
    )
