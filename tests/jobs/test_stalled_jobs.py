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

# Real tasks, safe to run at any time: one with a retry policy (three attempts, no wait), billing
# a tenant that does not exist, and a periodic one with none.
RETRIED_TASK = ("bill_tenant", {"tenant_id": "ten_nobody", "shard": 0})
PERIODIC_TASK = ("purge_idempotency_keys", {"timestamp": 0})


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


def _held_by_worker(
    database: Database,
    queue_name: str,
    silent_for: float,
    task: tuple[str, dict[str, Any]] = RETRIED_TASK,
    attempts: int = 0,
) -> Held:
    """A worker that fetched a job (tried `attempts` times before), then beat last `silent_for`
    seconds ago."""
    with database.transaction(None) as session:
        queue.enqueue(session, task[0], task[1], queue=queue_name)
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
        session.execute(
            text("UPDATE procrastinate_jobs SET attempts = :a WHERE id = :id"),
            {"a": attempts, "id": job_id},
        )
    return Held(int(worker_id), int(job_id))


def _recover(database: Database, run_jobs: Any) -> None:
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
        _recover(database, run_jobs)

        # Two attempts: the dead worker's (counted when it was put back), and the one that ran.
        assert tuple(_job(database, dead.job_id)) == ("succeeded", 2, None)
        assert tuple(_job(database, alive.job_id)) == ("doing", 0, alive.worker_id)
        assert _workers(database, dead, alive) == {alive.worker_id}, "the dead one is forgotten"
    finally:
        _forget(database, dead, alive)


def test_a_dead_workers_job_whose_attempts_are_spent_fails_instead_of_running_again(
    database: Database, probe_queue: str, run_jobs: Any, json_logs: Any
) -> None:
    """A worker's death is a failed attempt: a job that has killed its worker as often as its
    task allows tries (bill_tenant: 3) stops, and so does a periodic task's job (no retry
    policy: its next run replaces it); the one still within its tries runs again."""
    spent = _held_by_worker(database, probe_queue, silent_for=3600, attempts=3)
    periodic = _held_by_worker(database, probe_queue, silent_for=3600, task=PERIODIC_TASK)
    within = _held_by_worker(database, probe_queue, silent_for=3600, attempts=2)
    try:
        _recover(database, run_jobs)

        assert tuple(_job(database, spent.job_id)) == ("failed", 4, None)
        assert tuple(_job(database, periodic.job_id)) == ("failed", 1, None)
        assert tuple(_job(database, within.job_id)) == ("succeeded", 4, None)
        [logged] = [e for e in json_logs() if e["event"] == "stalled_jobs_failed"]
        assert set(logged["jobs"]) == {
            f"bill_tenant#{spent.job_id}",
            f"purge_idempotency_keys#{periodic.job_id}",
        }
        assert logged["level"] == "error"
    finally:
        _forget(database, spent, periodic, within)


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
