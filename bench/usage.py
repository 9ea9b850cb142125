"""`make bench` (usage): ingestion of usage events through HTTP, and per-customer aggregation.

Ingestion: a real uvicorn server in a subprocess (`--workers` processes) against a throwaway
database, and a loopback httpx client with several connections posting batches of 1,000 events
(bodies serialized before the clock starts, so the figure is the server's). Aggregation: the table
seeded with `generate_series` (1M events by default, `--events 10M` for the issue's figure), then
`usage.service.aggregate_many` for random customer-months, timed one query at a time.

    python -m bench.usage [--events 10M] [--workers 2] [--connections 8] [--batches 300]
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


def _serve(app_url: URL, workers: int, gc_freeze: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "HISAAB_BENCH_APP_URL": app_url.render_as_string(hide_password=False)}
    if gc_freeze:
        env["HISAAB_BENCH_GC_FREEZE"] = "1"
    command = [
        sys.executable, "-m", "uvicorn", "bench.usage:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603 (our own command)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.terminate()
    raise SystemExit("the bench server did not start")


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
    base: str, secret: str, bodies: list[bytes], connections: int, expect: str
) -> tuple[float, list[float]]:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    pending = iter(bodies)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=120) as c:

        async def worker() -> None:
            for body in pending:
                t0 = time.perf_counter()
                response = await c.post("/v1/events", content=body)
                latencies.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 202 or response.json()[expect] != BATCH:
                    raise SystemExit(f"ingestion: {response.status_code} {response.text[:500]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return time.perf_counter() - started, latencies


def bench_ingestion(
    app_url: URL, workers: int, connections: int, batches: int, gc_freeze: bool
) -> str:
    server, base = _serve(app_url, workers, gc_freeze)
    try:
        secret, customers = _setup(base)
        warmup = _bodies(customers, 2 * connections, "warm")
        asyncio.run(_post_all(base, secret, warmup, connections, "accepted"))
        bodies = _bodies(customers, batches, "run")
        elapsed, latencies = asyncio.run(_post_all(base, secret, bodies, connections, "accepted"))
        cuts = statistics.quantiles(latencies, n=100)
        events = batches * BATCH
        print(
            f"ingest {events:,} new events, {workers} worker(s), {connections} connections, "
            f"gc.freeze {'on' if gc_freeze else 'off'}: "
            f"{events / elapsed:8,.0f} events/s  (batch p50 {cuts[49]:.0f} ms, "
            f"p99 {cuts[98]:.0f} ms)"
        )
        elapsed, _ = asyncio.run(_post_all(base, secret, bodies, connections, "duplicates"))
        print(f"resend the same {events:,} (all duplicates): {events / elapsed:8,.0f} events/s")
        return secret
    finally:
        server.terminate()
        server.wait(timeout=30)


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
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes (2)")
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
        bench_ingestion(app_url, args.workers, args.connections, args.batches, args.gc_freeze)
        bench_aggregation(owner_url, app_url, args.events, args.queries)
    finally:
        drop_database(cluster, name)


if __name__ == "__main__":
    main()
