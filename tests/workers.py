"""Real `hisaab worker` processes for tests and benchmarks, and what tests that kill one do
afterwards, as operations would."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from procrastinate.exceptions import ConnectorException
from sqlalchemy.engine import URL

from hisaab.jobs import queue
from tests.databases import libpq


def start_worker(
    owner_url: URL,
    queues: Sequence[str],
    data_dir: Path,
    *,
    secret_key: str,
    concurrency: int,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A worker configured like production, through the environment (none of the caller's own
    HISAAB_* settings leak in); its output goes to `data_dir/worker.log`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HISAAB_")}
    environment.update(
        HISAAB_DATABASE_URL=owner_url.render_as_string(hide_password=False),
        HISAAB_SECRET_KEYS=secret_key,
        HISAAB_DATA_DIR=str(data_dir),
        HISAAB_WORKER_CONCURRENCY=str(concurrency),
        HISAAB_LOG_LEVEL="warning",
        **(env or {}),
    )
    command = [sys.executable, "-m", "hisaab", "worker"]
    for name in queues:
        command += ["--queue", name]
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "worker.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)


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


def replay_stalled_jobs(app_url: URL, queues: Sequence[str]) -> int:
    """Every job of `queues` still `doing` goes back to the queue: the killed worker's, and even
    one a live worker holds (more chaos; a job that live worker finishes meanwhile is skipped).
    How many were put back."""

    async def replay() -> int:
        replayed = 0
        async with queue.app.open_async():
            for name in queues:
                with warnings.catch_warnings():
                    # Heartbeats would take 30 s to call the killed worker stalled.
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

    previous = queue._conninfo
    queue.configure(libpq(app_url))
    try:
        return asyncio.run(replay())
    finally:
        queue._conninfo = previous
