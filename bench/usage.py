"""`make bench` (usage): ingestion of usage events through HTTP, and per-customer aggregation.

Ingestion: a real uvicorn server in a subprocess (`--workers` processes on one listening socket)
against a throwaway database, and a loopback httpx client with several connections posting
batches of 1,000 events (bodies serialized before the clock starts, so the figure is the
server's). The CPU each part used per batch (API processes, the PostgreSQL backends of the
bench's database, the client) is printed with the rate: on a shared machine it says more than the
rate. On one socket the kernel hands a burst of new keep-alive connections to whichever process
wakes first, often most of them to one; `--replicas` runs the processes as replicas on a port
each instead, the client spreading its connections evenly over them (as a load balancer in front
of N replicas would). Aggregation: the table seeded with `generate_series` (1M events by default,
`--events 10M` for the issue's figure), then `usage.service.aggregate_many` for random
customer-months, timed one query at a time.

    python -m bench.usage [--events 10M] [--workers 2] [--connections 8] [--batches 300]
                          [--replicas]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
from fastapi import FastAPI
from sqlalchemy.engine import URL, make_url

from hisaab import migrations
from hisaab.app import create_app
from hisaab.db import Database
from hisaab.observability import configure_logging
from hisaab.settings import Settings, database_urls
from hisaab.usage import service
from tests.databases import cluster_url, create_database, drop_database, libpq

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "op_bench_" + "x" * 32
TENANT = {"name": "Bench Usage Pvt Ltd", "country": "IN", "state": "KA", "base_currency": "INR"}
BATCH = 1_000
CUSTOMERS = 1_000
SEED_DAYS = 90


def app_factory() -> FastAPI:
    """What each uvicorn worker process serves (configured through the environment)."""
    configure_logging("warning")
    database = Database.connect(make_url(os.environ["HISAAB_BENCH_APP_URL"]), pool_size=8)
    app = create_app(database, TOKEN)
    if os.environ.get("HISAAB_BENCH_GC_FREEZE"):
        gc.collect()
        gc.freeze()  # what is loaded at start-up is never garbage: keep it out of collections
    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(app_url: URL, workers: int, gc_freeze: bool) -> tuple[subprocess.Popen[bytes], str]:
    """One uvicorn (with `workers` processes on one socket when more than one)."""
    port = _free_port()
    env = {**os.environ, "HISAAB_BENCH_APP_URL": app_url.render_as_string(hide_password=False)}
    if gc_freeze:
        env["HISAAB_BENCH_GC_FREEZE"] = "1"
    command = [
        sys.executable, "-m", "uvicorn", "bench.usage:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=ROOT), f"http://127.0.0.1:{port}"  # noqa: S603


def _wait_ready(servers: list[subprocess.Popen[bytes]], bases: list[str]) -> None:
    for base in bases:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            _stop(servers)
            raise SystemExit("the bench server did not start")


def _stop(servers: list[subprocess.Popen[bytes]]) -> None:
    for server in servers:
        server.terminate()
    for server in servers:
        server.wait(timeout=30)


def _serve(
    app_url: URL, workers: int, gc_freeze: bool, shared_socket: bool
) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    """The API processes and the base URLs the client spreads its connections over."""
    if shared_socket:
        server, base = _start(app_url, workers, gc_freeze)
        servers, bases = [server], [base]
    else:
        started = [_start(app_url, 1, gc_freeze) for _ in range(workers)]
        servers, bases = [s for s, _ in started], [b for _, b in started]
    _wait_ready(servers, bases)
    return servers, bases


def _api_processes(servers: list[subprocess.Popen[bytes]]) -> list[psutil.Process]:
    processes = []
    for server in servers:
        parent = psutil.Process(server.pid)
        processes.append(parent)
        processes.extend(parent.children(recursive=True))
    return processes


def _postgres_cpu(owner_url: URL) -> dict[int, float]:
    """CPU seconds so far of each backend serving the bench's database."""
    with psycopg.connect(libpq(owner_url), autocommit=True) as conn:
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        ]
    return {pid: _cpu([psutil.Process(pid)]) for pid in pids if psutil.pid_exists(pid)}


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _setup(base: str) -> tuple[str, list[str]]:
    """A tenant, two meters and customers, through the API; returns (api key, customer ids)."""
    operator = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"})
    created = operator.post("/v1/tenants", json=TENANT).json()
    secret = created["api_key"]["secret"]
    tenant = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"})
    for body in (
        {"code": "api_calls", "aggregation": "count"},
        {"code": "tokens", "aggregation": "sum", "field": "tokens"},
    ):
        assert tenant.post("/v1/meters", json=body).status_code == 201
    customers = []
    for i in range(100):
        body = {"name": f"C{i}", "email": f"c{i}@example.test", "country": "IN", "state": "KA"}
        customers.append(tenant.post("/v1/customers", json=body).json()["id"])
    return secret, customers


def _bodies(customers: list[str], batches: int, tag: str) -> list[bytes]:
    now = datetime.now(UTC)
    rng = random.Random(7)
    bodies = []
    for b in range(batches):
        events = []
        for i in range(BATCH):
            event: dict[str, Any] = {
                "id": f"{tag}-{b}-{i}",
                "customer_id": customers[rng.randrange(len(customers))],
                "meter": "api_calls",
                "timestamp": (now - timedelta(seconds=rng.randrange(86_400))).isoformat(),
                "properties": {"endpoint": "/v1/things", "region": "ap-south-1"},
            }
            if i % 2:
                event["meter"] = "tokens"
                event["properties"] = {"tokens": rng.randrange(1, 5_000), "model": "small"}
            events.append(event)
        bodies.append(json.dumps({"events": events}).encode())
    return bodies


async def _post_all(
    bases: list[str], secret: str, bodies: list[bytes], connections: int, expect: str
) -> tuple[float, list[float]]:
    """POST the bodies over `connections` keep-alive connections, spread evenly over `bases`."""
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    pending = iter(bodies)
    latencies: list[float] = []
    clients = []
    for i, base in enumerate(bases):
        share = connections // len(bases) + (i < connections % len(bases))
        limits = httpx.Limits(max_connections=share, max_keepalive_connections=share)
        clients.append(
            httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=120)
        )

    async def worker(client: httpx.AsyncClient) -> None:
        for body in pending:
            t0 = time.perf_counter()
            response = await client.post("/v1/events", content=body)
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 202 or response.json()[expect] != BATCH:
                raise SystemExit(f"ingestion: {response.status_code} {response.text[:500]}")

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(clients[i % len(clients)]) for i in range(connections)))
        return time.perf_counter() - started, latencies
    finally:
        for client in clients:
            await client.aclose()


def bench_ingestion(
    owner_url: URL,
    app_url: URL,
    workers: int,
    connections: int,
    batches: int,
    gc_freeze: bool,
    shared_socket: bool = True,
) -> str:
    servers, bases = _serve(app_url, workers, gc_freeze, shared_socket)
    try:
        secret, customers = _setup(bases[0])
        warmup = _bodies(customers, 2 * connections, "warm")
        asyncio.run(_post_all(bases, secret, warmup, connections, "accepted"))
        bodies = _bodies(customers, batches, "run")
        api = _api_processes(servers)
        api_before, postgres_before = _cpu(api), _postgres_cpu(owner_url)
        client_before = time.process_time()
        elapsed, latencies = asyncio.run(_post_all(bases, secret, bodies, connections, "accepted"))
        client_cpu = time.process_time() - client_before
        api_cpu = _cpu(api) - api_before
        # Backends opened during the run count from zero.
        postgres_after = _postgres_cpu(owner_url)
        postgres_cpu = sum(t - postgres_before.get(pid, 0.0) for pid, t in postgres_after.items())
        cuts = statistics.quantiles(latencies, n=100)
        events = batches * BATCH
        layout = "one shared socket" if shared_socket else "one port each"
        print(
            f"ingest {events:,} new events, {workers} API process(es) ({layout}), "
            f"{connections} connections, gc.freeze {'on' if gc_freeze else 'off'}: "
            f"{events / elapsed:8,.0f} events/s  (batch p50 {cuts[49]:.0f} ms, "
            f"p99 {cuts[98]:.0f} ms)"
        )
        print(
            f"  CPU ms per batch: API {api_cpu * 1000 / batches:.1f}, PostgreSQL backends "
            f"{postgres_cpu * 1000 / batches:.1f}, client {client_cpu * 1000 / batches:.1f}; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        elapsed, _ = asyncio.run(_post_all(bases, secret, bodies, connections, "duplicates"))
        print(f"resend the same {events:,} (all duplicates): {events / elapsed:8,.0f} events/s")
        return secret
    finally:
        _stop(servers)


def _seed(owner_url: URL, tenant_id: str, meters: dict[str, str], total: int) -> None:
    """`total` events over the last SEED_DAYS days for CUSTOMERS customers, half per meter."""
    now = datetime.now(UTC)
    start = now - timedelta(days=SEED_DAYS)
    chunk = 1_000_000
    with psycopg.connect(libpq(owner_url), autocommit=True) as conn:
        month = start.replace(day=1).date()
        while month <= now.date():
            conn.execute("SELECT usage_create_partition(%s)", (month,))
            month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        t0 = time.perf_counter()
        for first in range(0, total, chunk):
            conn.execute(
                """
                INSERT INTO usage_events (tenant_id, customer_id, meter_id, occurred_at, id,
                                          value, unique_value, properties, received_at)
                SELECT %(tenant)s, 'cus_seed' || (g %% %(customers)s),
                       CASE WHEN g %% 2 = 0 THEN %(calls)s ELSE %(tokens)s END,
                       %(start)s + (g::float8 / %(total)s) * make_interval(days => %(days)s),
                       'seed-' || g,
                       CASE WHEN g %% 2 = 1 THEN (g %% 5000)::numeric END, NULL,
                       '{}'::jsonb, now()
                FROM generate_series(%(first)s, %(last)s) AS g
                """,
                {
                    "tenant": tenant_id,
                    "customers": CUSTOMERS,
                    "calls": meters["api_calls"],
                    "tokens": meters["tokens"],
                    "start": start,
                    "total": total,
                    "days": SEED_DAYS,
                    "first": first,
                    "last": min(first + chunk, total) - 1,
                },
            )
            print(f"  seeded {min(first + chunk, total):>11,} events", flush=True)
        conn.execute("VACUUM (ANALYZE) usage_events")
        print(f"  seeding + vacuum took {time.perf_counter() - t0:.0f} s")


def bench_aggregation(owner_url: URL, app_url: URL, total: int, queries: int) -> None:
    database = Database.connect(app_url, pool_size=2)
    try:
        with psycopg.connect(libpq(owner_url)) as conn:
            (tenant_id,) = conn.execute(
                "SELECT id FROM tenants WHERE name = %s", (TENANT["name"],)
            ).fetchone()  # type: ignore[misc]
            meters = dict(
                conn.execute(
                    "SELECT code, id FROM meters WHERE tenant_id = %s", (tenant_id,)
                ).fetchall()
            )  # type: ignore[arg-type]
        print(f"seeding {total:,} events for {CUSTOMERS:,} customers over {SEED_DAYS} days")
        _seed(owner_url, tenant_id, meters, total)
        rng = random.Random(11)
        now = datetime.now(UTC)
        latencies: list[float] = []
        rows = 0
        for _ in range(queries):
            customer = f"cus_seed{rng.randrange(CUSTOMERS)}"
            start = (now - timedelta(days=rng.randrange(30, SEED_DAYS))).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            end = start + timedelta(days=30)
            with database.transaction(tenant_id) as session:
                t0 = time.perf_counter()
                values = service.aggregate_many(
                    session, tenant_id, customer, ["api_calls", "tokens"], start, end
                )
                latencies.append((time.perf_counter() - t0) * 1000)
            rows += int(values["api_calls"]) * 2
        cuts = statistics.quantiles(latencies, n=100)
        print(
            f"aggregate_many (count + sum) per customer-30-days over {total:,} stored events, "
            f"~{rows // queries:,} events each: p50 {cuts[49]:.2f} ms  p99 {cuts[98]:.2f} ms"
        )
    finally:
        database.dispose()


def parse_count(text: str) -> int:
    text = text.strip().upper()
    factor = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * factor)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.usage", description=__doc__)
    parser.add_argument("--events", type=parse_count, default=1_000_000, help="seeded (1M)")
    parser.add_argument("--workers", type=int, default=2, help="API processes (2)")
    parser.add_argument(
        "--replicas",
        action="store_true",
        help="N uvicorn processes on a port each, connections spread evenly over them, instead "
        "of one uvicorn --workers N on one socket",
    )
    parser.add_argument("--connections", type=int, default=8, help="client connections (8)")
    parser.add_argument("--batches", type=int, default=300, help="batches of 1,000 (300)")
    parser.add_argument("--queries", type=int, default=1_000, help="aggregations timed (1000)")
    parser.add_argument(
        "--gc-freeze",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="gc.freeze() in the server after start-up (on): the big start-up heap then stays "
        "out of garbage collections, which otherwise cost ingestion about a quarter",
    )
    args = parser.parse_args(argv)
    configure_logging("warning")
    cluster = cluster_url()
    name = f"hisaab_bench_usage_{os.getpid()}"
    owner = create_database(cluster, name)
    try:
        owner_url, app_url = database_urls(owner.render_as_string(False), Settings())
        migrations.upgrade(owner_url, app_url)
        print(
            f"usage: ingestion through HTTP (loopback, batches of {BATCH:,}), {os.cpu_count()} CPUs"
        )
        bench_ingestion(
            owner_url,
            app_url,
            args.workers,
            args.connections,
            args.batches,
            args.gc_freeze,
            shared_socket=not args.replicas,
        )
        bench_aggregation(owner_url, app_url, args.events, args.queries)
    finally:
        drop_database(cluster, name)


if __name__ == "__main__":
    main()
