"""Subscription shapes (API.md "Subscriptions")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from hisaab.core.schemas import InputModel, Rfc3339
from hisaab.subscriptions.lifecycle import Status

CollectionMethod = Literal["charge_automatically", "send_invoice"]
ProrationBehavior = Literal["create_prorations", "always_invoice", "none"]
DEFAULT_DAYS_UNTIL_DUE = 15


class SubscriptionCreate(InputModel):
    customer_id: str = Field(max_length=64)
    plan_id: str = Field(max_length=64)
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    trial_days: int | None = Field(
        default=None, ge=0, le=730, description="Overrides the plan's trial; 0 for none."
    )
    coupon: str | None = Field(
        default=None, max_length=64, description="A coupon id `coupon_…` or code."
    )
    collection_method: CollectionMethod = "charge_automatically"
    days_until_due: int | None = Field(
        default=None,
        ge=0,
        le=365,
        description=f"`send_invoice` only; {DEFAULT_DAYS_UNTIL_DUE} if absent.",
    )
    start_at: Rfc3339 | None = Field(
        default=None, description="A future start; the subscription is `not_started` until then."
    )
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _due_days_for_invoices(self) -> SubscriptionCreate:
        if self.days_until_due is not None and self.collection_method != "send_invoice":
            raise ValueError("days_until_due applies only to collection_method send_invoice")
        return self


class SubscriptionChange(InputModel):
    plan_id: str | None = Field(
        default=None, max_length=64, description="The plan's current version is taken."
    )
    quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    proration_behavior: ProrationBehavior = "create_prorations"
    effective_at: Literal["now", "period_end"] = "now"

    @model_validator(mode="after")
    def _something_to_change(self) -> SubscriptionChange:
        if self.plan_id is None and self.quantity is None:
            raise ValueError("give plan_id, quantity or both")
        return self


class SubscriptionCancel(InputModel):
    at_period_end: bool = Field(
        default=False, description="Cancel when the current period (or trial) ends, not now."
    )


class ScheduledChangeOut(BaseModel):
    plan_id: str
    plan_version: int
    quantity: int
    effective_at: datetime | None = Field(description="The end of the current period or trial.")


class SubscriptionOut(BaseModel):
    object: Literal["subscription"] = "subscription"
    id: str
    customer_id: str
    plan_id: str
    plan_version: int
    quantity: int
    currency: str
    unit_amount: int
    status: Status
    collection_method: CollectionMethod
    days_until_due: int | None
    start_at: datetime
    billing_cycle_anchor: datetime | None
    current_period_start: datetime | None
    current_period_end: datetime | None
    trial_start: datetime | None
    trial_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    paused_at: datetime | None
    coupon_id: str | None
    discount_end: datetime | None
    latest_invoice_id: str | None
    scheduled_change: ScheduledChangeOut | None
    test_clock_id: str | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime
