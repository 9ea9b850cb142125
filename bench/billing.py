"""`make bench` (billing run): how fast renewals are invoiced and paid, end to end, with real
worker processes, and whether that time grows linearly with the number of subscriptions.

Per N: a throwaway database, a few tenants with real catalogs (`tests/seeding.py`, through the
API), N customers with a sandbox card and a subscription whose period ends now (bulk-seeded, so
they are all due at once), then W `hisaab worker --queue billing --queue payments` processes.
The run is triggered like the scheduler would (`billing.service.fan_out`) and timed until no
subscription is due and no payment attempt that is due is still waiting. Rupee renewals of Indian
customers are charged 24 h after their invoice (RBI pre-debit notice), so they are counted as
"pending, due later", not waited for.

    python -m bench.billing [--n 10000,100000] [--million] [--workers 2] [--tenants 4]
    python -m bench.billing --in-process --n 2000   # one process, no queue (for profiling)

Batch latencies come from `billing_batches` (one row per committed batch). Figures, not
assertions: compare them across changes on the same machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection

from bench import cpu, machine
from hisaab import migrations
from hisaab.app import create_app
from hisaab.billing import service as billing
from hisaab.core import collector, secrets
from hisaab.core.tenancy import OPERATOR_SCOPE
from hisaab.db import Database
from hisaab.invoicing import notifications
from hisaab.jobs import queue, runtime
from hisaab.jobs import tasks as _tasks  # noqa: F401 - registers the due work with the scheduler
from hisaab.observability import configure_logging
from hisaab.settings import Settings, database_urls
from tests import seeding
from tests.databases import cluster_url, create_database, drop_database, libpq, owner_connection
from tests.workers import start_worker, stop_workers

TOKEN = "op_bench_" + "x" * 32
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Scratch:
    """A migrated throwaway database, the app over it, and its seeded tenants."""

    name: str
    owner_url: URL
    app_url: URL
    database: Database
    tenants: list[seeding.SeededTenant]


@dataclass(frozen=True)
class RunResult:
    n: int
    seconds: float


def _parse_counts(value: str) -> list[int]:
    """`10000,100000` or `10k,100k,1M`."""
    counts = []
    for raw in value.split(","):
        part = raw.strip().lower()
        scale = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        counts.append(int(float(part.rstrip("km")) * scale))
    return counts


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.billing", description=__doc__)
    parser.add_argument("--n", type=_parse_counts, default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="also N = 1,000,000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1, help="jobs at once per worker")
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument(
        "--in-process", action="store_true", help="bill in this process, without workers"
    )
    return parser.parse_args(argv)


# --- the scratch database -------------------------------------------------------------------


@contextmanager
def _scratch(cluster: str, tenants: int) -> Iterator[Scratch]:
    name = f"hisaab_bench_billing_{os.getpid()}"
    owner = create_database(cluster, name)
    database = None
    try:
        owner_url, app_url = database_urls(owner.render_as_string(False), Settings())
        migrations.upgrade(owner_url, app_url)
        database = Database.connect(app_url)
        runtime.configure(database)
        queue.configure(libpq(app_url))
        app = create_app(database, TOKEN)
        yield Scratch(name, owner_url, app_url, database, seeding.seed_tenants(app, TOKEN, tenants))
    finally:
        if database is not None:
            database.dispose()
        drop_database(cluster, name)


def _seed(scratch: Scratch, n: int, due_at: datetime) -> None:
    """N subscriptions due at `due_at`, split evenly over the tenants."""
    started = time.perf_counter()
    share, extra = divmod(n, len(scratch.tenants))
    for index, tenant in enumerate(scratch.tenants):
        count = share + (1 if index < extra else 0)
        seeding.seed_subscriptions(scratch.owner_url, tenant.id, count, due_at=due_at)
    elapsed = time.perf_counter() - started
    print(f"  seeded {n:,} subscriptions in {elapsed:.1f} s ({n / elapsed:,.0f}/s)")


# --- what the database says ----------------------------------------------------------------


def _outstanding(conn: Connection, tenant_ids: list[str], due_at: datetime) -> tuple[bool, bool]:
    """Whether a subscription is still due, and a payment attempt due by now has not run.

    Asked four times a second while the workers run, on the same cores, so it must cost next to
    nothing: each tenant's due subscriptions, and the due tries, are looked up as the billing run
    looks them up (their indexes, first row only); counting every due subscription instead cost
    PostgreSQL ~25 ms a poll at N = 100k, 15 s of its CPU over the run."""
    row = conn.execute(
        text(
            """
            SELECT EXISTS (SELECT FROM unnest(CAST(:tenants AS text[])) AS t(id)
                           WHERE EXISTS (SELECT FROM subscriptions
                                         WHERE tenant_id = t.id AND test_clock_id IS NULL
                                         AND next_action_at <= :due)),
                   EXISTS (SELECT FROM payment_attempts
                           WHERE status = 'scheduled' AND test_clock_id IS NULL
                           AND scheduled_at <= now())
            """
        ),
        {"tenants": tenant_ids, "due": due_at},
    ).one()
    conn.rollback()  # a fresh snapshot on the next poll
    return bool(row[0]), bool(row[1])


def _report_outcome(conn: Connection, started_at: datetime, seconds: float) -> None:
    invoices, last_paid = conn.execute(
        text(
            "SELECT count(*), max(paid_at) FROM invoices "
            "WHERE billing_reason = 'subscription_cycle' AND created_at >= :t"
        ),
        {"t": started_at},
    ).one()
    payments = conn.execute(
        text(
            "SELECT CASE WHEN status = 'scheduled' AND scheduled_at > now() "
            "THEN 'pending, due later' ELSE status END, count(*) "
            "FROM payment_attempts GROUP BY 1 ORDER BY 1"
        )
    ).all()
    to_last_paid = (last_paid - started_at).total_seconds() if last_paid else None
    print(f"  invoices created       {invoices:,}")
    print(f"  payments by outcome    {', '.join(f'{s} {c:,}' for s, c in payments) or 'none'}")
    print(f"  done after             {seconds:.1f} s (polled every {POLL_SECONDS} s)")
    if to_last_paid is not None:
        print(f"  last invoice paid at   +{to_last_paid:.1f} s")
    print(f"  subscriptions billed/s {invoices / seconds:,.0f} (trigger to done)")


def _percentiles(values: list[float]) -> list[float]:
    """Cut points 1..99; "inclusive", so that few batches never give a p99 above the maximum."""
    if len(values) < 2:
        return values * 99
    return statistics.quantiles(values, n=100, method="inclusive")


def _report_batches(conn: Connection) -> None:
    rows = conn.execute(
        text(
            "SELECT extract(epoch FROM finished_at - started_at) * 1000, subscriptions, "
            "max_lag_ms, worker FROM billing_batches"
        )
    ).all()
    if not rows:
        print("  batches                none recorded in billing_batches")
        return
    latencies = sorted(float(r[0]) for r in rows)
    cuts = _percentiles(latencies)
    per_worker: dict[str, int] = {}
    for row in rows:
        per_worker[row[3]] = per_worker.get(row[3], 0) + 1
    print(
        f"  batches                {len(rows):,} of {sum(r[1] for r in rows) / len(rows):,.0f} "
        f"subscriptions on average; by worker {per_worker}"
    )
    print(
        f"  batch latency          p50 {cuts[49]:,.0f} ms  p99 {cuts[98]:,.0f} ms  "
        f"max {latencies[-1]:,.0f} ms; max lag {max(r[2] for r in rows):,} ms"
    )


# --- CPU ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuReading:
    """CPU seconds so far of the billing processes and of the PostgreSQL backends serving the
    scratch database, by pid: what a run costs whatever else the machine is doing (wall-clock
    figures are only meaningful on a quiet machine; these are meaningful on any)."""

    billing: dict[int, float]
    postgres: dict[int, float]


def _read_cpu(scratch: Scratch, billing_pids: list[int]) -> CpuReading:
    with owner_connection(scratch.owner_url) as conn:
        backends = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": scratch.name},
        ).scalars()
        return CpuReading(cpu.used(billing_pids), cpu.used(backends))


def _report_cpu(before: CpuReading, after: CpuReading, n: int) -> None:
    """A backend that started during the run counts whole; one that ended during it is lost
    (the pools keep theirs open, so none should)."""
    billing_ms = cpu.spent(before.billing, after.billing) * 1000 / n
    postgres_ms = cpu.spent(before.postgres, after.postgres) * 1000 / n
    print(
        f"  CPU per subscription   {billing_ms:.2f} ms billing + {postgres_ms:.2f} ms PostgreSQL"
        f" (2 cores: at most {2000 / (billing_ms + postgres_ms):,.0f}/s)"
    )


# --- workers -------------------------------------------------------------------------------


def _start_workers(
    scratch: Scratch, args: argparse.Namespace, queues: list[str], data_dir: Path
) -> list[Any]:
    """Real `hisaab worker` processes; each logs to its own folder of `data_dir`."""
    return [
        start_worker(
            scratch.owner_url,
            queues,
            data_dir / f"worker-{index}",
            secret_key=SECRET_KEY,
            concurrency=args.concurrency,
        )
        for index in range(args.workers)
    ]


def _wait_ready(scratch: Scratch, workers: list[Any], timeout: float = 60.0) -> None:
    """Until every worker has registered itself with the queue (procrastinate_workers)."""
    deadline = time.monotonic() + timeout
    with owner_connection(scratch.owner_url) as conn:
        while time.monotonic() < deadline:
            _check_alive(workers)
            ready = conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one()
            conn.rollback()
            if ready >= len(workers):
                return
            time.sleep(POLL_SECONDS)
    raise SystemExit("workers did not start in time")


def _check_alive(workers: list[Any]) -> None:
    for worker in workers:
        if worker.poll() is not None:
            raise SystemExit(f"worker {worker.pid} exited with {worker.returncode}")


def _peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), from Linux's /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _stop_workers(started: list[Any]) -> None:
    peaks = [_peak_rss_mib(w.pid) for w in started]
    print(
        "  peak RSS per worker    "
        + ", ".join(f"{p:,.0f} MiB" if p is not None else "?" for p in peaks)
    )
    stop_workers(started, timeout=20)


# --- one run -------------------------------------------------------------------------------


QUEUES = ["billing", "payments"]


def _fan_out(scratch: Scratch) -> None:
    """The billing run, as the scheduler tick starts it: one `bill_tenant` job per tenant (in
    the operator scope, which reads every tenant); those with work call in the rest."""
    with scratch.database.transaction(OPERATOR_SCOPE) as session:
        jobs = billing.fan_out(session)
    print(f"  fan-out enqueued       {jobs} jobs")


def _wait_done(scratch: Scratch, workers: list[Any], due_at: datetime, n: int) -> float:
    """Seconds from now until nothing is due; bounded, so a stuck run ends the benchmark."""
    started = time.perf_counter()
    deadline = started + max(600.0, n / 50)
    with owner_connection(scratch.owner_url) as conn:
        while time.perf_counter() < deadline:
            due, payable = _outstanding(conn, [t.id for t in scratch.tenants], due_at)
            if not due and not payable:
                return time.perf_counter() - started
            _check_alive(workers)
            time.sleep(POLL_SECONDS)
    raise SystemExit(f"run not done after {deadline - started:.0f} s")


def run_workers(cluster: str, n: int, args: argparse.Namespace) -> RunResult:
    print(f"N = {n:,} ({args.tenants} tenants, {args.workers} workers of {args.concurrency} jobs)")
    with _scratch(cluster, args.tenants) as scratch:
        due_at = datetime.now(UTC)
        _seed(scratch, n, due_at)
        data_dir = Path(tempfile.mkdtemp(prefix="hisaab-bench-"))
        workers = _start_workers(scratch, args, QUEUES, data_dir)
        try:
            _wait_ready(scratch, workers)
            pids = [worker.pid for worker in workers]
            cpu_before = _read_cpu(scratch, pids)
            started_at = datetime.now(UTC)
            _fan_out(scratch)
            seconds = _wait_done(scratch, workers, due_at, n)
            _report_cpu(cpu_before, _read_cpu(scratch, pids), n)
        finally:
            _stop_workers(workers)
            shutil.rmtree(data_dir, ignore_errors=True)
        with owner_connection(scratch.owner_url) as conn:
            _report_outcome(conn, started_at, seconds)
            _report_batches(conn)
    return RunResult(n, seconds)


def run_in_process(cluster: str, n: int, args: argparse.Namespace) -> RunResult:
    """The billing run in this process, tenant after tenant, no queue: what one worker does
    without job overhead (for profiling)."""
    print(f"N = {n:,} in process ({args.tenants} tenants)")
    with _scratch(cluster, args.tenants) as scratch:
        due_at = datetime.now(UTC)
        _seed(scratch, n, due_at)
        collector.tune()  # as `hisaab worker` does
        notifications.install()  # as it does too: renewals send invoice emails
        cpu_before = _read_cpu(scratch, [os.getpid()])
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        for tenant in scratch.tenants:
            billing.run_tenant(scratch.database, tenant.id, 0)
        seconds = time.perf_counter() - started
        _report_cpu(cpu_before, _read_cpu(scratch, [os.getpid()]), n)
        with owner_connection(scratch.owner_url) as conn:
            _report_outcome(conn, started_at, seconds)
            _report_batches(conn)
    return RunResult(n, seconds)


def _report_linearity(results: list[RunResult]) -> None:
    for small, large in itertools.pairwise(results):
        ratio = large.seconds / small.seconds
        print(
            f"time({large.n:,}) / time({small.n:,}) = {ratio:.2f} (linear: {large.n / small.n:.2f})"
        )


SECRET_KEY = secrets.new_key()


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    print(machine.describe())
    configure_logging("warning")
    secrets.configure([SECRET_KEY])
    counts = [*args.n, *([1_000_000] if args.million else [])]
    cluster = cluster_url()
    run = run_in_process if args.in_process else run_workers
    results = []
    for n in counts:
        results.append(run(cluster, n, args))
        print()
    _report_linearity(results)


if __name__ == "__main__":
    main(sys.argv[1:])
