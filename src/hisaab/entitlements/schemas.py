"""What a customer may use (API.md: `GET /v1/customers/{id}/entitlements`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class FeatureOut(BaseModel):
    key: str
    value: Any


class QuotaOut(BaseModel):
    meter: str
    limit: str = Field(description="The plan's feature value for the meter (a decimal string).")
    usage: str = Field(description="Measured so far this period (a decimal string).")
    remaining: str = Field(description="limit - usage, never below 0.")
    exceeded: bool


class EntitlementsOut(BaseModel):
    object: Literal["entitlements"] = "entitlements"
    customer_id: str
    subscription_id: str
    status: str
    plan_id: str
    plan_version: int
    period_start: datetime | None
    period_end: datetime | None
    features: list[FeatureOut] = Field(description="Every feature of the plan, as set on it.")
    quotas: list[QuotaOut] = Field(
        description="Numeric features named like one of the tenant's meters, with usage."
    )


class ThresholdOut(QuotaOut):
    """`usage.threshold_reached`: a quota used up; `id` is the subscription's."""

    object: Literal["usage_threshold"] = "usage_threshold"
    id: str
    customer_id: str
    subscription_id: str
    period_start: datetime
    period_end: datetime | None
