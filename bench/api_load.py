"""API load benchmark: the real server (`hisaab api`) driven over loopback by a separate process.

Phases, each with a fixed number of requests and a fixed number of requests in flight:
POST /v1/customers, POST /v1/customers/{id}/payment_methods (sandbox `pm_card_visa`),
POST /v1/subscriptions (first invoice finalized and charged in the request) and
GET /v1/invoices/{id}. Prints requests/s, p50/p99 latency, errors, the load (requests in flight,
API processes, the machine's load average), and where the CPU went (API processes, the
PostgreSQL backends serving the benchmark's database, the rest of the machine, the load generator
itself), for 1 and 2 API processes.

The load generator is a small asyncio HTTP/1.1 client on raw streams with keep-alive
connections, its requests encoded before the clock starts, so that it takes little of the CPU it
shares with the server; its own CPU use is measured and printed.

    python -m bench.api_load [--workers 1,2] [--concurrency 16] [--read-concurrency N]
                             [--scale 1.0] [--tenants 1] [--only customers]

`--only customers` measures the customers phase alone (after its warm-up), for a quick A/B of
that one route.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from bench import cpu, machine
from hisaab import migrations
from hisaab.settings import Settings, database_urls
from tests.databases import cluster_url, create_database, drop_database, libpq

TOKEN = "op_bench_" + "x" * 32
TENANT = {"name": "Load Bench Pvt Ltd", "country": "IN", "state": "KA", "base_currency": "INR"}
PLAN = {
    "code": "pro",
    "name": "Pro",
    "interval": "month",
    "prices": [{"currency": "INR", "unit_amount": 200000}],
}
# Requests per phase at --scale 1: about ten seconds each at the rates issue 6 asks for.
CUSTOMERS = 10_000
SUBSCRIPTIONS = 3_000
INVOICE_READS = 10_000
WARM_UP = 300

# Method, path, JSON body (None: no body), and which tenant key sends it (an index).
Request = tuple[str, str, Any, int]


# --- the load generator (runs in its own process: `python -m bench.api_load --drive`) -------


def _encode(host: str, port: int, tokens: list[str], request: Request) -> bytes:
    method, path, body, tenant = request
    token = tokens[tenant]
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\n"
    )
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    return (head + "\r\n").encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    keep = True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
        elif name == "transfer-encoding":
            raise RuntimeError("chunked responses are not supported by this load generator")
    body = await reader.readexactly(length) if length else b""
    return status, body, keep


def _server_cpu(postmaster: psutil.Process | None) -> dict[int, float]:
    """CPU seconds of each process of the PostgreSQL server (backends and its own workers)."""
    if postmaster is None:
        return {}
    try:
        return cpu.used(postmaster.children())
    except psutil.NoSuchProcess:
        return {}


def _busy() -> float:
    """CPU seconds the whole machine has spent outside idle."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


async def _run(spec: dict[str, Any]) -> dict[str, Any]:
    host, port, tokens = spec["host"], spec["port"], spec["tokens"]
    encoded = [_encode(host, port, tokens, tuple(r)) for r in spec["requests"]]  # type: ignore[arg-type]
    count = len(encoded)
    latencies = [0.0] * count
    statuses = [0] * count
    bodies: list[str | None] = [None] * count
    keep_bodies = spec["keep_bodies"]
    next_index = 0

    async def connection() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next_index < count:
                i = next_index
                next_index += 1
                started = time.perf_counter()
                writer.write(encoded[i])
                status, body, keep = await _read_response(reader)
                latencies[i] = (time.perf_counter() - started) * 1000
                statuses[i] = status
                if keep_bodies or status >= 400:
                    bodies[i] = body.decode()
                if not keep:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    api = [psutil.Process(pid) for pid in spec["api_pids"]]
    postmaster = psutil.Process(spec["postmaster_pid"]) if spec["postmaster_pid"] else None
    api_before, postgres_before, busy_before = cpu.used(api), _server_cpu(postmaster), _busy()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(min(spec["concurrency"], count))))
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    api_after, postgres_after, busy_after = cpu.used(api), _server_cpu(postmaster), _busy()
    loadgen_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
    )
    api_cpu = cpu.spent(api_before, api_after)
    postgres_cpu = cpu.spent(postgres_before, postgres_after)
    return {
        "elapsed": elapsed,
        "cpu_seconds": loadgen_cpu,
        "api_cpu_seconds": api_cpu,
        # The whole server: every backend (those the API's pool opens during the phase too) and
        # its own processes (WAL writer, checkpointer, autovacuum); what else runs on the
        # machine is "other".
        "postgres_cpu_seconds": postgres_cpu,
        "other_cpu_seconds": busy_after - busy_before - api_cpu - postgres_cpu - loadgen_cpu,
        "latencies_ms": latencies,
        "statuses": statuses,
        "bodies": bodies,
    }


def drive() -> None:
    spec = json.load(sys.stdin)
    json.dump(asyncio.run(_run(spec)), sys.stdout)


# --- the benchmark -----------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    count: int
    tenants: list[int]
    elapsed: float
    latencies: list[float]
    statuses: list[int]
    bodies: list[str | None]
    concurrency: int
    load_average: float
    loadgen_cpu: float
    api_cpu: float
    postgres_cpu: float
    other_cpu: float

    @property
    def errors(self) -> int:
        return sum(1 for s in self.statuses if not 200 <= s < 300)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self) -> str:
        rate = self.count / self.elapsed

        def share(seconds: float) -> str:
            return f"{seconds / self.elapsed:.2f} ({seconds * 1000 / self.count:.1f} ms/req)"

        return (
            f"{self.label:<38} {rate:7.0f} req/s  p50 {self.percentile(0.50):6.1f} ms  "
            f"p99 {self.percentile(0.99):6.1f} ms  errors {self.errors:<4} "
            f"in flight {self.concurrency:<3} load avg {self.load_average:5.2f}  "
            f"CPU cores: api {share(self.api_cpu)}, postgres {share(self.postgres_cpu)}, "
            f"other {self.other_cpu / self.elapsed:.2f}, "
            f"loadgen {self.loadgen_cpu / self.elapsed:.2f}"
        )


class Server:
    """`hisaab api --workers N` as a subprocess on a free loopback port."""

    def __init__(self, owner_url: str, workers: int, data_dir: Path) -> None:
        self.port = _free_port()
        self.workers = workers
        self.owner_url = owner_url
        env = {
            **os.environ,
            "HISAAB_DATABASE_URL": owner_url,
            "HISAAB_ADMIN_TOKEN": TOKEN,
            "HISAAB_HOST": "127.0.0.1",
            "HISAAB_PORT": str(self.port),
            "HISAAB_DATA_DIR": str(data_dir),
            "HISAAB_API_WORKERS": str(workers),
        }
        executable = Path(sys.executable).parent / "hisaab"
        self.log = open(data_dir / f"api-{workers}.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own entry point
            [str(executable), "api"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"hisaab api exited with {self.process.returncode}: see {self.log.name}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("hisaab api did not start within 60 s")
            time.sleep(0.1)
        # The parent, then the serving processes once all of them have forked.
        while len(self.processes()) < workers + (1 if workers > 1 else 0):
            time.sleep(0.05)

    def processes(self) -> list[psutil.Process]:
        parent = psutil.Process(self.process.pid)
        return [parent, *parent.children(recursive=True)]

    def postmaster(self) -> int | None:
        """The PostgreSQL server's main process (the parent of every backend), if it runs on
        this machine."""
        with psycopg.connect(self.owner_url, autocommit=True) as connection:
            (backend,) = connection.execute("SELECT pg_backend_pid()").fetchone() or (None,)
            try:
                return psutil.Process(int(backend)).ppid() if backend else None
            except psutil.NoSuchProcess:
                return None

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _phase(
    label: str,
    server: Server,
    secrets: list[str],
    requests: list[Request],
    concurrency: int,
    *,
    keep_bodies: bool = False,
) -> Result:
    spec = {
        "host": "127.0.0.1",
        "port": server.port,
        "tokens": secrets,
        "concurrency": concurrency,
        "requests": requests,
        "keep_bodies": keep_bodies,
        "api_pids": [p.pid for p in server.processes()],
        "postmaster_pid": server.postmaster(),
    }
    load_average = os.getloadavg()[0]
    done = subprocess.run(
        [sys.executable, "-m", "bench.api_load", "--drive"],
        input=json.dumps(spec).encode(),
        capture_output=True,
        check=True,
    )
    out = json.loads(done.stdout)
    return Result(
        label=label,
        count=len(requests),
        tenants=[r[3] for r in requests],
        elapsed=out["elapsed"],
        latencies=out["latencies_ms"],
        statuses=out["statuses"],
        bodies=out["bodies"],
        concurrency=min(concurrency, len(requests)),
        load_average=load_average,
        loadgen_cpu=out["cpu_seconds"],
        api_cpu=out["api_cpu_seconds"],
        postgres_cpu=out["postgres_cpu_seconds"],
        other_cpu=out["other_cpu_seconds"],
    )


def _report(result: Result) -> Result:
    print(result.line(), flush=True)
    for status, body in zip(result.statuses, result.bodies, strict=True):
        if not 200 <= status < 300:
            print(f"    first error: {status} {body}", flush=True)
            break
    return result


def _customers(start: int, count: int, tenants: int) -> list[Request]:
    return [
        (
            "POST",
            "/v1/customers",
            {
                "name": f"Customer {i}",
                "email": f"c{i}@example.test",
                "country": "IN",
                "state": "MH",
            },
            i % tenants,
        )
        for i in range(start, start + count)
    ]


def _bodies(result: Result) -> list[tuple[int, dict[str, Any]]]:
    """(tenant, parsed body) of each successful request, in request order."""
    return [
        (tenant, json.loads(body))
        for tenant, body, status in zip(result.tenants, result.bodies, result.statuses, strict=True)
        if body and status < 300
    ]


def _setup_tenants(server: Server, tenants: int) -> tuple[list[str], list[str]]:
    """Tenants, each with a monthly INR plan: their keys and plan ids."""
    secrets, plans = [], []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for n in range(tenants):
            created = client.post(
                "/v1/tenants",
                json={**TENANT, "name": f"{TENANT['name']} {n}"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            created.raise_for_status()
            secret = created.json()["api_key"]["secret"]
            plan = client.post(
                "/v1/plans", json=PLAN, headers={"Authorization": f"Bearer {secret}"}
            )
            plan.raise_for_status()
            secrets.append(secret)
            plans.append(plan.json()["id"])
    return secrets, plans


def _check_subscriptions(server: Server, secrets: list[str], made: list[tuple[int, Any]]) -> None:
    """Every subscription active; a sample of first invoices paid in full."""
    inactive = sum(1 for _, s in made if s.get("status") != "active")
    sample = made[:: max(1, len(made) // 20)]
    unpaid = 0
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for tenant, subscription in sample:
            invoice = client.get(
                f"/v1/invoices/{subscription['latest_invoice_id']}",
                headers={"Authorization": f"Bearer {secrets[tenant]}"},
            ).json()
            unpaid += invoice["status"] != "paid" or invoice["amount_remaining"] != 0
    print(
        f"    {len(made)} subscriptions: {inactive} not active; "
        f"{len(sample)} sampled first invoices: {unpaid} not paid in full",
        flush=True,
    )


def run(
    owner_url: str,
    workers: int,
    concurrency: int,
    read_concurrency: int,
    scale: float,
    tenants: int,
    data_dir: Path,
    only: str | None = None,
) -> None:
    server = Server(owner_url, workers, data_dir)
    try:
        secrets, plans = _setup_tenants(server, tenants)
        how = "hisaab api" if workers == 1 else f"hisaab api --workers {workers}"
        print(
            f"\n{workers} API process(es) ({how}); load: {concurrency} keep-alive connections "
            f"({read_concurrency} for the invoice reads) with one request in flight each, from "
            f"one separate load-generator process; {tenants} tenant(s), requests spread evenly "
            "over them",
            flush=True,
        )
        _phase("(warm-up)", server, secrets, _customers(0, WARM_UP, tenants), concurrency)
        customers = _report(
            _phase(
                "POST /v1/customers",
                server,
                secrets,
                _customers(WARM_UP, int(CUSTOMERS * scale), tenants),
                concurrency,
                keep_bodies=True,
            )
        )
        if only == "customers":
            return
        payers = _bodies(customers)[: int(SUBSCRIPTIONS * scale)]
        method = {"gateway": "sandbox", "token": "pm_card_visa", "default": True}
        _report(
            _phase(
                "POST /v1/customers/{id}/payment_methods",
                server,
                secrets,
                [
                    ("POST", f"/v1/customers/{c['id']}/payment_methods", method, t)
                    for t, c in payers
                ],
                concurrency,
            )
        )
        subscriptions = _report(
            _phase(
                "POST /v1/subscriptions (charged)",
                server,
                secrets,
                [
                    ("POST", "/v1/subscriptions", {"customer_id": c["id"], "plan_id": plans[t]}, t)
                    for t, c in payers
                ],
                concurrency,
                keep_bodies=True,
            )
        )
        made = _bodies(subscriptions)
        _check_subscriptions(server, secrets, made)
        if made:
            reads = int(INVOICE_READS * scale)
            _report(
                _phase(
                    "GET /v1/invoices/{id}",
                    server,
                    secrets,
                    [
                        ("GET", f"/v1/invoices/{s['latest_invoice_id']}", None, t)
                        for t, s in (made[i % len(made)] for i in range(reads))
                    ],
                    read_concurrency,
                )
            )
    finally:
        server.stop()


@contextmanager
def _scratch_database() -> Iterator[str]:
    cluster = cluster_url()
    name = f"hisaab_api_load_{os.getpid()}"
    owner = create_database(cluster, name)
    try:
        owner_url, app_url = database_urls(owner.render_as_string(False), Settings())
        migrations.upgrade(owner_url, app_url)
        yield libpq(owner)
    finally:
        drop_database(cluster, name)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api_load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--workers", default="1,2", help="API process counts to measure (1,2)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (16)")
    parser.add_argument(
        "--read-concurrency",
        type=int,
        default=None,
        help="requests in flight for the invoice reads (default: --concurrency)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every phase's count")
    parser.add_argument("--tenants", type=int, default=1, help="tenants the load is spread over")
    parser.add_argument(
        "--only",
        choices=["customers"],
        default=None,
        help="run only this phase (after its warm-up); default: all phases",
    )
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    if args.drive:
        drive()
        return
    print(
        f"API load over loopback on {os.cpu_count()} cores (API, PostgreSQL and the load "
        "generator share them); a fresh database per run",
        flush=True,
    )
    print(machine.describe(), flush=True)
    for workers in (int(w) for w in args.workers.split(",")):
        with _scratch_database() as owner_url, tempfile.TemporaryDirectory() as data_dir:
            run(
                owner_url,
                workers,
                args.concurrency,
                args.read_concurrency or args.concurrency,
                args.scale,
                args.tenants,
                Path(data_dir),
                args.only,
            )


if __name__ == "__main__":
    main()
