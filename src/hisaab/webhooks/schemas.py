"""Event and webhook endpoint shapes (API.md "Webhooks": the body of a delivery is the event)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from hisaab.core.schemas import InputModel


class EventOut(BaseModel):
    object: Literal["event"] = "event"
    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]


EVENTS_DESCRIPTION = (
    'The event types to send: `["*"]` for every type (also types added later), or a list '
    'such as `["invoice.paid", "payment.failed"]`; an unknown type is refused '
    "(422 `unknown_event_type`)."
)
URL_DESCRIPTION = "Where events are POSTed: an `http` or `https` URL with a host."
EndpointStatus = Literal["enabled", "disabled"]
DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookEndpointCreate(InputModel):
    url: str = Field(min_length=1, max_length=2048, description=URL_DESCRIPTION)
    events: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=100, description=EVENTS_DESCRIPTION
    )
    description: str | None = Field(default=None, max_length=500)


class WebhookEndpointUpdate(InputModel):
    """PATCH: only the fields present change; `description` null clears it."""

    url: str | None = Field(
        default=None, min_length=1, max_length=2048, description=URL_DESCRIPTION
    )
    events: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, min_length=1, max_length=100, description=EVENTS_DESCRIPTION
    )
    description: str | None = Field(default=None, max_length=500)
    disabled: bool | None = Field(
        default=None,
        description="true disables the endpoint (nothing is sent to it), false enables it "
        "again, also after it was disabled for failing.",
    )

    @model_validator(mode="after")
    def _required_fields_stay(self) -> WebhookEndpointUpdate:
        for name in ("url", "events", "disabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class WebhookEndpointOut(BaseModel):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: str
    url: str
    events: list[str]
    description: str | None
    status: EndpointStatus
    disabled_at: datetime | None
    disabled_reason: Literal["manual", "failing"] | None = Field(
        description="`manual`: disabled with PATCH; `failing`: disabled by Hisaab after a "
        "delivery failed for good with no successful try to the endpoint since its first try."
    )
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointOut):
    secret: str = Field(
        description="`whsec_<base64>`, the Standard Webhooks signing secret; shown only in "
        "this response."
    )


class WebhookAttemptOut(BaseModel):
    object: Literal["webhook_attempt"] = "webhook_attempt"
    id: str
    trigger: Literal["scheduled", "manual"]
    succeeded: bool
    status_code: int | None = Field(description="Null when no HTTP answer came.")
    duration_ms: int
    error: str | None
    response_body: str | None = Field(description="The start of the receiver's answer.")
    attempted_at: datetime


class WebhookDeliveryOut(BaseModel):
    object: Literal["webhook_delivery"] = "webhook_delivery"
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempts: list[WebhookAttemptOut] = Field(description="Every try, oldest first.")


class EventResend(InputModel):
    endpoint_id: str | None = Field(
        default=None,
        max_length=64,
        description="Only to this endpoint; by default to every enabled endpoint whose "
        "`events` include the event's type.",
    )


class EventResendOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[WebhookDeliveryOut]


class WebhookEndpointDeleted(BaseModel):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: str
    deleted: Literal[True] = True
