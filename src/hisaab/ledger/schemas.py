"""Ledger shapes (API.md "Ledger")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class AccountBalanceOut(BaseModel):
    code: str = Field(examples=["1100"])
    name: str = Field(examples=["Accounts receivable"])
    type: Literal["asset", "liability", "revenue", "contra_revenue", "expense"]
    normal_balance: Literal["debit", "credit"] = Field(
        description="The side that increases the account."
    )
    debits: int
    credits: int
    balance: int = Field(
        description="On the normal side: debits - credits for debit accounts, credits - debits "
        "for credit accounts."
    )


class TrialBalanceOut(BaseModel):
    object: Literal["trial_balance"] = "trial_balance"
    currency: str
    test_clock_id: str | None = Field(
        description="Whose books: null for the real books, else that test clock's."
    )
    accounts: list[AccountBalanceOut] = Field(description="Every account used, by code.")
    total_debits: int
    total_credits: int


class EntryLineOut(BaseModel):
    account_code: str
    account_name: str
    debit: int
    credit: int
    customer_id: str | None
    invoice_id: str | None = Field(description="The invoice the amount concerns.")


class EntryOut(BaseModel):
    object: Literal["ledger_entry"] = "ledger_entry"
    id: str
    kind: str = Field(
        description="invoice_finalized, invoice_paid, invoice_written_off, invoice_voided, "
        "revenue_recognized or credit_note."
    )
    source_type: str = Field(examples=["invoice", "credit_note"])
    source_id: str = Field(description="The document that posted the entry.")
    currency: str
    test_clock_id: str | None
    occurred_at: datetime = Field(description="When it happened on the customer's clock.")
    posted_at: datetime
    lines: list[EntryLineOut]
