"""A job whose worker stopped beating goes back to the queue, run by a worker as `hisaab up` runs
one (every queue); a job whose worker still beats is left to it.

The workers here are rows, as procrastinate keeps them: one that beat an hour ago (its process
died) and one that beat just now, each holding a job it fetched through procrastinate's own
function. tests/jobs/test_worker_killed.py does the same with real processes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from hisaab.db import Database
from hisaab.jobs import queue
from hisaab.jobs import tasks as _tasks  # noqa: F401 - the periodic task under test
from hisaab.jobs.recovery import STALLED_AFTER_SECONDS

HARMLESS_TASK = "purge_idempotency_keys"  # a real task, safe to run at any time


@dataclass(frozen=True)
class Held:
    worker_id: int
    job_id: int


@pytest.fixture
def probe_queue(database: Database) -> Iterator[str]:
    """A queue of this test's own, so no other job is fetched by its fake workers."""
    name = f"stalled-probe-{uuid.uuid4().hex[:8]}"
    yield name
    with database.transaction(None) as session:
        session.execute(text("DELETE FROM procrastinate_jobs WHERE queue_name = :q"), {"q": name})


def _held_by_worker(database: Database, queue_name: str, silent_for: float) -> Held:
    """A worker that fetched a job, then beat last `silent_for` seconds ago."""
    with database.transaction(None) as session:
        queue.enqueue(session, HARMLESS_TASK, {"timestamp": 0}, queue=queue_name)
        worker_id = session.execute(
            text("SELECT worker_id FROM procrastinate_register_worker_v1()")
        ).scalar_one()
        job_id = session.execute(
            text("SELECT id FROM procrastinate_fetch_job_v2(ARRAY[:q]::varchar[], :w)"),
            {"q": queue_name, "w": worker_id},
        ).scalar_one()
        session.execute(
            text(
                "UPDATE procrastinate_workers SET last_heartbeat = "
                "now() - make_interval(secs => :s) WHERE id = :w"
            ),
            {"s": silent_for, "w": worker_id},
        )
    return Held(int(worker_id), int(job_id))


def _job(database: Database, job_id: int) -> Any:
    with database.transaction(None) as session:
        return session.execute(
            text("SELECT status, attempts, worker_id FROM procrastinate_jobs WHERE id = :id"),
            {"id": job_id},
        ).one()


def _workers(database: Database, *held: Held) -> set[int]:
    with database.transaction(None) as session:
        rows = session.execute(
            text("SELECT id FROM procrastinate_workers WHERE id = ANY(:ids)"),
            {"ids": [h.worker_id for h in held]},
        )
        return {int(row.id) for row in rows}


def _forget(database: Database, *held: Held) -> None:
    with database.transaction(None) as session:
        session.execute(
            text("DELETE FROM procrastinate_workers WHERE id = ANY(:ids)"),
            {"ids": [h.worker_id for h in held]},
        )


def test_a_dead_workers_job_is_run_again_and_a_live_ones_is_left_alone(
    database: Database, probe_queue: str, run_jobs: Any
) -> None:
    dead = _held_by_worker(database, probe_queue, silent_for=3600)
    alive = _held_by_worker(database, probe_queue, silent_for=0)
    try:
        with database.transaction(None) as session:
            # As the periodic deferrer does each minute (one waits already if it did).
            queue.enqueue(
                session,
                "retry_stalled_jobs",
                {"timestamp": 0},
                queue="maintenance",
                queueing_lock="retry_stalled_jobs",
            )
        run_jobs()  # every queue, as `hisaab up` and a `hisaab worker` without --queue

        # Two attempts: the dead worker's (counted when it was put back), and the one that ran.
        assert tuple(_job(database, dead.job_id)) == ("succeeded", 2, None)
        assert tuple(_job(database, alive.job_id)) == ("doing", 0, alive.worker_id)
        assert _workers(database, dead, alive) == {alive.worker_id}, "the dead one is forgotten"
    finally:
        _forget(database, dead, alive)


def test_the_threshold_leaves_a_slow_worker_many_missed_heartbeats() -> None:
    options = queue.app.worker_defaults  # what `hisaab worker` and `hisaab up` run with
    assert "update_heartbeat_interval" in options, "the beat the threshold is measured against"
    assert 10 * options["update_heartbeat_interval"] <= STALLED_AFTER_SECONDS
    # A starting worker deletes the rows of workers silent this long, which makes their jobs
    # stalled at once: it must not be shorter than the recovery's own threshold.
    assert options["stalled_worker_timeout"] >= STALLED_AFTER_SECONDS


def test_every_worker_defers_the_recovery_each_minute() -> None:
    """Any worker's periodic deferrer adds it (whatever queues that worker serves), and it runs
    on `maintenance`, which `hisaab up` and a `hisaab worker` without --queue serve."""
    periodic = queue.app.periodic_registry.periodic_tasks[
        ("retry_stalled_jobs", "retry_stalled_jobs")
    ]
    assert periodic.cron == "* * * * *"
    assert periodic.task.queue == "maintenance"
