"""Invoice shapes (API.md "Invoices, credit notes, payments")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from hisaab.core.schemas import InputModel

InvoiceStatus = Literal["draft", "open", "paid", "void", "uncollectible"]


class TaxLineOut(BaseModel):
    type: str = Field(examples=["IGST"])
    rate: str = Field(description="Percent, as a decimal string.", examples=["18.00"])
    jurisdiction: str
    taxable_amount: int
    amount: int


class InvoiceLineOut(BaseModel):
    object: Literal["line_item"] = "line_item"
    id: str
    kind: Literal["subscription", "proration"]
    description: str
    quantity: int
    unit_amount: int
    amount: int = Field(description="quantity * unit_amount (prorated for proration lines).")
    discount_amount: int
    period_start: datetime
    period_end: datetime
    proration: bool
    plan_id: str | None
    plan_version: int | None
    sac_code: str | None
    tax_behavior: Literal["exclusive", "inclusive"]
    tax_lines: list[TaxLineOut]


class InvoiceOut(BaseModel):
    object: Literal["invoice"] = "invoice"
    id: str
    number: str | None
    status: InvoiceStatus
    customer_id: str
    subscription_id: str | None
    billing_reason: Literal[
        "subscription_create", "subscription_cycle", "subscription_update", "manual"
    ]
    collection_method: Literal["charge_automatically", "send_invoice"]
    currency: str
    subtotal: int
    discount: int
    tax: int
    total: int
    credit_applied: int = Field(description="Customer credit balance used to pay this invoice.")
    amount_due: int
    amount_paid: int
    amount_remaining: int
    period_start: datetime | None
    period_end: datetime | None
    issued_at: datetime | None
    due_at: datetime | None
    paid_at: datetime | None
    paid_out_of_band: bool
    voided_at: datetime | None
    marked_uncollectible_at: datetime | None
    place_of_supply: str | None
    reverse_charge: bool
    lines: list[InvoiceLineOut]
    tax_lines: list[TaxLineOut]
    notes: list[str]
    customer: dict[str, Any] = Field(description="The customer as it was when issued.")
    test_clock_id: str | None
    created_at: datetime


class InvoiceList(BaseModel):
    object: Literal["list"] = "list"
    data: list[InvoiceOut]
    has_more: bool = False
    next_cursor: str | None = None


class GenerateInvoices(InputModel):
    """Exactly one of the two."""

    subscription_id: str | None = Field(default=None, max_length=64)
    customer_id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _one_target(self) -> GenerateInvoices:
        if (self.subscription_id is None) == (self.customer_id is None):
            raise ValueError("give exactly one of subscription_id and customer_id")
        return self


class PayInvoice(InputModel):
    paid_out_of_band: bool = Field(
        default=False,
        description="The tenant received the money outside Hisaab (bank transfer, UPI …).",
    )


class CreditBalanceOut(BaseModel):
    object: Literal["credit_balance"] = "credit_balance"
    customer_id: str
    currency: str
    balance: int = Field(description="Credit the customer has for future invoices.")
