"""`hisaab up | api | worker | migrate | openapi | ledger verify`: process wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import json
import os
import secrets
import signal
import socket
import sys
import traceback
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import prometheus_client
import structlog
import typer
import uvicorn
from sqlalchemy.engine import URL

from hisaab import migrations
from hisaab.app import create_app
from hisaab.core import collector
from hisaab.core import secrets as secret_store
from hisaab.db import Database, owner_engine
from hisaab.embedded import EmbeddedPostgres
from hisaab.invoicing import notifications
from hisaab.jobs import queue, runtime
from hisaab.ledger import verify as ledger_verify
from hisaab.mail import service as mail
from hisaab.observability import configure_logging
from hisaab.payments import links as payment_links
from hisaab.payments import service as payments
from hisaab.payments.gateways import registry as gateway_registry
from hisaab.settings import Settings, SettingsError, database_urls, load_settings
from hisaab.webhooks import delivery as webhook_delivery

cli = typer.Typer(
    help="Hisaab: self-hostable multi-tenant billing.", no_args_is_help=True, add_completion=False
)
HostOption = Annotated[str | None, typer.Option(help="Interface to listen on [env HISAAB_HOST].")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on [env HISAAB_PORT].")]
WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, max=64, help="API processes sharing the port [env HISAAB_API_WORKERS]."),
]


@dataclass
class Environment:
    settings: Settings
    owner_url: URL
    app_url: URL
    embedded: EmbeddedPostgres | None


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"hisaab: invalid configuration\n{exc}", err=True)
        raise typer.Exit(2) from None


@contextlib.contextmanager
def _environment() -> Iterator[Environment]:
    """Settings and database URLs; starts (and finally stops) the embedded PostgreSQL if needed."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    embedded = None
    owner = settings.database_url
    if owner is None:
        embedded = EmbeddedPostgres(settings.pgdata)
        owner = embedded.start()
    try:
        owner_url, app_url = database_urls(owner, settings)
        yield Environment(settings, owner_url, app_url, embedded)
    finally:
        if embedded is not None:
            embedded.stop()


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_token(settings: Settings) -> str:
    """HISAAB_ADMIN_TOKEN, else a token generated once and kept (mode 600) in the data dir."""
    if settings.admin_token:
        return settings.admin_token
    path = settings.data_dir / "admin_token"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    token = "op_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def _configure_secrets(settings: Settings) -> None:
    """HISAAB_SECRET_KEYS, else a key generated once and kept (mode 600) in the data dir: losing
    it makes stored gateway credentials unreadable, so it is never regenerated over a file."""
    if settings.secret_keys is not None:
        keys = settings.secret_keys.get_secret_value().split(",")
    else:
        path = settings.data_dir / "secret_key"
        if not path.exists():
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secret_store.new_key() + "\n")
        keys = [path.read_text().strip()]
    try:
        secret_store.configure(keys)
    except ValueError as exc:
        raise typer.BadParameter(f"HISAAB_SECRET_KEYS: {exc}") from None


def _configure_gateways(settings: Settings) -> None:
    gateway_registry.configure(
        gateway_registry.ApiBases(settings.stripe_api_base, settings.razorpay_api_base)
    )
    payment_links.configure(settings.public_url or f"http://{settings.host}:{settings.port}")


def _configure_public_url(settings: Settings, host: str, port: int) -> None:
    """The API process knows the address it really listens on (`--host`, `--port`)."""
    payment_links.configure(settings.public_url or f"http://{host}:{port}")


def _configure_mail(settings: Settings) -> None:
    """Both processes: the API records emails with the events that cause them, the worker
    sends them (SMTP, or .eml files in the data dir without HISAAB_SMTP_URL)."""
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    mail.configure(mail.mailer_from_settings(smtp_url, settings.mail_from, settings.data_dir))
    notifications.install()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it exists (not on Windows): the event loop's own work (reading and writing
    sockets, waking tasks, thread-pool results) costs a fraction of asyncio's, per request."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return None
    return uvloop.new_event_loop


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run the process's main coroutine on the fastest event loop available."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main)


def _http_protocol() -> Literal["httptools", "h11"]:
    """httptools (C) parses HTTP/1.1 where it is installed; h11 (pure Python) cost 6-9 % of an
    API process's CPU per request. uvicorn picks the same by itself; named here so a missing
    httptools is a choice made visible, not a silent slowdown."""
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `hisaab up` stops API and worker together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(
    env: Environment,
    host: str,
    port: int,
    with_worker: bool,
    sockets: list[socket.socket] | None = None,
) -> None:
    database = Database.connect(env.app_url, env.settings.db_pool_size)
    runtime.configure(database)
    _configure_secrets(env.settings)
    _configure_gateways(env.settings)
    _configure_public_url(env.settings, host, port)
    _configure_mail(env.settings)
    app = create_app(database, _admin_token(env.settings), env.settings.max_body_bytes)
    # Everything imported and built so far lives as long as the process: moving it out of the
    # collector's sight makes each collection cheaper (measured: +25-35 % usage ingestion).
    gc.collect()
    gc.freeze()
    server = _Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            http=_http_protocol(),
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    queue.configure(_libpq(env.app_url))
    job_app = queue.app
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with job_app.open_async():
            api_task = asyncio.create_task(server.serve(sockets), name="api")
            services = [api_task]
            if with_worker:
                worker = job_app.run_worker_async(
                    concurrency=env.settings.worker_concurrency, install_signal_handlers=False
                )
                services.append(asyncio.create_task(worker, name="worker"))
            helpers = [
                asyncio.create_task(_announce(server, host, port, env.settings), name="announce"),
                asyncio.create_task(stop.wait(), name="stop"),
            ]
            # Run until a signal arrives or a service ends by itself (which is a failure).
            await asyncio.wait([*services, helpers[1]], return_when=asyncio.FIRST_COMPLETED)
            server.should_exit = True  # uvicorn drains in-flight requests, then returns
            for task in [*services[1:], *helpers]:
                task.cancel()
            results = await asyncio.gather(*services, *helpers, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(
                    result, asyncio.CancelledError
                ):
                    raise result
    finally:
        database.dispose()


async def _announce(server: uvicorn.Server, host: str, port: int, settings: Settings) -> None:
    while not server.started:
        await asyncio.sleep(0.05)
    token = _admin_token(settings)
    print(f"Hisaab is running at http://{host}:{port}", flush=True)
    print(f"Operator token: {token}", flush=True)
    print(f"Emails go to: {mail.mailer().transport.describe()}", flush=True)
    print("Stop with Ctrl-C.", flush=True)


@cli.command()
def up(host: HostOption = None, port: PortOption = None) -> None:
    """Everything in one process: (embedded) PostgreSQL, migrations, API, worker, scheduler."""
    with _environment() as env:
        migrations.upgrade(env.owner_url, env.app_url)
        _run(_serve(env, host or env.settings.host, port or env.settings.port, with_worker=True))


@cli.command()
def api(host: HostOption = None, port: PortOption = None, workers: WorkersOption = None) -> None:
    """The HTTP API alone (run `hisaab worker` beside it)."""
    with _environment() as env:
        host = host or env.settings.host
        port = port or env.settings.port
        count = workers or env.settings.api_workers
        if count == 1:
            _run(_serve(env, host, port, with_worker=False))
        else:
            _serve_processes(env, host, port, count)


def _tcp_listener(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to host:port, not yet listening (the server listens on it).

    Made with the protocol said (uvicorn's own is made with protocol 0, which the connections
    accepted from it inherit; asyncio sets TCP_NODELAY only on sockets whose protocol says TCP,
    and without it every response, written as headers then body, waited for the client's
    delayed ACK: ~40 ms each). With `reuse_port`, other sockets of this user may bind the same
    port, and the kernel spreads new connections over those that listen.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        typer.echo(f"Cannot listen on {host}:{port}: {exc}", err=True)
        raise typer.Exit(1) from None
    sock.set_inheritable(True)
    return sock


def _serve_processes(env: Environment, host: str, port: int, count: int) -> None:
    """`count` API processes, each listening on a socket of its own on the same port.

    The kernel spreads new connections over the processes (SO_REUSEPORT); with one socket
    shared, the first process to wake accepted every connection of a burst, and a client's
    keep-alive connections then all stayed with one process. The socket bound here holds the
    port (it never listens, so no connection goes to it). Where SO_REUSEPORT does not exist
    the processes share this one socket. Each child opens its own connection pool after the
    fork (nothing connects before it); a signal here stops them all, and one child ending
    stops the others and fails the command.
    """
    _admin_token(env.settings)  # files the children would otherwise race to create
    _configure_secrets(env.settings)
    reuse_port = hasattr(socket, "SO_REUSEPORT")
    holder = _tcp_listener(host, port, reuse_port=reuse_port)
    port = holder.getsockname()[1]  # the port the kernel chose, if asked for port 0
    children: list[int] = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # the child serves until told to stop, then leaves without cleaning up
            code = 0
            try:
                listener = _tcp_listener(host, port, reuse_port=True) if reuse_port else holder
                _run(_serve(env, host, port, with_worker=False, sockets=[listener]))
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    if not reuse_port:
        holder.close()

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    failed = False
    while children:
        pid, status = os.wait()
        if pid in children:
            children.remove(pid)
            if os.waitstatus_to_exitcode(status) != 0 and not failed:
                failed = True
                forward(signal.SIGTERM, None)
    holder.close()
    if failed:
        raise typer.Exit(1)


QueuesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--queue",
        help="Only jobs of this queue (repeatable): billing, payments, webhooks, mail, usage, "
        "clocks, scheduler, maintenance (which also puts back the jobs of dead workers: some "
        "worker must serve it). Default: all.",
    ),
]


@cli.command()
def worker(queues: QueuesOption = None) -> None:
    """Job worker and scheduler: renewals, retries, webhooks, test-clock advances."""
    with _environment() as env:
        database = Database.connect(env.app_url, env.settings.db_pool_size)
        runtime.configure(database)
        _configure_secrets(env.settings)
        _configure_gateways(env.settings)
        _configure_mail(env.settings)
        webhook_delivery.install()  # the worker emits events too (renewals, clock advances)
        payments.install()  # renewals finalized by the worker are collected through gateways
        try:
            queue.configure(_libpq(env.app_url))
            if env.settings.worker_metrics_port is not None:
                _serve_metrics(env.settings.host, env.settings.worker_metrics_port)
            collector.tune()
            queue.app.run_worker(concurrency=env.settings.worker_concurrency, queues=queues)
        finally:
            database.dispose()


def _serve_metrics(host: str, port: int) -> None:
    """This worker's Prometheus metrics (the billing run's among them) at http://host:port/metrics,
    from a thread of their own: a worker has no API to serve them, and each process counts
    its own, so each worker is a scrape target (`hisaab up` serves them on the API's /metrics)."""
    try:
        prometheus_client.start_http_server(port, addr=host)
    except OSError as exc:
        typer.echo(f"Cannot serve metrics on {host}:{port}: {exc}", err=True)
        raise typer.Exit(1) from None
    structlog.get_logger("hisaab.worker").info(
        "worker_metrics_serving", url=f"http://{host}:{port}/metrics"
    )


@cli.command()
def migrate() -> None:
    """Apply pending migrations with the owner connection (creates the app role if missing)."""
    with _environment() as env:
        migrations.upgrade(env.owner_url, env.app_url)
        typer.echo(f"schema at revision {migrations.head_revision()}")


@cli.command()
def openapi(
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """Print the OpenAPI document (generated from the code)."""
    app = create_app(Database.connect(URL.create("postgresql+psycopg")), None)
    text = json.dumps(app.openapi(), indent=2, sort_keys=True)
    if output:
        output.write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")


ledger_cli = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
cli.add_typer(ledger_cli, name="ledger")


@ledger_cli.command("verify")
def verify_ledger(
    tenant: Annotated[
        list[str] | None, typer.Option(help="Only this tenant (repeatable); default all.")
    ] = None,
) -> None:
    """Check every ledger invariant as the owner; one line per violation, exit 1 if any."""
    with _environment() as env:
        engine = owner_engine(env.owner_url)
        try:
            with engine.connect() as connection:
                report = ledger_verify.run(connection, tenant or None)
        finally:
            engine.dispose()
    for violation in report.violations:
        typer.echo(str(violation))
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


def main() -> None:
    cli()
