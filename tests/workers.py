"""What tests that kill `hisaab worker` processes do afterwards, as operations would."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Sequence

from procrastinate.exceptions import ConnectorException
from sqlalchemy.engine import URL

from hisaab.jobs import queue
from tests.databases import libpq


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
