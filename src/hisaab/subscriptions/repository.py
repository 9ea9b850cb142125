"""All SQL of subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from hisaab.core.pagination import PageRequest, Slice, fetch_page
from hisaab.core.queries import any_of
from hisaab.subscriptions.models import Subscription


def add(session: Session, subscription: Subscription) -> None:
    """Joins the session; inserted by its next flush, once its first state is complete."""
    session.add(subscription)


def unwritten(subscription: Subscription) -> bool:
    """Whether the subscription is still waiting for its first flush (being created)."""
    return sa_inspect(subscription).pending


def get(
    session: Session, tenant_id: str, subscription_id: str, *, for_update: bool = False
) -> Subscription | None:
    return session.get(
        Subscription,
        (tenant_id, subscription_id),
        with_for_update=for_update,
        populate_existing=for_update,
    )


def load_many(session: Session, subscription_ids: Sequence[str]) -> list[Subscription]:
    return list(
        session.scalars(select(Subscription).where(any_of(Subscription.id, subscription_ids)))
    )


def list_subscriptions(
    session: Session, page: PageRequest, customer_id: str | None, status: str | None
) -> Slice[Subscription]:
    statement = select(Subscription)
    if customer_id is not None:
        statement = statement.where(Subscription.customer_id == customer_id)
    if status is not None:
        statement = statement.where(Subscription.status == status)
    return fetch_page(session, statement, Subscription.id, page)


def of_customer(session: Session, customer_id: str) -> list[Subscription]:
    statement = (
        select(Subscription)
        .where(Subscription.customer_id == customer_id)
        .order_by(Subscription.id)
        .with_for_update()
    )
    return list(session.scalars(statement))


def count_with_coupon(session: Session, coupon_id: str) -> int:
    statement = select(func.count()).where(Subscription.coupon_id == coupon_id)
    return int(session.scalar(statement) or 0)


def _on_clock(clock_id: str | None) -> ColumnElement[bool]:
    if clock_id is None:
        return Subscription.test_clock_id.is_(None)
    return Subscription.test_clock_id == clock_id


def earliest_action(session: Session, clock_id: str | None, until: datetime) -> datetime | None:
    statement = select(func.min(Subscription.next_action_at)).where(
        _on_clock(clock_id), Subscription.next_action_at <= until
    )
    value: datetime | None = session.scalar(statement)
    return value


def claim_due(
    session: Session, clock_id: str | None, now: datetime, limit: int
) -> list[Subscription]:
    """Due subscriptions, locked; rows another worker holds are skipped, not waited for.

    PostgreSQL re-checks the condition on the newest row version after locking, so a
    subscription another worker just renewed (next_action_at moved on) is not returned.
    """
    statement = (
        select(Subscription)
        .where(_on_clock(clock_id), Subscription.next_action_at <= now)
        .order_by(Subscription.next_action_at, Subscription.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(statement))
