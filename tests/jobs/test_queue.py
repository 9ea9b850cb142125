"""Jobs are enqueued in the caller's transaction: rolled back with it, committed with it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from hisaab.jobs import queue


def _jobs(database: Any, task: str) -> int:
    with database.transaction(None) as session:
        return int(
            session.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t"), {"t": task}
            ).scalar_one()
        )


def test_job_rolls_back_with_the_change_that_caused_it(database: Any) -> None:
    before = _jobs(database, "probe_rollback")
    with pytest.raises(RuntimeError), database.transaction("ten_probe") as session:
        queue.enqueue(session, "probe_rollback", {"n": 1})
        raise RuntimeError("the change fails")
    assert _jobs(database, "probe_rollback") == before


def test_job_commits_with_the_change(database: Any) -> None:
    before = _jobs(database, "probe_commit")
    with database.transaction("ten_probe") as session:
        job_id = queue.enqueue(session, "probe_commit", {"n": 1})
    assert job_id is not None
    assert _jobs(database, "probe_commit") == before + 1
    with database.transaction(None) as session:
        session.execute(text("DELETE FROM procrastinate_jobs WHERE task_name = 'probe_commit'"))


def test_queueing_lock_keeps_one_waiting_job(database: Any) -> None:
    with database.transaction("ten_probe") as session:
        first = queue.enqueue(session, "probe_lock", {}, queueing_lock="probe-lock")
        second = queue.enqueue(session, "probe_lock", {}, queueing_lock="probe-lock")
    assert first is not None
    assert second is None
    assert _jobs(database, "probe_lock") == 1
    with database.transaction(None) as session:
        session.execute(text("DELETE FROM procrastinate_jobs WHERE task_name = 'probe_lock'"))
