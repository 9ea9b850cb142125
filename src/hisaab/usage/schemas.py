"""The usage API's shapes (API.md "Usage-based billing")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from hisaab.core.schemas import InputModel
from hisaab.usage.intake import MAX_ID_LENGTH, METER_CODE_PATTERN

Aggregation = Literal["count", "sum", "max", "unique_count", "latest"]


class MeterCreate(InputModel):
    code: str = Field(
        pattern=METER_CODE_PATTERN,
        examples=["api_calls"],
        description="What events name the meter by; unique among your meters.",
    )
    aggregation: Aggregation = Field(
        description="How a period's events become one quantity: `count` events, `sum` or "
        "`max` of `field`, `unique_count` of distinct values of `field`, or the `latest` "
        "value of `field` (by timestamp, then by arrival)."
    )
    field: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        examples=["tokens"],
        description="The event property aggregated: required except for `count` (422 "
        "`meter_field_required` / `meter_field_not_allowed`).",
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Shown on invoices; the code if not given.",
    )


class MeterOut(BaseModel):
    object: Literal["meter"] = "meter"
    id: str
    code: str
    name: str
    aggregation: Aggregation
    field: str | None
    created_at: datetime


class UsageEventIn(BaseModel):
    """One usage event (documentation of what each element of `events` should be: every event
    is checked on its own, and a bad one is reported in `errors` instead of failing the call)."""

    id: str = Field(
        min_length=1,
        max_length=MAX_ID_LENGTH,
        description="Your unique id of the event: an id sent again is counted once.",
    )
    customer_id: str | None = Field(default=None, description="`cus_…`; or external_customer_id.")
    external_customer_id: str | None = Field(default=None, description="Your id of the customer.")
    meter: str = Field(pattern=METER_CODE_PATTERN, description="The meter's code.")
    timestamp: datetime = Field(
        description="When it happened (RFC 3339): from the start of the customer's current "
        "billing period less 24 h (or 35 days back without one) up to 5 minutes ahead of the "
        "customer's clock."
    )
    properties: dict[str, Any] = Field(
        default_factory=dict, description="The meter's `field` is read from here."
    )


class UsageEventError(BaseModel):
    index: int = Field(description="Position of the event in `events`.")
    id: str | None
    code: str
    message: str


class UsageEventsAccepted(BaseModel):
    object: Literal["usage_event_batch"] = "usage_event_batch"
    accepted: int = Field(description="Events stored now.")
    duplicates: int = Field(
        description="Events whose id was sent before (or earlier in the batch)."
    )
    rejected: int = Field(description="Events refused; each has an entry in `errors`.")
    errors: list[UsageEventError]


class MeterUsage(BaseModel):
    meter: str
    aggregation: Aggregation
    value: str = Field(description="The period's quantity so far, a decimal string.")


class CustomerUsageOut(BaseModel):
    object: Literal["customer_usage"] = "customer_usage"
    customer_id: str
    period_start: datetime
    period_end: datetime
    period_source: Literal["subscription", "calendar_month"] = Field(
        description="The customer's billing period, or the calendar month of its clock in your "
        "timezone when it has no active subscription."
    )
    meters: list[MeterUsage]
