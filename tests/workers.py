"""Real `hisaab worker` processes for tests and benchmarks, and what tests that kill one do
afterwards, as operations would."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from procrastinate.exceptions import ConnectorException
from sqlalchemy.engine import URL

from hisaab.jobs import queue, tasks
from tests.databases import libpq

T = TypeVar("T")


def start_worker(
    owner_url: URL,
    queues: Sequence[str],
    data_dir: Path,
    *,
    secret_key: str,
    concurrency: int,
    env: Mapping[str, str] | None = None,
    heartbeat: Heartbeat | None = None,
) -> subprocess.Popen[bytes]:
    """A worker configured like production, through the environment (none of the caller's own
    HISAAB_* settings leak in); its output goes to `data_dir/worker.log`. `heartbeat` makes it
    beat faster than production, for tests of stalled-job recovery that cannot wait minutes."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HISAAB_")}
    environment.update(
        HISAAB_DATABASE_URL=owner_url.render_as_string(hide_password=False),
        HISAAB_SECRET_KEYS=secret_key,
        HISAAB_DATA_DIR=str(data_dir),
        HISAAB_WORKER_CONCURRENCY=str(concurrency),
        HISAAB_LOG_LEVEL="warning",
        **(env or {}),
    )
    command = [sys.executable, *_entry(heartbeat), "worker"]
    for name in queues:
        command += ["--queue", name]
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "worker.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)


@dataclass(frozen=True)
class Heartbeat:
    """A worker's beat and the silence after which recovery calls it dead (jobs.recovery)."""

    interval: float
    stalled_after: float


def _entry(heartbeat: Heartbeat | None) -> list[str]:
    """`python -m hisaab`, or the same CLI with the recovery's timings replaced before the job
    queue (which reads them) is imported."""
    if heartbeat is None:
        return ["-m", "hisaab"]
    boot = (
        "from hisaab.jobs import recovery\n"
        f"recovery.HEARTBEAT_SECONDS = {heartbeat.interval!r}\n"
        f"recovery.STALLED_AFTER_SECONDS = {heartbeat.stalled_after!r}\n"
        "from hisaab.cli import main\n"
        "main()\n"
    )
    return ["-c", boot]


def stop_workers(workers: Sequence[subprocess.Popen[bytes]], timeout: float = 30) -> None:
    """SIGTERM (a worker finishes its jobs), then SIGKILL whatever is still running after
    `timeout` seconds."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def run_recovery(app_url: URL) -> None:
    """One run of the periodic `retry_stalled_jobs` task on `app_url`'s queue, as a worker runs
    it (with the threshold `jobs.recovery.STALLED_AFTER_SECONDS` of this process)."""

    async def run() -> None:
        async with queue.app.open_async():
            await tasks.retry_stalled_jobs(timestamp=0)

    _on_database(app_url, run)


def replay_stalled_jobs(app_url: URL, queues: Sequence[str]) -> int:
    """Every job of `queues` still `doing` goes back to the queue: the killed worker's, and even
    one a live worker holds (more chaos; a job that live worker finishes meanwhile is skipped).
    How many were put back."""

    async def replay() -> int:
        replayed = 0
        async with queue.app.open_async():
            for name in queues:
                with warnings.catch_warnings():
                    # Heartbeats take minutes to call the killed worker stalled (jobs.recovery).
                    warnings.simplefilter("ignore", DeprecationWarning)
                    stalled = list(
                        await queue.app.job_manager.get_stalled_jobs(nb_seconds=0, queue=name)
                    )
                for job in stalled:
                    try:
                        await queue.app.job_manager.retry_job(job)
                        replayed += 1
                    except ConnectorException:
                        pass
        return replayed

    return _on_database(app_url, replay)


def _on_database(app_url: URL, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `main` with this process's job queue pointed at `app_url` for the while."""
    previous = queue._conninfo
    queue.configure(libpq(app_url))
    try:
        return asyncio.run(main())
    finally:
        queue._conninfo = previous
