"""Use cases of test clocks, and the advance that replays due work in time order."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from hisaab.clocks import repository
from hisaab.clocks.models import TestClock
from hisaab.clocks.schemas import TestClockAdvance, TestClockCreate
from hisaab.core.clock import SYSTEM_CLOCK, Clock, FrozenClock, utc
from hisaab.core.errors import conflict, invalid
from hisaab.core.ids import new_id
from hisaab.core.lookup import found
from hisaab.core.pagination import PageRequest, Slice
from hisaab.db import Database
from hisaab.jobs import queue, scheduler

ADVANCE_TASK = "advance_test_clock"
MAX_STEPS_PER_ADVANCE = 1_000_000
log = structlog.get_logger("hisaab.clocks")


def create(session: Session, tenant_id: str, data: TestClockCreate, now: datetime) -> TestClock:
    frozen = utc(data.frozen_time)
    clock = TestClock(
        tenant_id=tenant_id,
        id=new_id("clock"),
        name=data.name,
        status="ready",
        frozen_time=frozen,
        reached_time=frozen,
        created_at=now,
    )
    repository.add(session, clock)
    return clock


def get(session: Session, tenant_id: str, clock_id: str, *, for_update: bool = False) -> TestClock:
    return found(
        "test_clock",
        "clock",
        clock_id,
        lambda: repository.get(session, tenant_id, clock_id, for_update=for_update),
    )


def list_clocks(session: Session, page: PageRequest) -> Slice[TestClock]:
    return repository.list_clocks(session, page)


def clock_for(session: Session, tenant_id: str, clock_id: str | None) -> Clock:
    """The clock a customer lives on: its test clock's reached time, else the system clock."""
    if clock_id is None:
        return SYSTEM_CLOCK
    return FrozenClock(get(session, tenant_id, clock_id).reached_time)


def advance(session: Session, tenant_id: str, clock_id: str, data: TestClockAdvance) -> TestClock:
    """Move the clock forward; the work in between runs in a job, in time order."""
    clock = get(session, tenant_id, clock_id, for_update=True)
    target = utc(data.frozen_time)
    if clock.status == "advancing":
        raise conflict("clock_advancing", "The clock is still advancing; wait until it is ready.")
    if target <= clock.frozen_time:
        raise invalid(
            "clock_not_forward",
            "A test clock only moves forward: frozen_time must be later than the current one.",
            ("body", "frozen_time"),
        )
    clock.frozen_time = target
    clock.status = "advancing"
    session.flush()
    queue.enqueue(
        session,
        ADVANCE_TASK,
        {"tenant_id": tenant_id, "clock_id": clock_id},
        queue="clocks",
        queueing_lock=f"clock:{clock_id}",
    )
    return clock


def delete(session: Session, tenant_id: str, clock_id: str) -> None:
    """Delete the clock; customers on it (and everything of theirs) go with it by cascade."""
    repository.delete(session, get(session, tenant_id, clock_id, for_update=True))


def run_advance(database: Database, tenant_id: str, clock_id: str) -> int:
    """Do the clock's due work one instant at a time, each step in its own transaction.

    A crash or a second copy of the job resumes from `reached_time`: steps already committed are
    not repeated, and the row lock keeps two copies from stepping at once.
    """
    for step in range(MAX_STEPS_PER_ADVANCE):
        with database.transaction(tenant_id) as session:
            clock = repository.get(session, tenant_id, clock_id, for_update=True)
            if clock is None or clock.status != "advancing":
                return step
            due = scheduler.next_due(session, clock_id, until=clock.frozen_time)
            if due is None:
                clock.reached_time = clock.frozen_time
                clock.status = "ready"
                log.info("test_clock_ready", clock_id=clock_id, steps=step)
                return step
            clock.reached_time = max(utc(due), clock.reached_time)
            done = scheduler.run_due(session, clock_id, clock.reached_time)
            if done == 0:
                raise RuntimeError(
                    f"due work at {due} for {clock_id} did nothing; refusing to loop"
                )
    raise RuntimeError(f"test clock {clock_id} needed more than {MAX_STEPS_PER_ADVANCE} steps")
