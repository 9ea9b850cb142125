"""What the tenant's app asks before letting a customer use something: the features of the
plan the customer is on, and for each quota (a numeric feature named like a meter) how much of
it this period has used. Crossing a quota is announced once per period
(`usage.threshold_reached`), for the app to react without polling.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from hisaab.core.errors import HisaabError
from hisaab.entitlements import repository
from hisaab.entitlements.schemas import EntitlementsOut, FeatureOut, QuotaOut, ThresholdOut
from hisaab.subscriptions import service as subscriptions
from hisaab.subscriptions.models import Subscription
from hisaab.usage import service as usage
from hisaab.usage.schemas import CustomerUsageOut
from hisaab.webhooks import service as events


def _quota_limits(
    session: Session, tenant_id: str, features: dict[str, object]
) -> dict[str, Decimal]:
    numeric = {
        key: Decimal(str(value))
        for key, value in features.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    meters = usage.meters_by_codes(session, tenant_id, list(numeric))
    return {code: numeric[code] for code in meters}


def _period(subscription: Subscription) -> tuple[datetime | None, datetime | None]:
    return subscription.current_period_start, subscription.current_period_end


def entitlements(session: Session, tenant_id: str, customer_id: str) -> EntitlementsOut:
    subscription = subscriptions.billing_subscription(session, tenant_id, customer_id)
    return _entitlements(session, tenant_id, subscription)


def _entitlements(session: Session, tenant_id: str, subscription: Subscription) -> EntitlementsOut:
    terms = subscriptions.current_terms(session, subscription)
    limits = _quota_limits(session, tenant_id, terms.features)
    start, end = _period(subscription)
    used = (
        usage.aggregate_many(session, tenant_id, subscription.customer_id, list(limits), start, end)
        if limits and start is not None and end is not None
        else {}
    )
    quotas = []
    for meter, limit in sorted(limits.items()):
        value = used.get(meter, Decimal(0))
        quotas.append(
            QuotaOut(
                meter=meter,
                limit=usage.decimal_text(limit),
                usage=usage.decimal_text(value),
                remaining=usage.decimal_text(max(limit - value, Decimal(0))),
                exceeded=value >= limit,
            )
        )
    return EntitlementsOut(
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        status=subscription.status,
        plan_id=terms.plan_id,
        plan_version=terms.version,
        period_start=start,
        period_end=end,
        features=[FeatureOut(key=k, value=v) for k, v in sorted(terms.features.items())],
        quotas=quotas,
    )


def customer_usage(
    session: Session, tenant_id: str, customer_id: str, meter: str | None, now: datetime
) -> CustomerUsageOut:
    """Usage so far in the current period of the customer's billed subscription."""
    try:
        subscription = subscriptions.billing_subscription(session, tenant_id, customer_id)
    except HisaabError as refused:
        if refused.code != "no_active_subscription":
            raise
        period = None
    else:
        start, end = _period(subscription)
        period = (start, end) if start is not None and end is not None else None
    return usage.customer_usage(session, tenant_id, customer_id, meter, period, now)


def check_thresholds(session: Session, tenant_id: str, customer_ids: list[str]) -> int:
    """Announce each quota these customers reached in their current period, once per period
    (a unique row per subscription, meter and period makes a replay a no-op)."""
    announced = 0
    for customer_id in dict.fromkeys(customer_ids):
        try:
            subscription = subscriptions.billing_subscription(session, tenant_id, customer_id)
        except HisaabError:  # no billed subscription: no quota to reach
            continue
        view = _entitlements(session, tenant_id, subscription)
        if view.period_start is None:
            continue
        for quota in view.quotas:
            if not quota.exceeded:
                continue
            if repository.mark_reached(
                session, tenant_id, subscription.id, quota.meter, view.period_start
            ):
                now = subscriptions.now_of(session, subscription)
                events.emit(
                    session,
                    tenant_id,
                    "usage.threshold_reached",
                    ThresholdOut(
                        id=subscription.id,
                        customer_id=customer_id,
                        subscription_id=subscription.id,
                        period_start=view.period_start,
                        period_end=view.period_end,
                        **quota.model_dump(),
                    ),
                    now,
                )
                announced += 1
    return announced
