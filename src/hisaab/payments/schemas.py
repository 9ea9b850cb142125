"""Payment shapes (API.md "Invoices, credit notes, payments")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class RefundOut(BaseModel):
    object: Literal["refund"] = "refund"
    id: str
    payment_id: str
    credit_note_id: str | None
    amount: int
    currency: str
    status: Literal["pending", "succeeded", "failed"]
    gateway_refund_id: str | None
    failure_code: str | None
    created_at: datetime
    completed_at: datetime | None


class PaymentOut(BaseModel):
    object: Literal["payment"] = "payment"
    id: str
    invoice_id: str
    customer_id: str
    attempt_number: int
    reason: str = Field(
        description="`initial`, `retry` (dunning), `payment_method_updated`, `manual`, "
        "`amount_changed`."
    )
    amount: int
    currency: str
    gateway: str | None
    payment_method_id: str | None
    status: Literal["scheduled", "processing", "succeeded", "failed", "requires_action", "canceled"]
    failure_code: str | None
    failure_message: str | None
    gateway_charge_id: str | None
    action_url: str | None = Field(
        description="Where the customer completes a payment that needs them (authentication, "
        "or an Indian mandate debit above the RBI limit)."
    )
    off_session: bool
    scheduled_at: datetime
    created_at: datetime
    completed_at: datetime | None
    disputed_at: datetime | None
    refunded_amount: int
    refunds: list[RefundOut] = Field(default_factory=list)
