"""Test clocks through HTTP, and the advance that runs due work in time order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from hisaab.jobs import scheduler
from tests.conftest import TenantHandle

START = "2026-01-31T10:00:00Z"


def _clock(t: TenantHandle, frozen_time: str = START) -> dict[str, Any]:
    response = t.http.post("/v1/test_clocks", json={"frozen_time": frozen_time, "name": "billing"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_get_list_delete(tenant: TenantHandle) -> None:
    clock = _clock(tenant)
    assert clock["id"].startswith("clock_")
    assert clock["status"] == "ready"
    assert clock["frozen_time"] == START
    assert tenant.http.get(f"/v1/test_clocks/{clock['id']}").json() == clock
    assert clock["id"] in {c["id"] for c in tenant.http.get("/v1/test_clocks").json()["data"]}
    deleted = tenant.http.delete(f"/v1/test_clocks/{clock['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"object": "test_clock", "id": clock["id"], "deleted": True}
    assert tenant.http.get(f"/v1/test_clocks/{clock['id']}").status_code == 404


@pytest.mark.parametrize(
    "frozen_time", ["2026-01-31T10:00:00", "not a time", "2026-02-30T00:00:00Z", 5]
)
def test_frozen_time_must_be_an_aware_timestamp(tenant: TenantHandle, frozen_time: Any) -> None:
    response = tenant.http.post("/v1/test_clocks", json={"frozen_time": frozen_time})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_offsets_are_stored_as_utc(tenant: TenantHandle) -> None:
    clock = _clock(tenant, "2026-01-31T15:30:00+05:30")
    assert clock["frozen_time"] == START


@pytest.mark.parametrize("target", [START, "2026-01-31T09:59:59Z", "2025-12-31T10:00:00Z"])
def test_clock_only_moves_forward(tenant: TenantHandle, target: str) -> None:
    clock = _clock(tenant)
    response = tenant.http.post(
        f"/v1/test_clocks/{clock['id']}/advance", json={"frozen_time": target}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "clock_not_forward"
    assert tenant.http.get(f"/v1/test_clocks/{clock['id']}").json()["frozen_time"] == START


class RecordingWork:
    """Due work at fixed instants for one clock; records the clock time each ran at."""

    name = "test_recording"

    def __init__(self, clock_id: str, instants: list[datetime]) -> None:
        self.clock_id = clock_id
        self.pending = sorted(instants)
        self.ran: list[datetime] = []

    def next_due(self, session: Session, clock_id: str | None, until: datetime) -> datetime | None:
        if clock_id != self.clock_id or not self.pending or self.pending[0] > until:
            return None
        return self.pending[0]

    def run_due(self, session: Session, clock_id: str | None, now: datetime) -> int:
        if clock_id != self.clock_id:
            return 0
        done = [t for t in self.pending if t <= now]
        self.pending = [t for t in self.pending if t > now]
        self.ran.extend([now] * len(done))
        return len(done)


@pytest.fixture
def recording() -> Iterator[list[RecordingWork]]:
    works: list[RecordingWork] = []
    yield works
    scheduler.unregister(RecordingWork.name)


def test_advance_runs_due_work_in_time_order_then_is_ready(
    tenant: TenantHandle, run_jobs: Any, recording: list[RecordingWork]
) -> None:
    clock = _clock(tenant)
    start = datetime(2026, 1, 31, 10, tzinfo=UTC)
    monthly = [start + timedelta(days=28 * i) for i in (3, 1, 2, 12, 13)]  # out of order on purpose
    work = RecordingWork(clock["id"], monthly)
    recording.append(work)
    scheduler.register(work)

    target = start + timedelta(days=28 * 12)
    advanced = tenant.http.post(
        f"/v1/test_clocks/{clock['id']}/advance", json={"frozen_time": target.isoformat()}
    )
    assert advanced.status_code == 200
    assert advanced.json()["status"] == "advancing"
    assert advanced.json()["frozen_time"] == target.isoformat().replace("+00:00", "Z")
    again = tenant.http.post(
        f"/v1/test_clocks/{clock['id']}/advance", json={"frozen_time": "2030-01-01T00:00:00Z"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "clock_advancing"

    run_jobs()

    assert tenant.http.get(f"/v1/test_clocks/{clock['id']}").json()["status"] == "ready"
    assert work.ran == sorted(t for t in monthly if t <= target), (
        "each due instant, in order, at its own time"
    )
    assert work.pending == [start + timedelta(days=28 * 13)], "work after the target waits"


def test_advance_job_run_twice_does_not_repeat_work(
    tenant: TenantHandle, run_jobs: Any, recording: list[RecordingWork], database: Any
) -> None:
    from hisaab.clocks import service as clocks

    clock = _clock(tenant)
    start = datetime(2026, 1, 31, 10, tzinfo=UTC)
    work = RecordingWork(clock["id"], [start + timedelta(days=1), start + timedelta(days=2)])
    recording.append(work)
    scheduler.register(work)
    tenant.http.post(
        f"/v1/test_clocks/{clock['id']}/advance", json={"frozen_time": "2026-02-05T00:00:00Z"}
    )
    clocks.run_advance(database, tenant.id, clock["id"])
    clocks.run_advance(database, tenant.id, clock["id"])
    run_jobs()
    assert len(work.ran) == 2


def test_system_clock_tick_does_not_touch_test_clocks(
    tenant: TenantHandle, recording: list[RecordingWork], database: Any
) -> None:
    from hisaab.jobs.tasks import scheduler_tick

    clock = _clock(tenant)
    work = RecordingWork(clock["id"], [datetime(2026, 2, 1, tzinfo=UTC)])
    recording.append(work)
    scheduler.register(work)
    scheduler_tick(timestamp=0)
    assert work.ran == []


def test_a_customer_on_a_test_clock_reads_its_reached_time(
    tenant: TenantHandle, database: Any
) -> None:
    from hisaab.clocks import service as clocks
    from hisaab.core.clock import SYSTEM_CLOCK

    clock = _clock(tenant)
    with database.transaction(tenant.id) as session:
        assert clocks.clock_for(session, tenant.id, None) is SYSTEM_CLOCK
        assert clocks.clock_for(session, tenant.id, clock["id"]).now() == datetime(
            2026, 1, 31, 10, tzinfo=UTC
        )
