"""HTTP routes of test clocks."""

from __future__ import annotations

from fastapi import APIRouter, Path, status

from hisaab.clocks import service
from hisaab.clocks.models import TestClock
from hisaab.clocks.schemas import TestClockAdvance, TestClockCreate, TestClockDeleted, TestClockOut
from hisaab.core.http import AUTH, NowDep, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep, page_of

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["test clocks"])
ClockPath = Path(max_length=64, description="A test clock id `clock_…`.")


def present(clock: TestClock) -> TestClockOut:
    return TestClockOut.model_validate(clock, from_attributes=True)


@router.post("/test_clocks", status_code=status.HTTP_201_CREATED)
def create_test_clock(
    body: TestClockCreate, session: SessionDep, tenant_id: TenantIdDep, now: NowDep
) -> TestClockOut:
    return present(service.create(session, tenant_id, body, now))


@router.get("/test_clocks")
def list_test_clocks(session: SessionDep, page: PageRequestDep) -> Page[TestClockOut]:
    return page_of(service.list_clocks(session, page), present)


@router.get("/test_clocks/{clock_id}")
def get_test_clock(
    session: SessionDep, tenant_id: TenantIdDep, clock_id: str = ClockPath
) -> TestClockOut:
    return present(service.get(session, tenant_id, clock_id))


@router.post("/test_clocks/{clock_id}/advance")
def advance_test_clock(
    body: TestClockAdvance, session: SessionDep, tenant_id: TenantIdDep, clock_id: str = ClockPath
) -> TestClockOut:
    """Move the clock forward; status is `advancing` until the work in between is done."""
    return present(service.advance(session, tenant_id, clock_id, body))


@router.delete("/test_clocks/{clock_id}")
def delete_test_clock(
    session: SessionDep, tenant_id: TenantIdDep, clock_id: str = ClockPath
) -> TestClockDeleted:
    """Delete the clock and its customers' data."""
    service.delete(session, tenant_id, clock_id)
    return TestClockDeleted(id=clock_id)
