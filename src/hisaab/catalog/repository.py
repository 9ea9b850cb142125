"""All SQL of the catalog. Row-level security limits every query to the caller's tenant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select, text, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hisaab.catalog.models import Coupon, Plan, PlanVersion
from hisaab.core.pagination import PageRequest, Slice, fetch_page

PLAN_CODE_CONSTRAINT = "uq_plans_tenant_id_code"
COUPON_CODE_CONSTRAINT = "uq_coupons_tenant_id_code"


def _violated(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def _insert_unique(session: Session, obj: Plan | Coupon, constraint: str) -> bool:
    """Insert `obj`; False (and nothing written) if its code is taken.

    The unique constraint decides, not a lookup beforehand: two requests racing for one code
    cannot both pass a check, but only one of them can insert.
    """
    try:
        with session.begin_nested():
            session.add(obj)
            session.flush()
    except IntegrityError as exc:
        if _violated(exc) == constraint:
            return False
        raise
    return True


def add_plan(session: Session, plan: Plan) -> bool:
    return _insert_unique(session, plan, PLAN_CODE_CONSTRAINT)


def add_version(session: Session, version: PlanVersion) -> None:
    session.add(version)
    session.flush()


def get_plan(
    session: Session, tenant_id: str, plan_id: str, *, for_update: bool = False
) -> Plan | None:
    return session.get(Plan, (tenant_id, plan_id), with_for_update=for_update)


def get_version(session: Session, tenant_id: str, plan_id: str, version: int) -> PlanVersion | None:
    return session.get(PlanVersion, (tenant_id, plan_id, version))


def versions_of(
    session: Session, keys: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], PlanVersion]:
    """The versions for many (plan_id, version) pairs in one query: a page of plans at once."""
    wanted = list(keys)
    if not wanted:
        return {}
    rows = session.scalars(
        select(PlanVersion).where(tuple_(PlanVersion.plan_id, PlanVersion.version).in_(wanted))
    )
    return {(row.plan_id, row.version): row for row in rows}


def list_plans(
    session: Session, page: PageRequest, status: str | None, code: str | None
) -> Slice[Plan]:
    statement = select(Plan)
    if status is not None:
        statement = statement.where(Plan.status == status)
    if code is not None:
        statement = statement.where(Plan.code == code)
    return fetch_page(session, statement, Plan.id, page)


def list_versions(
    session: Session, plan_id: str, limit: int, before: int | None
) -> list[PlanVersion]:
    """Up to `limit` versions of a plan below `before`, newest first."""
    statement = select(PlanVersion).where(PlanVersion.plan_id == plan_id)
    if before is not None:
        statement = statement.where(PlanVersion.version < before)
    return list(session.scalars(statement.order_by(PlanVersion.version.desc()).limit(limit)))


def add_coupon(session: Session, coupon: Coupon) -> bool:
    return _insert_unique(session, coupon, COUPON_CODE_CONSTRAINT)


def get_coupon(
    session: Session, tenant_id: str, coupon_id: str, *, for_update: bool = False
) -> Coupon | None:
    return session.get(Coupon, (tenant_id, coupon_id), with_for_update=for_update)


def coupon_by_code(session: Session, code: str) -> Coupon | None:
    return session.scalars(select(Coupon).where(Coupon.code == code)).one_or_none()


def list_coupons(
    session: Session, page: PageRequest, status: str | None, code: str | None
) -> Slice[Coupon]:
    statement = select(Coupon)
    if status is not None:
        statement = statement.where(Coupon.status == status)
    if code is not None:
        statement = statement.where(Coupon.code == code)
    return fetch_page(session, statement, Coupon.id, page)


def any_feature_named(session: Session, keys: Sequence[str]) -> bool:
    """Whether any plan version of the tenant has a feature with one of these keys."""
    found = session.execute(
        text("SELECT EXISTS (SELECT 1 FROM plan_versions WHERE features ?| CAST(:keys AS text[]))"),
        {"keys": list(keys)},
    ).scalar_one()
    return bool(found)
