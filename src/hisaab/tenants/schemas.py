"""The tenant API's shapes (API.md "Tenants and keys")."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from hisaab.core.schemas import EMAIL_PATTERN, Address, InputModel


class TaxRegistration(InputModel):
    scheme: Literal["in_gst", "eu_vat", "eu_oss", "gb_vat"]
    number: str = Field(min_length=1, max_length=40)


class DunningSettings(InputModel):
    retry_days: list[int] = Field(default=[1, 3, 5], max_length=10)
    final_action: Literal["cancel", "unpaid", "past_due"] = "cancel"

    @field_validator("retry_days")
    @classmethod
    def _increasing(cls, days: list[int]) -> list[int]:
        if any(day < 1 or day > 90 for day in days):
            raise ValueError("each retry day must be between 1 and 90")
        if any(b <= a for a, b in itertools.pairwise(days)):
            raise ValueError("retry days must be strictly increasing")
        return days


class StripeCredentials(InputModel):
    secret_key: str = Field(
        min_length=8, max_length=255, pattern=r"^(sk|rk)_(test|live)_[A-Za-z0-9]+$"
    )
    webhook_secret: str | None = Field(
        default=None, min_length=8, max_length=255, pattern=r"^whsec_[A-Za-z0-9+/=_-]+$"
    )


class RazorpayCredentials(InputModel):
    key_id: str = Field(min_length=8, max_length=64, pattern=r"^rzp_(test|live)_[A-Za-z0-9]+$")
    key_secret: str = Field(min_length=8, max_length=255)
    webhook_secret: str | None = Field(default=None, min_length=8, max_length=255)


class GatewayCredentials(InputModel):
    """Write-only: what is sent is sealed and never returned; `null` removes a gateway."""

    stripe: StripeCredentials | None = None
    razorpay: RazorpayCredentials | None = None


class GatewayStatus(BaseModel):
    configured: bool
    webhook_secret_set: bool
    # Enough to tell which account is connected, never the secret itself.
    account_hint: str | None


class TenantCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2, examples=["IN"])
    state: str | None = Field(default=None, max_length=6, examples=["KA"])
    gstin: str | None = Field(default=None, max_length=20, examples=["29AAACA1234A1ZG"])
    base_currency: str = Field(min_length=3, max_length=3, examples=["INR"])
    timezone: str = Field(default="UTC", max_length=64, examples=["Asia/Kolkata"])
    invoice_prefix: str | None = Field(default=None, max_length=10, examples=["ACME"])
    lut: bool = False
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    address: Address | None = None
    logo: str | None = Field(
        default=None,
        max_length=400_000,
        description="Printed on invoices: `data:image/png;base64,…` or image/jpeg, at most "
        "256 KiB and 2000 px a side.",
    )
    tax_registrations: list[TaxRegistration] = Field(default_factory=list, max_length=10)


class TenantUpdate(InputModel):
    """PATCH: only the fields present change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    address: Address | None = None
    logo: str | None = Field(
        default=None,
        max_length=400_000,
        description="Printed on invoices: `data:image/png;base64,…` or image/jpeg, at most "
        "256 KiB and 2000 px a side.",
    )
    timezone: str | None = Field(default=None, max_length=64)
    invoice_prefix: str | None = Field(default=None, max_length=10)
    lut: bool | None = None
    tax_registrations: list[TaxRegistration] | None = Field(default=None, max_length=10)
    dunning: DunningSettings | None = None
    gateways: GatewayCredentials | None = None


class TenantOut(BaseModel):
    object: Literal["tenant"] = "tenant"
    id: str
    name: str
    country: str
    state: str | None
    gstin: str | None
    base_currency: str
    timezone: str
    invoice_prefix: str
    lut: bool
    email: str | None
    address: dict[str, Any] | None
    logo: str | None
    tax_registrations: list[TaxRegistration]
    dunning: DunningSettings
    gateways: dict[str, GatewayStatus] = Field(
        description="Which gateways can charge: `sandbox` always; the secrets are write-only."
    )
    created_at: datetime
    updated_at: datetime


class ApiKeyOut(BaseModel):
    object: Literal["api_key"] = "api_key"
    id: str
    redacted_secret: str = Field(description="`sk_…` and the secret's last four characters.")
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    secret: str = Field(description="Shown once; Hisaab keeps only its hash.")


class TenantCreated(BaseModel):
    tenant: TenantOut
    api_key: ApiKeyCreated
