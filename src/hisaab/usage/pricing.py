"""How a metered charge turns a period's usage into money: pure rules, no IO.

The four models mean what Stripe's documentation says they mean, so a tenant moving from Stripe
gets the same invoice for the same usage:

- `per_unit`: quantity x unit_amount.
- `graduated`: each unit is priced by the tier it falls in, and the flat fee of every tier
  reached is added (a tier is reached when any part of the quantity falls in it).
- `volume`: every unit is priced at the one tier the whole quantity falls in, plus that tier's
  flat fee. The total can fall when the quantity crosses into a cheaper tier (Stripe: "the total
  might decrease"); that is the model, not a bug.
- `package`: ceil(quantity / package_size) x unit_amount; a started package is a whole one.

Tier bounds are inclusive (`up_to: 1000` holds units 1..1000) and the first tier starts at 0, so a
period with no usage is in the first tier: its flat fee is charged even for 0 units, which is how
Stripe's "fixed fee and overage" model is built (first tier: flat fee, unit amount 0). A tenant
who wants nothing billed for no usage leaves the first tier's flat fee at 0.

Money (DESIGN rule 1): quantities may be fractional (sums of tokens or GB) and unit amounts may be
decimal strings of minor units (Stripe's `unit_amount_decimal`, for prices below one paisa), so
the arithmetic is exact Decimal and the total is rounded once, half up, to whole minor units. The
breakdown's amounts are integers that add up to exactly that total: each is the rounded running
total minus the previous rounded running total, so no tier is rounded on its own and no paisa is
lost or invented between the lines and the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any, Literal, cast, get_args

from hisaab.core.errors import invalid
from hisaab.core.money import currency_code

Model = Literal["per_unit", "graduated", "volume", "package"]
MODELS: tuple[str, ...] = get_args(Model)
TIERED: frozenset[str] = frozenset({"graduated", "volume"})

# The same ceiling as every other amount the catalog takes (schemas.MAX_AMOUNT), and integers
# that a JavaScript client reads exactly.
MAX_AMOUNT = 10**12
MAX_SAFE_INTEGER = 2**53 - 1
# Stripe's `unit_amount_decimal` allows 12 decimal places of a minor unit; so do we.
MAX_DECIMAL_PLACES = 12
MAX_TIERS = 50
# Enough digits that no quantity x unit amount is rounded before the one rounding at the end:
# usage up to 10^24 with 18 decimals (what events carry) x 10^12 minor units with 12 decimals is
# 67 digits.
_PRECISION = 80
_ONE = Decimal(1)
_SMALLEST = _ONE.scaleb(-MAX_DECIMAL_PLACES)

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Tier:
    up_to: int | None  # inclusive upper bound; None only for the last tier
    unit_amount: Decimal  # minor units per unit, possibly fractional
    flat_amount: int = 0  # minor units, once per period when the tier is reached


@dataclass(frozen=True)
class Charge:
    """One metered charge of a plan version, in one currency. Immutable like the version."""

    meter: str
    model: Model
    currency: str
    unit_amount: Decimal | None = None  # per_unit: per unit; package: per package
    tiers: tuple[Tier, ...] = ()  # graduated and volume
    package_size: int | None = None  # package

    def as_json(self) -> dict[str, Any]:
        """The stored and displayed form: the same JSON for the same charge, so a PATCH that
        repeats a plan's charges in another spelling (`"100"` for `100`, a missing flat_amount
        for 0) is recognised as no change."""
        return {
            "meter": self.meter,
            "model": self.model,
            "currency": self.currency,
            "unit_amount": None if self.unit_amount is None else amount_json(self.unit_amount),
            "tiers": [
                {
                    "up_to": tier.up_to,
                    "unit_amount": amount_json(tier.unit_amount),
                    "flat_amount": tier.flat_amount,
                }
                for tier in self.tiers
            ]
            or None,
            "package_size": self.package_size,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Charge:
        """A stored charge, trusted as written: it was validated when its version was made, and
        a version must stay readable even if the rules for new charges become stricter."""
        unit = data.get("unit_amount")
        return cls(
            meter=data["meter"],
            model=cast(Model, data["model"]),
            currency=data["currency"],
            unit_amount=None if unit is None else Decimal(str(unit)),
            tiers=tuple(
                Tier(
                    up_to=tier.get("up_to"),
                    unit_amount=Decimal(str(tier["unit_amount"])),
                    flat_amount=int(tier.get("flat_amount") or 0),
                )
                for tier in data.get("tiers") or ()
            ),
            package_size=data.get("package_size"),
        )


@dataclass(frozen=True)
class PricedTier:
    """One line of the breakdown the invoice shows under a charge."""

    tier: int | None  # 1-based index in the charge's tiers; None for per_unit and package
    up_to: int | None  # the tier's inclusive bound (None: unbounded or untiered)
    quantity: Decimal  # units priced in this entry
    unit_amount: Decimal  # per unit (per package for the package model)
    flat_amount: int
    amount: int  # minor units; the entries add up to Priced.amount exactly
    packages: int | None = None  # package model: packages billed (a started one counts)


@dataclass(frozen=True)
class Priced:
    currency: str
    quantity: Decimal
    amount: int  # minor units, rounded once, half up
    breakdown: tuple[PricedTier, ...]


# Pricing


def price(charge: Charge, quantity: Decimal) -> Priced:
    """What `quantity` units of the charge's meter cost for one period.

    A negative, infinite or NaN quantity is refused (ValueError): usage is a count or a sum of
    non-negative amounts, and pricing it as a credit would silently pay the customer.
    """
    if isinstance(quantity, float):
        raise TypeError("quantity must be a Decimal or an int, never a float")
    quantity = Decimal(quantity)
    if not quantity.is_finite() or quantity < 0:
        raise ValueError(f"cannot price a quantity of {quantity}")
    with localcontext(prec=_PRECISION, rounding=ROUND_HALF_UP):
        if charge.model == "per_unit":
            parts = [_untiered(quantity, _unit(charge))]
        elif charge.model == "package":
            parts = [_package(quantity, _unit(charge), _package_size(charge))]
        elif charge.model == "graduated":
            parts = _graduated(quantity, charge.tiers)
        elif charge.model == "volume":
            parts = [_volume(quantity, charge.tiers)]
        else:  # pragma: no cover - Model is closed; a stored row with another is corrupt
            raise ValueError(f"unknown pricing model {charge.model!r}")
        breakdown = _rounded(parts)
    return Priced(
        currency=charge.currency,
        quantity=quantity,
        amount=sum(entry.amount for entry in breakdown),
        breakdown=breakdown,
    )


@dataclass(frozen=True)
class _Part:
    """A breakdown entry before rounding: its exact amount."""

    tier: int | None
    up_to: int | None
    quantity: Decimal
    unit_amount: Decimal
    flat_amount: int
    exact: Decimal
    packages: int | None = None


def _unit(charge: Charge) -> Decimal:
    if charge.unit_amount is None:
        raise ValueError(f"a {charge.model} charge needs a unit_amount")
    return charge.unit_amount


def _package_size(charge: Charge) -> int:
    if charge.package_size is None or charge.package_size < 1:
        raise ValueError("a package charge needs a package_size of at least 1")
    return charge.package_size


def _untiered(quantity: Decimal, unit: Decimal) -> _Part:
    return _Part(None, None, quantity, unit, 0, quantity * unit)


def _package(quantity: Decimal, unit: Decimal, size: int) -> _Part:
    # divmod is exact where a division then a ceiling could round just below a whole number.
    whole, rest = divmod(quantity, Decimal(size))
    packages = int(whole) + (1 if rest > 0 else 0)
    return _Part(None, None, quantity, unit, 0, packages * unit, packages=packages)


def _tiers(tiers: Sequence[Tier]) -> Sequence[Tier]:
    if not tiers or tiers[-1].up_to is not None:
        raise ValueError("tiers must end with an unbounded tier (up_to None)")
    return tiers


def _graduated(quantity: Decimal, tiers: Sequence[Tier]) -> list[_Part]:
    parts: list[_Part] = []
    below = Decimal(0)  # the previous tier's bound: this tier holds (below, up_to]
    for index, tier in enumerate(_tiers(tiers), start=1):
        if index > 1 and quantity <= below:
            break  # not reached: no units in it, so no flat fee either
        top = quantity if tier.up_to is None else min(quantity, Decimal(tier.up_to))
        units = top - below
        parts.append(
            _Part(
                index,
                tier.up_to,
                units,
                tier.unit_amount,
                tier.flat_amount,
                units * tier.unit_amount + tier.flat_amount,
            )
        )
        if tier.up_to is None:
            break
        below = Decimal(tier.up_to)
    return parts


def _volume(quantity: Decimal, tiers: Sequence[Tier]) -> _Part:
    for index, tier in enumerate(_tiers(tiers), start=1):
        if tier.up_to is None or quantity <= tier.up_to:
            return _Part(
                index,
                tier.up_to,
                quantity,
                tier.unit_amount,
                tier.flat_amount,
                quantity * tier.unit_amount + tier.flat_amount,
            )
    raise AssertionError("unreachable: the last tier is unbounded")  # pragma: no cover


def _round(value: Decimal) -> int:
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP))


def _rounded(parts: Sequence[_Part]) -> tuple[PricedTier, ...]:
    """Integer amounts that add up to the rounded exact total (see the module's docstring)."""
    entries: list[PricedTier] = []
    running = Decimal(0)
    shown = 0
    for part in parts:
        running += part.exact
        amount = _round(running) - shown
        shown += amount
        entries.append(
            PricedTier(
                tier=part.tier,
                up_to=part.up_to,
                quantity=part.quantity,
                unit_amount=part.unit_amount,
                flat_amount=part.flat_amount,
                amount=amount,
                packages=part.packages,
            )
        )
    return tuple(entries)


# Validation of a charge as a client writes it


def amount_json(value: Decimal) -> int | str:
    """A whole number of minor units as a JSON integer, a fraction as a plain decimal string."""
    if value == value.to_integral_value():
        return int(value)
    return format(value.normalize(), "f")


def unit_amount(value: Any, loc: Loc) -> Decimal:
    """Minor units per unit: an integer, or a decimal string with up to 12 places (never a
    JSON float, whose binary value is not the price the tenant wrote)."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise invalid(
            "invalid_amount",
            'An amount is an integer of minor units or a decimal string such as "0.25".',
            loc,
        )
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise invalid("invalid_amount", f"{value!r} is not a number of minor units.", loc) from None
    if not amount.is_finite():
        raise invalid("invalid_amount", f"{value!r} is not a number of minor units.", loc)
    _in_range(amount, loc)  # first: bounded, the quantize below cannot overflow
    if amount != amount.quantize(_SMALLEST, rounding=ROUND_HALF_UP):
        raise invalid(
            "invalid_amount",
            f"{value!r} has more than {MAX_DECIMAL_PLACES} decimal places of a minor unit.",
            loc,
        )
    return amount + 0  # drops a negative zero's sign


def _in_range(amount: Decimal | int, loc: Loc) -> None:
    if not 0 <= amount <= MAX_AMOUNT:
        raise invalid(
            "amount_out_of_range",
            f"Amounts are between 0 and {MAX_AMOUNT} minor units, not {amount}.",
            loc,
        )


def _flat_amount(value: Any, loc: Loc) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid("invalid_amount", "flat_amount is an integer of minor units.", loc)
    _in_range(value, loc)
    return value


def _required(present: bool, name: str, model: str, loc: Loc) -> None:
    if not present:
        raise invalid(f"{name}_required", f"A {model} charge needs {name}.", (*loc, name))


def _forbidden(present: bool, name: str, model: str, loc: Loc) -> None:
    if present:
        raise invalid(
            f"{name}_not_allowed", f"{name} has no meaning for a {model} charge.", (*loc, name)
        )


def tiers(entries: Sequence[Mapping[str, Any]], loc: Loc) -> tuple[Tier, ...]:
    """Bounds that strictly increase from above 0, and exactly one unbounded tier, the last: so
    every quantity from 0 up falls in exactly one tier."""
    if not 1 <= len(entries) <= MAX_TIERS:
        raise invalid(
            "invalid_tiers", f"A tiered charge has 1 to {MAX_TIERS} tiers.", (*loc, "tiers")
        )
    result: list[Tier] = []
    below = 0
    last = len(entries) - 1
    for index, entry in enumerate(entries):
        at: Loc = (*loc, "tiers", index)
        up_to = entry.get("up_to")
        if up_to is None:
            if index != last:
                raise invalid(
                    "tier_unbounded_not_last",
                    "Only the last tier may have up_to null: the tiers after it could never "
                    "be reached.",
                    (*at, "up_to"),
                )
        elif isinstance(up_to, bool) or not isinstance(up_to, int):
            raise invalid(
                "invalid_tiers", "up_to is a whole number of units or null.", (*at, "up_to")
            )
        elif index == last:
            raise invalid(
                "last_tier_bounded",
                f"The last tier needs up_to null, or usage above {up_to} would have no price.",
                (*at, "up_to"),
            )
        elif not below < up_to <= MAX_SAFE_INTEGER:
            raise invalid(
                "tiers_not_increasing",
                f"up_to must be greater than {below} (the previous bound) and at most "
                f"{MAX_SAFE_INTEGER}; it is {up_to}.",
                (*at, "up_to"),
            )
        else:
            below = up_to
        if entry.get("unit_amount") is None:
            raise invalid(
                "unit_amount_required", "Every tier needs a unit_amount.", (*at, "unit_amount")
            )
        result.append(
            Tier(
                up_to=up_to,
                unit_amount=unit_amount(entry["unit_amount"], (*at, "unit_amount")),
                flat_amount=_flat_amount(entry.get("flat_amount"), (*at, "flat_amount")),
            )
        )
    return tuple(result)


def charge(raw: Mapping[str, Any], loc: Loc = ("body",)) -> Charge:
    """A charge as a client wrote it (a JSON object), checked: 422 with a stable code and the
    field at `loc` + field name. A field another model needs is refused rather than ignored, so
    a tenant who means `volume` but types `graduated` is not silently billed the other way."""
    model = raw.get("model")
    if model not in MODELS:
        raise invalid(
            "invalid_model",
            f"model is one of {', '.join(MODELS)}, not {model!r}.",
            (*loc, "model"),
        )
    meter = raw.get("meter")
    if not isinstance(meter, str) or not meter:
        raise invalid("meter_required", "A charge names its meter by code.", (*loc, "meter"))
    currency = currency_code(str(raw.get("currency") or ""), (*loc, "currency"))
    unit = raw.get("unit_amount")
    tier_entries = raw.get("tiers")
    size = raw.get("package_size")
    if model in TIERED:
        _required(bool(tier_entries), "tiers", model, loc)
        _forbidden(unit is not None, "unit_amount", model, loc)
        _forbidden(size is not None, "package_size", model, loc)
        return Charge(
            meter=meter,
            model=cast(Model, model),
            currency=currency,
            tiers=tiers(cast(Sequence[Mapping[str, Any]], tier_entries), loc),
        )
    _required(unit is not None, "unit_amount", model, loc)
    _forbidden(tier_entries is not None, "tiers", model, loc)
    if model == "package":
        _required(size is not None, "package_size", model, loc)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SAFE_INTEGER:
            raise invalid(
                "invalid_package_size",
                f"package_size is a whole number of units from 1 to {MAX_SAFE_INTEGER}.",
                (*loc, "package_size"),
            )
    else:
        _forbidden(size is not None, "package_size", model, loc)
    return Charge(
        meter=meter,
        model=cast(Model, model),
        currency=currency,
        unit_amount=unit_amount(unit, (*loc, "unit_amount")),
        package_size=size,
    )
