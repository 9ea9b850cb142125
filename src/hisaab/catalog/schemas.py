"""The catalog API's shapes (API.md "Catalog")."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr, field_validator

from hisaab.catalog.terms import Duration, TaxBehavior
from hisaab.core.schemas import InputModel, Rfc3339
from hisaab.subscriptions.periods import Interval
from hisaab.usage.pricing import MAX_TIERS
from hisaab.usage.pricing import Model as ChargeModel

PLAN_CODE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
# Coupon codes are typed by customers, so any case is accepted and they are kept upper case.
COUPON_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
SAC_PATTERN = r"^99[0-9]{4}$"
METER_CODE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"  # as usage accepts meter codes
DEFAULT_SAC = "998314"  # "IT design and development services": SaaS in India (API.md "Tax")
MAX_AMOUNT = 10**12
MAX_INT32 = 2**31 - 1
PlanStatus = Literal["active", "archived"]
CouponStatus = Literal["active", "archived"]

# Integers a JavaScript client reads exactly, like every other JSON number it gets from us.
MAX_SAFE_INTEGER = 2**53 - 1
FeatureKey = Annotated[str, Field(min_length=1, max_length=40)]
FeatureValue = (
    StrictBool
    | Annotated[StrictInt, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]
    | Annotated[StrictStr, Field(max_length=500)]
    | None
)
Features = Annotated[
    dict[FeatureKey, FeatureValue],
    Field(
        max_length=50,
        description='What the plan includes (`{"seats": 10, "sso": true}`): at most 50 '
        "keys of up to 40 characters; values true/false, integers (within ±2^53), text up to "
        "500 characters or null.",
        examples=[{"seats": 10, "sso": True}],
    ),
]


class PriceIn(InputModel):
    currency: str = Field(min_length=3, max_length=3, examples=["INR"])
    unit_amount: int = Field(ge=0, le=MAX_AMOUNT, description="Minor units (paise, cents).")


Prices = Annotated[
    list[PriceIn],
    Field(min_length=1, max_length=50, description="One price per currency (at least one)."),
]
IntervalCount = Annotated[
    int,
    Field(
        ge=1,
        le=365,
        description="Periods of `interval` per billing cycle: at most 365 days, 156 weeks, "
        "36 months or 3 years.",
    ),
]
TrialDays = Annotated[int, Field(ge=0, le=730)]
SacCode = Annotated[
    str, Field(pattern=SAC_PATTERN, description="Indian SAC of the service.", examples=["998314"])
]


# A unit amount is minor units: an integer, or a decimal string for prices below one minor unit
# (Stripe's `unit_amount_decimal`). JSON floats are refused: 0.1 is not the price that was meant.
UnitAmount = Annotated[
    Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]
    | Annotated[StrictStr, Field(pattern=r"^[0-9]{1,13}(\.[0-9]{1,12})?$")],
    Field(
        description="Minor units per unit: an integer, or a decimal string with up to 12 "
        'decimal places for prices below one minor unit ("0.025" paise per token).',
        examples=[50, "0.025"],
    ),
]


class TierIn(InputModel):
    up_to: Annotated[StrictInt, Field(ge=1, le=MAX_SAFE_INTEGER)] | None = Field(
        description="Last unit in this tier (inclusive); null for the last tier, which has no "
        "end. The first tier starts at 0 units."
    )
    unit_amount: UnitAmount
    flat_amount: Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)] | None = Field(
        default=None,
        description="Minor units charged once per period when usage reaches this tier (the "
        "first tier is always reached, even with no usage).",
    )


class ChargeIn(InputModel):
    """A metered charge; which of unit_amount, tiers and package_size it takes depends on
    `model` (422 `<field>_required` / `<field>_not_allowed`)."""

    meter: str = Field(pattern=METER_CODE_PATTERN, description="The meter's code.")
    model: ChargeModel
    currency: str = Field(min_length=3, max_length=3, examples=["INR"])
    unit_amount: UnitAmount | None = Field(
        default=None, description="per_unit: price of a unit; package: price of a package."
    )
    tiers: list[TierIn] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TIERS,
        description="graduated and volume: tiers in increasing up_to, the last with up_to null.",
    )
    package_size: Annotated[StrictInt, Field(ge=1, le=MAX_SAFE_INTEGER)] | None = Field(
        default=None,
        description="package: units in a package; a started package is billed whole.",
    )


Charges = Annotated[
    list[ChargeIn],
    Field(
        max_length=50,
        description="Metered charges billed in arrears, at most one per meter and currency; "
        "each charge's currency must be one the plan has a price in.",
    ),
]


class PlanCreate(InputModel):
    code: str = Field(pattern=PLAN_CODE_PATTERN, examples=["pro"])
    name: str = Field(min_length=1, max_length=200, examples=["Pro"])
    description: str | None = Field(default=None, max_length=2000)
    interval: Interval
    interval_count: IntervalCount = 1
    trial_days: TrialDays = 0
    prices: Prices
    tax_behavior: TaxBehavior = "exclusive"
    sac_code: SacCode = DEFAULT_SAC
    features: Features = Field(default_factory=dict)
    charges: Charges = Field(default_factory=list)


# PATCH fields that a version fixes: changing any of them makes a new version.
VERSIONED_FIELDS = frozenset(
    {
        "interval",
        "interval_count",
        "trial_days",
        "prices",
        "tax_behavior",
        "sac_code",
        "features",
        "charges",
    }
)


class PlanUpdate(InputModel):
    """PATCH: only the fields present change. `prices`, `features` and `charges` replace the
    whole list or map (`"charges": []` removes them all). Changing any term (everything but
    name and description) makes a new version."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    interval: Interval | None = None
    interval_count: IntervalCount | None = None
    trial_days: TrialDays | None = None
    prices: Prices | None = None
    tax_behavior: TaxBehavior | None = None
    sac_code: SacCode | None = None
    features: Features | None = None
    charges: Charges | None = None

    @field_validator(
        "name",
        "interval",
        "interval_count",
        "trial_days",
        "prices",
        "tax_behavior",
        "sac_code",
        "features",
        "charges",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Only `description` can be cleared; null elsewhere would be a silent no-op.
        if value is None:
            raise ValueError("may not be null; leave the field out to keep it")
        return value


class PriceOut(BaseModel):
    currency: str
    unit_amount: int


class TierOut(BaseModel):
    up_to: int | None
    unit_amount: int | str = Field(description="An integer, or a decimal string if fractional.")
    flat_amount: int


class ChargeOut(BaseModel):
    meter: str
    model: ChargeModel
    currency: str
    unit_amount: int | str | None = Field(
        description="per_unit and package; an integer, or a decimal string if fractional."
    )
    tiers: list[TierOut] | None = Field(description="graduated and volume.")
    package_size: int | None = Field(description="package.")


class PlanOut(BaseModel):
    object: Literal["plan"] = "plan"
    id: str
    code: str
    name: str
    description: str | None
    status: PlanStatus
    version: int = Field(description="The version shown (the current one unless asked).")
    interval: Interval
    interval_count: int
    trial_days: int
    prices: list[PriceOut] = Field(description="Sorted by currency.")
    tax_behavior: TaxBehavior
    sac_code: str
    features: dict[str, FeatureValue]
    charges: list[ChargeOut] = Field(description="Sorted by meter, then currency.")
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class PlanVersionOut(BaseModel):
    object: Literal["plan_version"] = "plan_version"
    plan_id: str
    version: int
    current: bool = Field(description="Whether new subscriptions get this version.")
    interval: Interval
    interval_count: int
    trial_days: int
    prices: list[PriceOut]
    tax_behavior: TaxBehavior
    sac_code: str
    features: dict[str, FeatureValue]
    charges: list[ChargeOut]
    created_at: datetime


class CouponCreate(InputModel):
    code: str = Field(pattern=COUPON_CODE_PATTERN, examples=["SUMMER25"])
    name: str | None = Field(default=None, max_length=200)
    percent_off: Decimal | None = Field(
        default=None,
        gt=0,
        le=100,
        max_digits=5,
        decimal_places=2,
        description="Percent off, up to 2 decimals: a number or a decimal string.",
        examples=["25.00"],
    )
    amount_off: int | None = Field(
        default=None, ge=1, le=MAX_AMOUNT, description="Minor units off; needs `currency`."
    )
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    duration: Duration
    duration_in_periods: int | None = Field(
        default=None, ge=1, le=120, description="Required for (and only for) `repeating`."
    )
    max_redemptions: int | None = Field(default=None, ge=1, le=MAX_INT32)
    redeem_by: Rfc3339 | None = None


class CouponOut(BaseModel):
    object: Literal["coupon"] = "coupon"
    id: str
    code: str
    name: str | None
    percent_off: str | None = Field(description="A decimal string such as `25.00`.")
    amount_off: int | None
    currency: str | None
    duration: Duration
    duration_in_periods: int | None
    max_redemptions: int | None
    redeem_by: datetime | None
    status: CouponStatus
    created_at: datetime
