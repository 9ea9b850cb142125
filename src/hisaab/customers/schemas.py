"""The customer API's shapes (API.md "Customers and payment methods")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from hisaab.core.schemas import EMAIL_PATTERN, Address, InputModel
from hisaab.customers.rules import (
    METADATA_MAX_KEY_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_LENGTH,
)

MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=METADATA_MAX_KEY_LENGTH)]
MetadataValue = Annotated[str, StringConstraints(max_length=METADATA_MAX_VALUE_LENGTH)]
METADATA_DESCRIPTION = (
    f"Your own key-value strings: at most {METADATA_MAX_KEYS} keys of at most "
    f"{METADATA_MAX_KEY_LENGTH} characters, values of at most {METADATA_MAX_VALUE_LENGTH}."
)
Gateway = Literal["sandbox", "stripe", "razorpay"]
PaymentMethodType = Literal["card", "upi"]


class CustomerCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    phone: str | None = Field(
        default=None,
        pattern=r"^\+[1-9][0-9]{6,14}$",
        examples=["+919876543210"],
        description="E.164. Razorpay needs it for recurring charges (UPI AutoPay, cards).",
    )
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Your id for the customer; unique among your customers.",
    )
    country: str = Field(min_length=2, max_length=2, examples=["IN"])
    state: str | None = Field(
        default=None,
        max_length=6,
        examples=["MH"],
        description="ISO 3166-2 subdivision; required in India unless a GSTIN names it.",
    )
    gstin: str | None = Field(default=None, max_length=20, examples=["27AAPFU0939F1ZV"])
    vat_id: str | None = Field(default=None, max_length=30, examples=["DE136695976"])
    sez: bool = Field(default=False, description="An Indian Special Economic Zone unit.")
    currency: str | None = Field(
        default=None,
        min_length=3,
        max_length=3,
        description="What the customer is billed in; the tenant's base currency if not given.",
    )
    locale: str = Field(
        default="en",
        min_length=2,
        max_length=35,
        examples=["en-IN"],
        description="Language of invoices and emails; returned in CLDR form (`en_IN`).",
    )
    address: Address | None = None
    test_clock_id: str | None = Field(default=None, max_length=64)
    metadata: dict[MetadataKey, MetadataValue] = Field(
        default_factory=dict, max_length=METADATA_MAX_KEYS, description=METADATA_DESCRIPTION
    )


# Fields a PATCH may leave out but not set to null.
_NOT_NULL = ("name", "email", "country", "sez", "locale")


class CustomerUpdate(InputModel):
    """PATCH: only the fields present change; null clears a field that may be empty."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    phone: str | None = Field(
        default=None,
        pattern=r"^\+[1-9][0-9]{6,14}$",
        examples=["+919876543210"],
        description="E.164. Razorpay needs it for recurring charges (UPI AutoPay, cards).",
    )
    external_id: str | None = Field(default=None, min_length=1, max_length=200)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    state: str | None = Field(default=None, max_length=6)
    gstin: str | None = Field(default=None, max_length=20)
    vat_id: str | None = Field(default=None, max_length=30)
    sez: bool | None = None
    locale: str | None = Field(default=None, min_length=2, max_length=35)
    address: Address | None = None
    metadata: dict[MetadataKey, MetadataValue | None] | None = Field(
        default=None,
        max_length=METADATA_MAX_KEYS,
        description="Merged into the stored metadata: a key sent as null is removed, "
        "metadata null removes every key.",
    )
    default_payment_method_id: str | None = Field(
        default=None,
        max_length=64,
        description="One of the customer's attached payment methods; null: no default.",
    )
    currency: str | None = Field(
        default=None,
        max_length=3,
        description="Fixed at creation: a different value is refused (422 immutable_field).",
    )
    test_clock_id: str | None = Field(
        default=None,
        max_length=64,
        description="Fixed at creation: a different value is refused (422 immutable_field).",
    )

    @model_validator(mode="after")
    def _required_fields_stay(self) -> CustomerUpdate:
        for name in _NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class CustomerOut(BaseModel):
    object: Literal["customer"] = "customer"
    id: str
    name: str
    email: str
    phone: str | None
    external_id: str | None
    country: str
    state: str | None
    gstin: str | None
    vat_id: str | None
    sez: bool
    currency: str
    locale: str
    address: dict[str, Any] | None
    test_clock_id: str | None
    metadata: dict[str, str]
    default_payment_method_id: str | None
    created_at: datetime
    updated_at: datetime


class PaymentMethodCreate(InputModel):
    gateway: Gateway
    token: str = Field(
        min_length=1,
        max_length=255,
        examples=["pm_card_visa"],
        description="The gateway's token; for `sandbox` one of API.md's test tokens.",
    )
    type: PaymentMethodType | None = Field(
        default=None, description="What the token stands for; sandbox tokens know their own."
    )
    default: bool | None = Field(
        default=None,
        description="Make it the customer's default; by default it is one only if the "
        "customer has no default yet.",
    )


class PaymentMethodOut(BaseModel):
    object: Literal["payment_method"] = "payment_method"
    id: str
    customer_id: str
    gateway: Gateway
    type: PaymentMethodType
    token: str
    default: bool
    created_at: datetime
    detached_at: datetime | None
