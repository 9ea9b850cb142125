"""Use cases of the catalog, and the terms other domains bill from (`plan_terms`,
`coupon_terms`).

A plan version is never edited: a PATCH that changes what a subscriber pays or gets writes the
next version and points the plan at it, so subscriptions made earlier keep billing on theirs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy.orm import Session

from hisaab.catalog import repository, rules
from hisaab.catalog.models import Coupon, Plan, PlanPrice, PlanVersion
from hisaab.catalog.schemas import (
    COUPON_CODE_PATTERN,
    VERSIONED_FIELDS,
    ChargeIn,
    CouponCreate,
    CouponOut,
    CouponStatus,
    PlanCreate,
    PlanOut,
    PlanUpdate,
    PlanVersionOut,
    PriceOut,
)
from hisaab.catalog.terms import CouponTerms, Duration, PlanTerms, TaxBehavior, VersionTerms
from hisaab.core import bulk
from hisaab.core.committed import CommittedCache
from hisaab.core.errors import conflict, invalid, not_found
from hisaab.core.ids import looks_like, new_id
from hisaab.core.lookup import found
from hisaab.core.pagination import PageRequest, Slice, encode_cursor
from hisaab.subscriptions.periods import Interval
from hisaab.usage.pricing import Charge
from hisaab.webhooks import service as events

_COUPON_CODE = re.compile(COUPON_CODE_PATTERN)
_VERSION_CURSOR = re.compile(r"version_([0-9]{1,10})")


@dataclass(frozen=True)
class PlanView:
    """A plan together with one of its versions: what the API shows as a plan."""

    plan: Plan
    version: PlanVersion


# Plans


def _terms_of(version: PlanVersion) -> VersionTerms:
    return VersionTerms(
        interval=cast(Interval, version.interval),
        interval_count=version.interval_count,
        trial_days=version.trial_days,
        tax_behavior=cast(TaxBehavior, version.tax_behavior),
        sac_code=version.sac_code,
        features=dict(version.features),
        prices={price.currency: price.unit_amount for price in version.prices},
        charges=tuple(Charge.from_json(charge) for charge in version.charges),
    )


def _write_version(
    session: Session, plan: Plan, number: int, terms: VersionTerms, now: datetime
) -> PlanVersion:
    version = PlanVersion(
        tenant_id=plan.tenant_id,
        plan_id=plan.id,
        version=number,
        interval=terms.interval,
        interval_count=terms.interval_count,
        trial_days=terms.trial_days,
        tax_behavior=terms.tax_behavior,
        sac_code=terms.sac_code,
        features=terms.features,
        charges=[charge.as_json() for charge in terms.charges],
        created_at=now,
        prices=[
            PlanPrice(
                tenant_id=plan.tenant_id,
                plan_id=plan.id,
                version=number,
                currency=currency,
                unit_amount=amount,
            )
            for currency, amount in terms.prices.items()
        ],
    )
    repository.add_version(session, version)
    return version


def _check_meters(session: Session, tenant_id: str, charges: Sequence[ChargeIn]) -> None:
    """Every charge names one of the tenant's meters (422 `unknown_meter`): a charge on a meter
    that does not exist would bill nothing, silently, every period. Only charges as a request
    writes them are checked; a version's charges were checked when it was written."""
    # Imported here: usage's service reaches the catalog (through subscriptions) at import time.
    from hisaab.usage import service as usage

    known = usage.meters_by_codes(session, tenant_id, sorted({c.meter for c in charges}))
    for index, charge in enumerate(charges):
        if charge.meter not in known:
            raise invalid(
                "unknown_meter",
                f"No meter with code {charge.meter!r}; create it with POST /v1/meters first.",
                ("body", "charges", index, "meter"),
            )


def create_plan(session: Session, tenant_id: str, data: PlanCreate, now: datetime) -> PlanView:
    terms = rules.version_terms(
        data.interval,
        data.interval_count,
        data.trial_days,
        data.tax_behavior,
        data.sac_code,
        data.features,
        [(p.currency, p.unit_amount) for p in data.prices],
        [charge.model_dump() for charge in data.charges],
    )
    _check_meters(session, tenant_id, data.charges)
    plan = Plan(
        tenant_id=tenant_id,
        id=new_id("plan"),
        code=data.code,
        name=data.name,
        description=data.description,
        status="active",
        current_version=1,
        created_at=now,
        updated_at=now,
        archived_at=None,
    )
    if not repository.add_plan(session, plan):
        raise conflict("plan_code_taken", f"A plan with code {data.code!r} already exists.")
    view = PlanView(plan, _write_version(session, plan, 1, terms, now))
    events.emit(session, tenant_id, "plan.created", present_plan(view), now)
    return view


def _plan(session: Session, tenant_id: str, plan_id: str, *, for_update: bool = False) -> Plan:
    return found(
        "plan",
        "plan",
        plan_id,
        lambda: repository.get_plan(session, tenant_id, plan_id, for_update=for_update),
    )


def _version(session: Session, plan: Plan, number: int) -> PlanVersion:
    version = repository.get_version(session, plan.tenant_id, plan.id, number)
    if version is None:
        raise not_found("plan version", f"{plan.id} version {number}")
    return version


def get_plan(
    session: Session, tenant_id: str, plan_id: str, version: int | None = None
) -> PlanView:
    """The plan with its current version, or with the version asked for."""
    plan = _plan(session, tenant_id, plan_id)
    return PlanView(plan, _version(session, plan, version or plan.current_version))


def list_plans(
    session: Session,
    page: PageRequest,
    status: str | None = None,
    code: str | None = None,
) -> Slice[PlanView]:
    found = repository.list_plans(session, page, status, code)
    versions = repository.versions_of(
        session, [(plan.id, plan.current_version) for plan in found.items]
    )
    return Slice(
        items=[PlanView(plan, versions[plan.id, plan.current_version]) for plan in found.items],
        has_more=found.has_more,
        next_cursor=found.next_cursor,
    )


def _version_before(page: PageRequest) -> int | None:
    if page.before_id is None:
        return None
    match = _VERSION_CURSOR.fullmatch(page.before_id)
    if match is None:
        raise invalid(
            "invalid_cursor", "The cursor is not one this API returned.", ("query", "cursor")
        )
    return int(match.group(1))


def list_plan_versions(
    session: Session, tenant_id: str, plan_id: str, page: PageRequest
) -> Slice[PlanView]:
    """Every version of a plan, newest first (cursor pages like every list)."""
    plan = _plan(session, tenant_id, plan_id)
    rows = repository.list_versions(session, plan.id, page.limit + 1, _version_before(page))
    has_more = len(rows) > page.limit
    items = rows[: page.limit]
    return Slice(
        items=[PlanView(plan, version) for version in items],
        has_more=has_more,
        next_cursor=encode_cursor(f"version_{items[-1].version}") if has_more else None,
    )


def _patched_terms(current: VersionTerms, patch: PlanUpdate) -> VersionTerms:
    interval = patch.interval or current.interval
    count = current.interval_count if patch.interval_count is None else patch.interval_count
    return rules.version_terms(
        interval,
        count,
        current.trial_days if patch.trial_days is None else patch.trial_days,
        patch.tax_behavior or current.tax_behavior,
        patch.sac_code or current.sac_code,
        current.features if patch.features is None else patch.features,
        list(current.prices.items())
        if patch.prices is None
        else [(p.currency, p.unit_amount) for p in patch.prices],
        [charge.as_json() for charge in current.charges]
        if patch.charges is None
        else [charge.model_dump() for charge in patch.charges],
    )


def update_plan(
    session: Session, tenant_id: str, plan_id: str, patch: PlanUpdate, now: datetime
) -> PlanView:
    """Rename in place; any change of terms becomes version N+1, which new subscriptions get."""
    plan = _plan(session, tenant_id, plan_id, for_update=True)
    if plan.status == "archived":
        raise conflict("invalid_state", "An archived plan cannot be changed; unarchive it first.")
    version = _version(session, plan, plan.current_version)
    fields = patch.model_fields_set
    changed = False
    if fields & VERSIONED_FIELDS:
        current = _terms_of(version)
        terms = _patched_terms(current, patch)
        if patch.charges is not None:
            _check_meters(session, tenant_id, patch.charges)
        if not terms.same_as(current):
            version = _write_version(session, plan, plan.current_version + 1, terms, now)
            plan.current_version = version.version
            changed = True
    if patch.name is not None and patch.name != plan.name:
        plan.name = patch.name
        changed = True
    if "description" in fields and patch.description != plan.description:
        plan.description = patch.description
        changed = True
    view = PlanView(plan, version)
    if changed:
        plan.updated_at = now
        session.flush()
        events.emit(session, tenant_id, "plan.updated", present_plan(view), now)
    return view


def archive_plan(session: Session, tenant_id: str, plan_id: str, now: datetime) -> PlanView:
    """Archived plans take no new subscriptions; those already on them carry on."""
    return _set_status(session, tenant_id, plan_id, "archived", now)


def unarchive_plan(session: Session, tenant_id: str, plan_id: str, now: datetime) -> PlanView:
    return _set_status(session, tenant_id, plan_id, "active", now)


def _set_status(
    session: Session, tenant_id: str, plan_id: str, status: str, now: datetime
) -> PlanView:
    """Move the plan to `status`; doing it twice is harmless and announces nothing."""
    plan = _plan(session, tenant_id, plan_id, for_update=True)
    view = PlanView(plan, _version(session, plan, plan.current_version))
    if plan.status != status:
        plan.status = status
        plan.archived_at = now if status == "archived" else None
        plan.updated_at = now
        session.flush()
        event = "plan.archived" if status == "archived" else "plan.updated"
        events.emit(session, tenant_id, event, present_plan(view), now)
    return view


def plan_terms(
    session: Session, tenant_id: str, plan_id: str, version: int | None = None
) -> PlanTerms:
    """The terms of a plan's current version (or of `version`), for subscriptions to bill on.

    404 `resource_missing` for an unknown, malformed or other tenant's plan id, or a version the
    plan does not have. Archived plans are returned (with `archived=True`): subscriptions already
    on them keep renewing; refusing new ones is the caller's rule. Read once per bulk batch.
    """
    terms = bulk.memo(
        session,
        ("plan_terms", tenant_id, plan_id, version),
        lambda: _plan_terms(session, tenant_id, plan_id, version),
    )
    if version is None:  # the current version is also that version, asked by number later
        bulk.remember(session, ("plan_terms", tenant_id, plan_id, terms.version), terms)
    return terms


def _plan_terms(session: Session, tenant_id: str, plan_id: str, version: int | None) -> PlanTerms:
    plan = _plan(session, tenant_id, plan_id)
    number = version or plan.current_version
    return PlanTerms(
        **vars(_version_terms(session, plan, number)),
        plan_id=plan.id,
        version=number,
        code=plan.code,
        name=plan.name,
        archived=plan.status == "archived",
    )


# The terms of plan versions by (tenant, plan, version). A version is never changed nor deleted
# (the application role may only insert and read plan_versions and plan_prices), so what was
# read of a committed one stays true for good: every subscription request reads its plan's
# version, and only the plan's row (its current version, name and status change) is read again.
# The tenant is in the key: row-level security let that tenant, and only it, read the row.
_versions: CommittedCache[tuple[str, str, int], VersionTerms] = CommittedCache("plan_versions")


def _version_terms(session: Session, plan: Plan, number: int) -> VersionTerms:
    key = (plan.tenant_id, plan.id, number)
    terms = _versions.get(session, key)
    if terms is None:
        terms = _terms_of(_version(session, plan, number))
        _versions.learn(session, key, terms)
    return terms


def _prices_out(version: PlanVersion) -> list[PriceOut]:
    return [
        PriceOut(currency=p.currency, unit_amount=p.unit_amount)
        for p in sorted(version.prices, key=lambda p: p.currency)
    ]


def _terms_out(version: PlanVersion) -> dict[str, Any]:
    """What a version says, the same in a plan and in its version history."""
    return {
        "version": version.version,
        "interval": version.interval,
        "interval_count": version.interval_count,
        "trial_days": version.trial_days,
        "prices": _prices_out(version),
        "tax_behavior": version.tax_behavior,
        "sac_code": version.sac_code,
        "features": version.features,
        "charges": version.charges,
    }


def present_plan(view: PlanView) -> PlanOut:
    plan = view.plan
    return PlanOut.model_validate(
        {
            **_terms_out(view.version),
            "id": plan.id,
            "code": plan.code,
            "name": plan.name,
            "description": plan.description,
            "status": plan.status,
            "created_at": plan.created_at,
            "updated_at": plan.updated_at,
            "archived_at": plan.archived_at,
        }
    )


def present_plan_version(view: PlanView) -> PlanVersionOut:
    version = view.version
    return PlanVersionOut.model_validate(
        {
            **_terms_out(version),
            "plan_id": version.plan_id,
            "current": version.version == view.plan.current_version,
            "created_at": version.created_at,
        }
    )


# Coupons


def create_coupon(session: Session, tenant_id: str, data: CouponCreate, now: datetime) -> Coupon:
    discount = rules.discount(data.percent_off, data.amount_off, data.currency)
    code = data.code.upper()
    coupon = Coupon(
        tenant_id=tenant_id,
        id=new_id("coupon"),
        code=code,
        name=data.name,
        percent_off=discount.percent_off,
        amount_off=discount.amount_off,
        currency=discount.currency,
        duration=data.duration,
        duration_in_periods=rules.duration_in_periods(data.duration, data.duration_in_periods),
        max_redemptions=data.max_redemptions,
        redeem_by=data.redeem_by,
        status="active",
        created_at=now,
    )
    if not repository.add_coupon(session, coupon):
        raise conflict("coupon_code_taken", f"A coupon with code {code!r} already exists.")
    events.emit(session, tenant_id, "coupon.created", present_coupon(coupon), now)
    return coupon


def get_coupon(
    session: Session, tenant_id: str, coupon_id: str, *, for_update: bool = False
) -> Coupon:
    return found(
        "coupon",
        "coupon",
        coupon_id,
        lambda: repository.get_coupon(session, tenant_id, coupon_id, for_update=for_update),
    )


def list_coupons(
    session: Session, page: PageRequest, status: str | None = None, code: str | None = None
) -> Slice[Coupon]:
    return repository.list_coupons(session, page, status, code.upper() if code else None)


def archive_coupon(session: Session, tenant_id: str, coupon_id: str) -> Coupon:
    """An archived coupon cannot be redeemed again; discounts already granted run their course.
    Archiving twice is harmless."""
    coupon = get_coupon(session, tenant_id, coupon_id, for_update=True)
    if coupon.status != "archived":
        coupon.status = "archived"
        session.flush()
    return coupon


def coupon_terms(session: Session, tenant_id: str, coupon: str) -> CouponTerms:
    """A coupon by id (`coupon_…`) or by code (any case); 404 `resource_missing` if unknown.

    Codes are stored upper case and ids are lower case, so the two can never be confused.
    Read once per bulk batch.
    """
    return bulk.memo(
        session,
        ("coupon_terms", tenant_id, coupon),
        lambda: _coupon_terms(session, tenant_id, coupon),
    )


def _coupon_terms(session: Session, tenant_id: str, coupon: str) -> CouponTerms:
    row = None
    if looks_like("coupon", coupon):
        row = repository.get_coupon(session, tenant_id, coupon)
    elif _COUPON_CODE.fullmatch(coupon):
        row = repository.coupon_by_code(session, coupon.upper())
    if row is None:
        raise not_found("coupon", coupon)
    return CouponTerms(
        id=row.id,
        code=row.code,
        percent_off=row.percent_off,
        amount_off=row.amount_off,
        currency=row.currency,
        duration=cast(Duration, row.duration),
        duration_in_periods=row.duration_in_periods,
        max_redemptions=row.max_redemptions,
        redeem_by=row.redeem_by,
        archived=row.status == "archived",
    )


def _percent_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(Decimal('0.01'))}"


def present_coupon(coupon: Coupon) -> CouponOut:
    return CouponOut(
        id=coupon.id,
        code=coupon.code,
        name=coupon.name,
        percent_off=_percent_text(coupon.percent_off),
        amount_off=coupon.amount_off,
        currency=coupon.currency,
        duration=cast(Duration, coupon.duration),
        duration_in_periods=coupon.duration_in_periods,
        max_redemptions=coupon.max_redemptions,
        redeem_by=coupon.redeem_by,
        status=cast(CouponStatus, coupon.status),
        created_at=coupon.created_at,
    )


def has_quota_on(session: Session, meter_codes: Sequence[str]) -> bool:
    """Whether a plan of the tenant sets a feature named like one of these meters (a quota)."""
    return bool(meter_codes) and repository.any_feature_named(session, meter_codes)
