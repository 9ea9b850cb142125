"""The PostgreSQL job queue (procrastinate), and enqueuing inside the caller's transaction.

`enqueue` inserts the job through procrastinate's own SQL function on the caller's session, so a
job exists if and only if the change that caused it commits (DESIGN: same transaction).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import procrastinate
import psycopg_pool
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hisaab.core import bulk
from hisaab.jobs import recovery

DEFAULT_QUEUE = "default"
_DEFERRED = "hisaab.jobs.deferred"

_conninfo: str | None = None


def configure(conninfo: str) -> None:
    """The database the queue uses in this process (the application role's libpq URL)."""
    global _conninfo  # noqa: PLW0603 - set once at process start
    _conninfo = conninfo


def _pool(**kwargs: Any) -> psycopg_pool.AsyncConnectionPool:
    if _conninfo is None:
        raise RuntimeError("jobs.queue.configure() was not called in this process")
    return psycopg_pool.AsyncConnectionPool(conninfo=_conninfo, **kwargs)


# Every worker of this app (`hisaab worker`, `hisaab up`, tests) beats at the rate that the
# stalled-job recovery's threshold is measured against.
app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(pool_factory=_pool),
    import_paths=["hisaab.jobs.tasks"],
    worker_defaults=recovery.worker_options(),
)


def enqueue(
    session: Session,
    task_name: str,
    args: dict[str, Any],
    *,
    queue: str = DEFAULT_QUEUE,
    scheduled_at: datetime | None = None,
    queueing_lock: str | None = None,
) -> int | None:
    """Add a job in the session's transaction; None if `queueing_lock` already has a job waiting.

    In a bulk batch, jobs without a queueing lock are added together when the batch ends (their
    ids are not known before: None).
    """
    if queueing_lock is None and bulk.collecting(session):
        jobs = bulk.collect(session, _DEFERRED, _defer_many)
        jobs.append((queue, task_name, json.dumps(args), scheduled_at))
        return None
    statement = text(
        "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, :qlock, "
        "CAST(:args AS jsonb), :at)::procrastinate_job_to_defer_v1]))"
    )
    params = {
        "queue": queue,
        "task": task_name,
        "qlock": queueing_lock,
        "args": json.dumps(args),
        "at": scheduled_at,
    }
    if queueing_lock is None:
        return int(session.execute(statement, params).scalar_one())
    try:
        with session.begin_nested():
            return int(session.execute(statement, params).scalar_one())
    except IntegrityError:
        return None


def _defer_many(session: Session, rows: list[tuple[str, str, str, datetime | None]]) -> None:
    """All of a batch's jobs through one call of procrastinate's own function."""
    if not rows:
        return
    queues, tasks, args, times = (list(column) for column in zip(*rows, strict=True))
    session.execute(
        text(
            "SELECT procrastinate_defer_jobs_v1(ARRAY(SELECT ROW(q, t, 0, NULL, NULL, "
            "CAST(a AS jsonb), s)::procrastinate_job_to_defer_v1 FROM unnest("
            "CAST(:queues AS text[]), CAST(:tasks AS text[]), CAST(:args AS text[]), "
            "CAST(:times AS timestamptz[])) AS j(q, t, a, s)))"
        ),
        {"queues": queues, "tasks": tasks, "args": args, "times": times},
    )
