"""A billing run survives a worker killed mid-run (SIGKILL): after the restart every due
subscription is billed exactly once (billing-run issue, "Done when").

A throwaway database, two tenants with real catalogs (an Indian one with LUT and a German one),
a few thousand subscriptions due now (bulk-seeded), and one real `hisaab worker --queue billing
--queue payments` process. The run is triggered as the scheduler tick does (`fan_out`); the
worker is killed while batches are in flight, in one of two moments:

- `issuing`: as soon as a batch has committed, so the next ones are in their first transaction
  (claim, invoices, numbers, ledger): they must roll back whole;
- `charging`: while a batch's invoices are committed but its tries not yet sent or not yet
  committed (second transaction): those tries must stay `scheduled`, and the sweep must send
  them once.

Then, as operations would: the jobs the dead worker held are put back in the queue, the tick
fans out again, two fresh workers start, and the scheduler's sweep (which takes tries stranded
for two minutes) runs once, its two minutes simulated. Then every invariant of "exactly once" is
checked in the database (tests/billing/invariants.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from hisaab.billing import service as billing
from hisaab.jobs import tasks as _tasks  # noqa: F401 - registers the due work with the scheduler
from hisaab.payments import service as payments
from tests.billing import invariants
from tests.billing.scratch import QUEUES, Run
from tests.conftest import SECRET_KEY
from tests.workers import replay_stalled_jobs, start_worker, stop_workers

SUBSCRIPTIONS = 2_000
DEADLINE_SECONDS = 120
pytestmark = pytest.mark.xdist_group("billing_kill")


def _worker(run: Run, data_dir: Path, concurrency: int) -> subprocess.Popen[bytes]:
    return start_worker(
        run.owner_url, QUEUES, data_dir, secret_key=SECRET_KEY, concurrency=concurrency
    )


def _alive(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        assert worker.poll() is None, f"worker {worker.pid} exited with {worker.returncode}"


def _batch_failures(logs: Path) -> list[str]:
    """The last line of each `subscription_batch_failed` traceback the workers logged."""
    found = []
    for path in sorted(logs.glob("*/worker.log")):
        for line in path.read_text(errors="replace").splitlines():
            if "subscription_batch_failed" in line:
                exception = json.loads(line).get("exception", "")
                found.append(f"{path.parent.name}: {exception.strip().splitlines()[-1]}")
    return found


def _kill_mid_run(run: Run, moment: str, data_dir: Path, deadline: float) -> dict[str, Any]:
    """Start the run on one worker (two jobs at once: when one batch commits, another is in
    flight and more wait) and SIGKILL it at `moment`: a batch has committed (its job goes
    straight on to the next), or a batch's invoices are committed and their tries wait to be
    charged. What the database showed right after."""
    victim = _worker(run, data_dir, 2)
    try:
        assert run.fan_out() == len(run.tenants)
        while time.monotonic() < deadline:
            _alive([victim])
            if moment == "issuing" and run.batches() >= 1:
                break
            if moment == "charging" and run.uncharged() > 0:
                break
            time.sleep(0.02)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    return {"batches": run.batches(), "uncharged": run.uncharged()}


def _restart(run: Run, due_at: datetime, data_dir: Path, deadline: float) -> int:
    """Replay the dead worker's jobs, fan out as the next tick would, and let two fresh workers
    bill until nothing is due and no job waits; how many jobs were replayed."""
    replayed = replay_stalled_jobs(run.app_url, QUEUES)
    run.fan_out()
    workers = [_worker(run, data_dir / name, 2) for name in ("a", "b")]
    try:
        while run.due(due_at) > 0 or run.busy_jobs() > 0:
            assert time.monotonic() < deadline, f"{run.due(due_at)} subscriptions still due"
            _alive(workers)
            if run.busy_jobs() == 0:
                # Rows a dead connection still held were skipped: the next tick takes them.
                run.fan_out()
            time.sleep(0.1)
    finally:
        stop_workers(workers)
    return replayed


def _sweep(run: Run, monkeypatch: pytest.MonkeyPatch) -> int:
    """The scheduler's sweep sends tries a crash left `scheduled` two minutes later: here at
    once (nothing else happens in those two minutes), inside billing batches as in a job. How
    many tries it found."""
    stranded = run.uncharged()
    monkeypatch.setattr(payments, "SWEEP_GRACE", timedelta(0))
    for tenant_id in run.tenants:
        while billing.run_batch(run.database, tenant_id):
            pass
    assert run.uncharged() == 0, "every try due has been sent"
    return stranded


@pytest.mark.parametrize("moment", ["issuing", "charging"])
def test_worker_killed_mid_run_bills_every_subscription_exactly_once(
    run: Run, moment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share = SUBSCRIPTIONS // len(run.tenants)
    due_at, total = run.seed_due(share), share * len(run.tenants)
    started = time.monotonic()
    deadline = started + DEADLINE_SECONDS
    at_kill = _kill_mid_run(run, moment, tmp_path / "victim", deadline)
    killed_at, due_at_kill = time.monotonic() - started, run.due(due_at)
    assert 0 < due_at_kill < total, "killed mid-run, with subscriptions billed and due"
    replayed = _restart(run, due_at, tmp_path, deadline)
    finished_at = time.monotonic() - started
    stranded = _sweep(run, monkeypatch)

    outcome = invariants.renewals(run.conn, run.tenants, due_at, datetime.now(UTC))
    problems = [
        *outcome.problems,
        *invariants.numbering(run.conn, run.tenants),
        *invariants.events(run.conn, run.tenants),
        *invariants.numbers_told(run.conn, run.tenants),
        *invariants.ledger(run.conn, run.tenants),
    ]
    unsettled = run.scalar(
        "SELECT count(*) FROM payment_attempts WHERE status NOT IN ('succeeded', 'scheduled')"
    )
    failed_jobs = run.scalar("SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'")
    recorded, lost = run.conn.execute(
        text(
            "SELECT coalesce(sum(invoices), 0), "
            "count(*) FILTER (WHERE invoices <> subscriptions) FROM billing_batches"
        )
    ).one()
    print(
        f"\nkill while {moment}: {total:,} subscriptions; killed at {killed_at:.1f} s after "
        f"{at_kill['batches']} batches, {due_at_kill:,} due, {at_kill['uncharged']} tries "
        f"uncharged; {replayed} jobs replayed; all billed at {finished_at:.1f} s; "
        f"{stranded} tries swept; {outcome.paid:,} paid, {outcome.pre_debit_scheduled:,} "
        f"waiting for the pre-debit notice; batches recorded {recorded:,} invoices"
    )
    assert problems == [], problems[:20]
    assert outcome.subscriptions == total
    assert outcome.invoices == total
    assert outcome.paid + outcome.pre_debit_scheduled == total
    assert outcome.paid > 0 and outcome.pre_debit_scheduled > 0
    assert unsettled == 0, "no try failed, or was left waiting for its outcome"
    assert failed_jobs == 0, "no job failed"
    assert recorded <= total, "no batch recorded more invoices than there are"
    # Each seeded subscription renews into one invoice, so a batch's record counts as many
    # invoices as subscriptions; fewer means the batch fell back to one subscription at a time
    # (its bulk path raised), which bills correctly but slowly and records no invoices.
    assert lost == 0, (
        f"{lost} batches recorded fewer invoices than subscriptions; the workers logged: "
        f"{_batch_failures(tmp_path)}"
    )
