"""`make bench`: figures for the request boundary (auth + RLS scope + transaction + audit), then
for usage events (bench/usage.py), then for the billing run (bench/billing.py).

Runs in-process against a throwaway database in the embedded PostgreSQL (or the server of
HISAAB_TEST_DATABASE_URL) and prints requests per second and latency percentiles. Figures, not
assertions: compare them across changes on the same machine.
"""

from __future__ import annotations

import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient

from bench import api_load, billing, usage
from hisaab import migrations
from hisaab.app import create_app
from hisaab.db import Database
from hisaab.observability import configure_logging
from hisaab.settings import Settings, database_urls
from tests.databases import cluster_url, create_database, drop_database

TOKEN = "op_bench_" + "x" * 32
TENANT = {"name": "Bench Pvt Ltd", "country": "IN", "state": "KA", "base_currency": "INR"}


def _measure(label: str, count: int, call: Callable[[int], httpx.Response], expect: int) -> None:
    latencies = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        response = call(i)
        latencies.append((time.perf_counter() - t0) * 1000)
        if response.status_code != expect:
            raise SystemExit(f"{label}: {response.status_code} {response.text}")
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    rate = count / elapsed
    print(f"{label:<44} {rate:8.0f} req/s  p50 {cuts[49]:6.2f} ms  p95 {cuts[94]:6.2f} ms")


def main() -> None:
    configure_logging("warning")
    cluster = cluster_url()
    name = f"hisaab_bench_{os.getpid()}"
    owner = create_database(cluster, name)
    try:
        owner_url, app_url = database_urls(owner.render_as_string(False), Settings())
        migrations.upgrade(owner_url, app_url)
        database = Database.connect(app_url)
        app = create_app(database, TOKEN)
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as operator:
            secret = operator.post("/v1/tenants", json=TENANT).json()["api_key"]["secret"]
            with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as tenant:
                print("single client, in-process (one request at a time)")
                _measure("GET /healthz (no database)", 2000, lambda _: tenant.get("/healthz"), 200)
                _measure(
                    "GET /v1/tenant (auth + scope + read)",
                    2000,
                    lambda _: tenant.get("/v1/tenant"),
                    200,
                )
                body = {"frozen_time": "2026-01-31T10:00:00Z"}
                _measure(
                    "POST /v1/test_clocks (write + audit)",
                    1000,
                    lambda _: tenant.post("/v1/test_clocks", json=body),
                    201,
                )
                _measure(
                    "POST /v1/test_clocks + Idempotency-Key",
                    1000,
                    lambda i: tenant.post(
                        "/v1/test_clocks", json=body, headers={"Idempotency-Key": f"k{i}"}
                    ),
                    201,
                )
                _measure(
                    "POST replay of a stored Idempotency-Key",
                    1000,
                    lambda i: tenant.post(
                        "/v1/test_clocks", json=body, headers={"Idempotency-Key": f"k{i}"}
                    ),
                    201,
                )
                _measure(
                    "GET /v1/test_clocks?limit=100",
                    500,
                    lambda _: tenant.get("/v1/test_clocks?limit=100"),
                    200,
                )
        database.dispose()
    finally:
        drop_database(cluster, name)
    print()
    # The real server driven over loopback (bench/api_load.py); its flags come from the
    # environment: `BENCH_API_LOAD_ARGS="--workers 2 --scale 0.2" make bench`.
    api_load.main(shlex.split(os.environ.get("BENCH_API_LOAD_ARGS", "")))


if __name__ == "__main__":
    main()
    print()
    # Usage ingestion and aggregation; flags go to it (`python -m bench --events 10M`).
    usage.main(sys.argv[1:])
    print()
    # The billing run. Its flags share names with usage's (--workers), so they come from the
    # environment: `make bench BILLING_ARGS="--n 10k --million"`.
    billing.main(shlex.split(os.environ.get("BENCH_BILLING_ARGS", "")))
