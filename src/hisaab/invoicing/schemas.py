"""Invoice shapes (API.md "Invoices, credit notes, payments")."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from hisaab.core.schemas import InputModel

# A field below is called `date`; this name keeps its type readable inside those classes.
Day = date

InvoiceStatus = Literal["draft", "open", "paid", "void", "uncollectible"]


class TaxLineOut(BaseModel):
    type: str = Field(examples=["IGST"])
    rate: str = Field(description="Percent, as a decimal string.", examples=["18.00"])
    jurisdiction: str
    taxable_amount: int
    amount: int


class InrTaxLineOut(BaseModel):
    type: str
    rate: str
    amount: int = Field(description="In paise.")


class InrValuesOut(BaseModel):
    currency: Literal["INR"] = "INR"
    rate: str = Field(
        description="Rupees per unit of the document's currency.", examples=["83.1250"]
    )
    rate_date: date
    taxable_amount: int = Field(description="In paise.")
    tax_lines: list[InrTaxLineOut]
    tax: int
    total: int


class UsageTierOut(BaseModel):
    up_to: int | None
    quantity: str = Field(description="Units billed in this tier (a decimal string).")
    unit_amount: str
    flat_amount: int
    amount: int


class LineUsageOut(BaseModel):
    """What a usage line measured and how its charge priced it."""

    meter: str
    aggregation: str
    quantity: str = Field(description="The exact quantity measured (a decimal string).")
    model: Literal["per_unit", "graduated", "volume", "package"]
    tiers: list[UsageTierOut]


class InvoiceLineOut(BaseModel):
    object: Literal["line_item"] = "line_item"
    id: str
    kind: Literal["subscription", "proration", "usage"]
    description: str
    quantity: int = Field(description="Usage lines: the measured quantity rounded half up.")
    unit_amount: int
    amount: int = Field(
        description="quantity * unit_amount (prorated for proration lines; usage lines: the "
        "charge's price of the measured quantity, see `usage`)."
    )
    discount_amount: int
    period_start: datetime
    period_end: datetime
    proration: bool
    plan_id: str | None
    plan_version: int | None
    sac_code: str | None
    tax_behavior: Literal["exclusive", "inclusive"]
    tax_lines: list[TaxLineOut]
    usage: LineUsageOut | None = None


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
    amount_credited: int = Field(description="Taken off by credit notes, in total.")
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
    inr_values: InrValuesOut | None = Field(
        description="A GST tenant's foreign-currency invoice in rupees, at the rate it used."
    )
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


# --- credit notes ----------------------------------------------------------------------------

CreditNoteReason = Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"]


class CreditNoteLineIn(InputModel):
    invoice_line_id: str = Field(max_length=64)
    amount: int = Field(gt=0, le=10**15, description="Taxable value to take back; tax is added.")


class CreditNoteCreate(InputModel):
    """Either `amount` (a total including tax), or `lines`, or neither (the whole invoice)."""

    invoice_id: str = Field(max_length=64)
    amount: int | None = Field(default=None, gt=0, le=10**15)
    lines: list[CreditNoteLineIn] | None = Field(default=None, min_length=1, max_length=500)
    reason: CreditNoteReason
    memo: str | None = Field(default=None, max_length=500)
    refund: bool = Field(
        default=False,
        description="Give back what was paid (recorded as refunded outside Hisaab when the "
        "invoice was paid out of band); otherwise it becomes customer credit.",
    )

    @model_validator(mode="after")
    def _one_way(self) -> CreditNoteCreate:
        if self.amount is not None and self.lines is not None:
            raise ValueError("give amount or lines, not both")
        return self


class CreditNoteLineOut(BaseModel):
    object: Literal["credit_note_line"] = "credit_note_line"
    id: str
    invoice_line_id: str
    description: str
    sac_code: str | None
    taxable_amount: int
    tax: int
    amount: int
    tax_lines: list[TaxLineOut]


class CreditNoteOut(BaseModel):
    object: Literal["credit_note"] = "credit_note"
    id: str
    number: str
    invoice_id: str
    invoice_number: str
    customer_id: str
    currency: str
    reason: CreditNoteReason
    memo: str | None
    subtotal: int = Field(description="Taxable value taken back.")
    tax: int
    total: int
    credited_to_invoice: int = Field(description="Taken off what the invoice still owed.")
    credited_to_balance: int = Field(description="Added to the customer's credit balance.")
    refunded: int
    lines: list[CreditNoteLineOut]
    tax_lines: list[TaxLineOut]
    place_of_supply: str | None
    reverse_charge: bool
    notes: list[str]
    inr_values: InrValuesOut | None
    customer: dict[str, Any]
    test_clock_id: str | None
    issued_at: datetime
    created_at: datetime


# --- exchange rates --------------------------------------------------------------------------


class ExchangeRateIn(InputModel):
    rate_to_inr: Decimal = Field(
        gt=0, le=1_000_000, max_digits=18, decimal_places=6, examples=["83.1250"]
    )
    date: Day | None = Field(
        default=None, description="From which day the rate applies; today (tenant's time zone)."
    )


class ExchangeRateOut(BaseModel):
    object: Literal["exchange_rate"] = "exchange_rate"
    currency: str
    rate_to_inr: str
    date: Day


class ExchangeRateList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ExchangeRateOut]
