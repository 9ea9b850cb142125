"""HTTP routes of plans and coupons: parse, call one service function, present."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from hisaab.catalog import service
from hisaab.catalog.schemas import (
    COUPON_CODE_PATTERN,
    MAX_INT32,
    PLAN_CODE_PATTERN,
    CouponCreate,
    CouponOut,
    CouponStatus,
    PlanCreate,
    PlanOut,
    PlanStatus,
    PlanUpdate,
    PlanVersionOut,
)
from hisaab.core.http import AUTH, NowDep, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep, page_of

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["catalog"])
PlanPath = Path(max_length=64, description="A plan id `plan_…`.")
CouponPath = Path(max_length=64, description="A coupon id `coupon_…`.")


@router.post("/plans", status_code=status.HTTP_201_CREATED)
def create_plan(
    body: PlanCreate, session: SessionDep, tenant_id: TenantIdDep, now: NowDep
) -> PlanOut:
    """A plan and its version 1; `code` is unique within the tenant (409 `plan_code_taken`)."""
    return service.present_plan(service.create_plan(session, tenant_id, body, now))


@router.get("/plans")
def list_plans(
    session: SessionDep,
    page: PageRequestDep,
    plan_status: Annotated[
        PlanStatus | None, Query(alias="status", description="Only plans in this status.")
    ] = None,
    code: Annotated[
        str | None, Query(pattern=PLAN_CODE_PATTERN, description="Only the plan with this code.")
    ] = None,
) -> Page[PlanOut]:
    """Plans with their current versions, newest first."""
    return page_of(service.list_plans(session, page, plan_status, code), service.present_plan)


@router.get("/plans/{plan_id}")
def get_plan(
    session: SessionDep,
    tenant_id: TenantIdDep,
    plan_id: str = PlanPath,
    version: Annotated[
        int | None,
        Query(ge=1, le=MAX_INT32, description="Show this version instead of the current one."),
    ] = None,
) -> PlanOut:
    return service.present_plan(service.get_plan(session, tenant_id, plan_id, version))


@router.get("/plans/{plan_id}/versions")
def list_plan_versions(
    session: SessionDep, tenant_id: TenantIdDep, page: PageRequestDep, plan_id: str = PlanPath
) -> Page[PlanVersionOut]:
    """Every version of the plan, newest first."""
    return page_of(
        service.list_plan_versions(session, tenant_id, plan_id, page),
        service.present_plan_version,
    )


@router.patch("/plans/{plan_id}")
def update_plan(
    body: PlanUpdate,
    session: SessionDep,
    tenant_id: TenantIdDep,
    now: NowDep,
    plan_id: str = PlanPath,
) -> PlanOut:
    """Name and description change in place; changed terms become a new current version, and
    subscriptions stay on the version they have until moved."""
    return service.present_plan(service.update_plan(session, tenant_id, plan_id, body, now))


@router.post("/plans/{plan_id}/archive")
def archive_plan(
    session: SessionDep, tenant_id: TenantIdDep, now: NowDep, plan_id: str = PlanPath
) -> PlanOut:
    """Archived plans take no new subscriptions; archiving twice is harmless."""
    return service.present_plan(service.archive_plan(session, tenant_id, plan_id, now))


@router.post("/plans/{plan_id}/unarchive")
def unarchive_plan(
    session: SessionDep, tenant_id: TenantIdDep, now: NowDep, plan_id: str = PlanPath
) -> PlanOut:
    return service.present_plan(service.unarchive_plan(session, tenant_id, plan_id, now))


@router.post("/coupons", status_code=status.HTTP_201_CREATED)
def create_coupon(
    body: CouponCreate, session: SessionDep, tenant_id: TenantIdDep, now: NowDep
) -> CouponOut:
    """`code` is kept upper case and is unique within the tenant (409 `coupon_code_taken`)."""
    return service.present_coupon(service.create_coupon(session, tenant_id, body, now))


@router.get("/coupons")
def list_coupons(
    session: SessionDep,
    page: PageRequestDep,
    coupon_status: Annotated[
        CouponStatus | None, Query(alias="status", description="Only coupons in this status.")
    ] = None,
    code: Annotated[
        str | None,
        Query(pattern=COUPON_CODE_PATTERN, description="Only the coupon with this code."),
    ] = None,
) -> Page[CouponOut]:
    return page_of(service.list_coupons(session, page, coupon_status, code), service.present_coupon)


@router.get("/coupons/{coupon_id}")
def get_coupon(
    session: SessionDep, tenant_id: TenantIdDep, coupon_id: str = CouponPath
) -> CouponOut:
    return service.present_coupon(service.get_coupon(session, tenant_id, coupon_id))


@router.post("/coupons/{coupon_id}/archive")
def archive_coupon(
    session: SessionDep, tenant_id: TenantIdDep, coupon_id: str = CouponPath
) -> CouponOut:
    """An archived coupon can no longer be redeemed; archiving twice is harmless."""
    return service.present_coupon(service.archive_coupon(session, tenant_id, coupon_id))
